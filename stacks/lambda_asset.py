"""The one code asset of the six tuner functions: lambdas/ plus the core modules they import.

Staged at synth time by copying files (no Docker, no pip): the handlers need only the standard
library, boto3 (shipped by the Lambda runtime) and `powertuning` modules. The module list is the
import closure of lambdas/*.py, so a new core module is picked up and the CLI or the local engine
can never slip in. From a checkout or from the installed package (powertuning.layout), the asset
holds the same files at the same paths: lambdas/ and powertuning/ at its root, as /var/task. Python
files ship without comments and docstrings, every statement on its line (source_stripping), so a
deployed function's traceback names the repository's lines.
"""

from __future__ import annotations

import ast
import atexit
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from powertuning import layout

from .source_stripping import strip_source

# The asset's folder of handlers: the functions' handler strings are `lambdas.<name>.handler`.
HANDLERS_DIR: Final = "lambdas"
CORE_PACKAGE: Final = "powertuning"
# Parts of the core package that need dev dependencies or processes; never shipped to Lambda. Installed,
# the constructs, the handlers and the ASL are subpackages of powertuning too: the handlers ship as
# lambdas/, the other two never.
EXCLUDED_MODULES: Final = (
    "powertuning.cli",
    "powertuning.local",
    "powertuning.cdk",
    "powertuning.lambdas",
    "powertuning.statemachine",
)


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(source: Path, module: str) -> set[str]:
    """Names of `powertuning` modules that a file imports, including relative imports."""
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), filename=str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            # `from powertuning import lambda_api` imports a submodule, not a name.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == CORE_PACKAGE or name.startswith(f"{CORE_PACKAGE}.")}


def _with_parents(module: str) -> Iterable[str]:
    parts = module.split(".")
    return (".".join(parts[:end]) for end in range(1, len(parts) + 1))


def asset_sources(handlers: Path = layout.HANDLERS_DIR, core: Path = layout.PACKAGE_DIR) -> dict[Path, Path]:
    """Every file the tuner functions need: its path in the asset -> the file it is copied from."""
    handler_files = sorted(handlers.glob("*.py"))
    if not handler_files:
        raise FileNotFoundError(f"no handlers in {handlers}")
    # Core modules are found under the folder that holds the core package (a checkout's root, or
    # site-packages) and keep their paths from there: powertuning/<module>.py.
    root = core.parent
    sources = {Path(HANDLERS_DIR, path.name): path for path in handler_files}
    pending = [(Path(HANDLERS_DIR, path.name), f"{HANDLERS_DIR}.{path.stem}") for path in handler_files]
    seen: set[str] = set()
    while pending:
        relative, module = pending.pop()
        for name in _imported_modules(sources[relative], module):
            for candidate in _with_parents(name):
                if candidate in seen:
                    continue
                if any(candidate == bad or candidate.startswith(f"{bad}.") for bad in EXCLUDED_MODULES):
                    raise ValueError(f"{relative} imports {candidate}, which must not ship to Lambda")
                found = _module_file(root, candidate)
                if found is not None:  # `from powertuning.x import name`: name is not a module
                    seen.add(candidate)
                    sources[found.relative_to(root)] = found
                    pending.append((found.relative_to(root), candidate))
    # Data files that sit beside the core modules (e.g. price tables) ship with them.
    sources.update({path.relative_to(root): path for path in core.glob("*.json")})
    return dict(sorted(sources.items()))


def asset_files(root: Path | None = None) -> list[Path]:
    """The asset's paths, sorted; from a checkout they are also the files' paths in the repository.

    `root`: a folder with lambdas/ and powertuning/ side by side (default: where this code runs).
    """
    if root is None:
        return list(asset_sources())
    return list(asset_sources(root / HANDLERS_DIR, root / CORE_PACKAGE))


def staged_content(source: Path) -> bytes:
    """What the asset holds for `source`: Python stripped of comments and docstrings, the rest as is."""
    if source.suffix == ".py":
        return strip_source(source.read_text(encoding="utf-8")).encode("utf-8")
    return source.read_bytes()


def stage_asset() -> Path:
    """Copy the asset's files into a fresh directory (removed at exit) and return it."""
    staging = Path(tempfile.mkdtemp(prefix="powertuning-asset-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    for relative, source in asset_sources().items():
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        # Content only: the asset hash, and so the template, must not depend on file modes or times.
        target.write_bytes(staged_content(source))
    return staging
