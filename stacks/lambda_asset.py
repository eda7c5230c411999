"""The one code asset of the six tuner functions: lambdas/ plus the core modules they import.

Staged at synth time by copying files (no Docker, no pip): the handlers need only the standard
library, boto3 (shipped by the Lambda runtime) and `powertuning` modules. The module list is the
import closure of lambdas/*.py, so a new core module is picked up and the CLI or the local engine
can never slip in.
"""

from __future__ import annotations

import ast
import atexit
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
HANDLERS_DIR: Final = "lambdas"
CORE_PACKAGE: Final = "powertuning"
# Parts of the core package that need dev dependencies or processes; never shipped to Lambda.
EXCLUDED_MODULES: Final = ("powertuning.cli", "powertuning.local")


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


def asset_files(root: Path = REPO_ROOT) -> list[Path]:
    """Repo-relative paths of every file the tuner functions need, sorted."""
    handlers = sorted((root / HANDLERS_DIR).glob("*.py"))
    if not handlers:
        raise FileNotFoundError(f"no handlers in {root / HANDLERS_DIR}")
    files = set(handlers)
    pending = [(path, f"{HANDLERS_DIR}.{path.stem}") for path in handlers]
    seen: set[str] = set()
    while pending:
        path, module = pending.pop()
        for name in _imported_modules(path, module):
            for candidate in _with_parents(name):
                if candidate in seen:
                    continue
                if any(candidate == bad or candidate.startswith(f"{bad}.") for bad in EXCLUDED_MODULES):
                    raise ValueError(
                        f"{path.relative_to(root)} imports {candidate}, which must not ship to Lambda"
                    )
                found = _module_file(root, candidate)
                if found is not None:  # `from powertuning.x import name`: name is not a module
                    seen.add(candidate)
                    files.add(found)
                    pending.append((found, candidate))
    # Data files that sit beside the core modules (e.g. price tables) ship with them.
    files.update((root / CORE_PACKAGE).glob("*.json"))
    return sorted(path.relative_to(root) for path in files)


def stage_asset(root: Path = REPO_ROOT) -> Path:
    """Copy the asset's files into a fresh directory (removed at exit) and return it."""
    staging = Path(tempfile.mkdtemp(prefix="powertuning-asset-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    for relative in asset_files(root):
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        # Content only: the asset hash, and so the template, must not depend on file modes or times.
        shutil.copyfile(root / relative, target)
    return staging
