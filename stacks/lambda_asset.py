"""The functions' code assets: each the import closure of the handlers it serves, nothing else.

One rule builds every asset: a handler module's file, and every `lambdas` and `powertuning` module it
imports, transitively (relative imports included); which handlers an asset serves is declared beside
the construct that builds it (TunerFunctions: the tuner's and the fleet's; WorkflowTuner: its two).
So a new core module is picked up where it is imported, a workflow module never ships in the tuner's
asset, and the CLI or the local engine can never slip in. Staged at synth time by copying files (no
Docker, no pip): the handlers need only the standard library, boto3 (shipped by the Lambda runtime)
and their own modules. From a checkout or from the installed package (powertuning.layout), an asset
holds the same files at the same paths: lambdas/ and powertuning/ at its root, as /var/task. Python
files ship without comments and docstrings, every statement on its line (source_stripping), so a
deployed function's traceback names the repository's lines.
"""

from __future__ import annotations

import ast
import atexit
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from aws_cdk import aws_lambda as lambda_

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


def _module_file(handlers: Path, root: Path, module: str) -> tuple[Path, Path] | None:
    """(its path in the asset, its file) for a `lambdas` module (under `handlers`) or a
    `powertuning` one (under `root`); None for a name that is not a module."""
    top, _, rest = module.partition(".")
    if top == HANDLERS_DIR:
        # lambdas/<name>.py in the asset in both layouts (installed, the folder is powertuning/lambdas).
        base, parts, asset_base = handlers, rest.split(".") if rest else [], Path(HANDLERS_DIR)
    else:
        base, parts, asset_base = root, module.split("."), Path()
    path = base.joinpath(*parts)
    for candidate in ((path.with_suffix(".py"),) if parts else ()) + (path / "__init__.py",):
        if candidate.is_file():
            return asset_base / candidate.relative_to(base), candidate
    return None


def _imported_modules(source: Path, module: str) -> set[str]:
    """Names of `lambdas` and `powertuning` modules that a file imports, including relative imports."""
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
    return {name for name in found if name.split(".")[0] in (HANDLERS_DIR, CORE_PACKAGE)}


def _with_parents(module: str) -> Iterable[str]:
    parts = module.split(".")
    return (".".join(parts[:end]) for end in range(1, len(parts) + 1))


def asset_sources(
    handler_names: Sequence[str], handlers: Path = layout.HANDLERS_DIR, core: Path = layout.PACKAGE_DIR
) -> dict[Path, Path]:
    """Every file the handlers `lambdas/<name>.py` need: its path in the asset -> the file copied there."""
    if not handler_names:
        raise ValueError("an asset needs at least one handler")
    missing = [
        name for name in handler_names if not (name.isidentifier() and (handlers / f"{name}.py").is_file())
    ]
    if missing:
        raise FileNotFoundError(f"no handler {', '.join(f'{name}.py' for name in missing)} in {handlers}")
    # Core modules are found under the folder that holds the core package (a checkout's root, or
    # site-packages) and keep their paths from there: powertuning/<module>.py.
    root = core.parent
    sources: dict[Path, Path] = {}
    pending = sorted({parent for name in handler_names for parent in _with_parents(f"{HANDLERS_DIR}.{name}")})
    seen = set(pending)
    while pending:
        module = pending.pop()
        located = _module_file(handlers, root, module)
        if located is None:  # `from powertuning.x import name`: name is not a module
            continue
        relative, found = located
        sources[relative] = found
        for name in _imported_modules(found, module):
            for candidate in _with_parents(name):
                if candidate in seen:
                    continue
                if any(candidate == bad or candidate.startswith(f"{bad}.") for bad in EXCLUDED_MODULES):
                    raise ValueError(f"{relative} imports {candidate}, which must not ship to Lambda")
                seen.add(candidate)
                pending.append(candidate)
    # Data files that sit beside the core modules (e.g. price tables) ship with them.
    sources.update({path.relative_to(root): path for path in core.glob("*.json")})
    return dict(sorted(sources.items()))


def asset_files(handler_names: Sequence[str], root: Path | None = None) -> list[Path]:
    """The asset's paths, sorted; from a checkout they are also the files' paths in the repository.

    `root`: a folder with lambdas/ and powertuning/ side by side (default: where this code runs).
    """
    if root is None:
        return list(asset_sources(handler_names))
    return list(asset_sources(handler_names, root / HANDLERS_DIR, root / CORE_PACKAGE))


def staged_content(source: Path) -> bytes:
    """What the asset holds for `source`: Python stripped of comments and docstrings, the rest as is."""
    if source.suffix == ".py":
        return strip_source(source.read_text(encoding="utf-8")).encode("utf-8")
    return source.read_bytes()


def stage_asset(handler_names: Sequence[str]) -> Path:
    """Copy the asset's files into a fresh directory (removed at exit) and return it."""
    sources = asset_sources(handler_names)
    staging = Path(tempfile.mkdtemp(prefix="powertuning-asset-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    for relative, source in sources.items():
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        # Content only: the asset hash, and so the template, must not depend on file modes or times.
        target.write_bytes(staged_content(source))
    return staging


def lambda_code(handler_names: Sequence[str]) -> lambda_.Code:
    """The code asset of the functions whose handlers are `lambdas/<name>.py`, staged now."""
    return lambda_.Code.from_asset(str(stage_asset(handler_names)))
