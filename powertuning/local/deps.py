"""A function's requirements.txt, installed once into a cache folder that goes on its sys.path.

Lambda runs a function with the packages its deployment package (or a layer) brings. Locally the
`requirements.txt` in the code folder is installed with pip into a folder keyed by the file's
content and the Python version, reused by later runs, and the workers put it on the function's
`sys.path` after the code, like a layer (`FunctionSpec.python_path`). pip needs the package index,
or local wheel files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from powertuning.errors import PowerTuningError

REQUIREMENTS: Final = "requirements.txt"
_DONE: Final = ".installed"


class DependencyInstallError(PowerTuningError):
    """pip could not install the function's requirements.txt."""


def cache_root() -> Path:
    """Where installed requirements are kept: $POWERTUNE_CACHE_DIR, else the user's cache folder."""
    explicit = os.environ.get("POWERTUNE_CACHE_DIR")
    if explicit:
        return Path(explicit) / "deps"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "powertuning" / "deps"


def requirements_of(code_dir: Path) -> Path | None:
    """The requirements.txt beside the handler, when it lists anything."""
    path = code_dir / REQUIREMENTS
    if not path.is_file():
        return None
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return path if any(lines) else None


def install(requirements: Path, root: Path | None = None) -> Path:
    """Install `requirements` (once per content and Python version) and return the folder."""
    root = root or cache_root()
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"{sys.version_info.major}.{sys.version_info.minor}-{sys.platform}".encode())
    target = root / digest.hexdigest()[:20]
    if (target / _DONE).exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    # Install beside the final folder and rename, so an interrupted install is never reused.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
        "--target", str(staging), "-r", str(requirements.resolve()),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=requirements.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        detail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise DependencyInstallError(f"pip could not install {requirements}:\n{detail}")
    (staging / _DONE).touch()
    try:
        staging.rename(target)
    except OSError:  # another run installed the same requirements meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return target
