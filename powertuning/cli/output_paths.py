"""Files a run will write (`--report`, `--png`, `--output-file`), checked before anything starts.

A tuning takes minutes: a report that cannot be written at the end, or a chart whose library is not
installed, must be refused first, naming the flag, rather than after the work is done.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from powertuning import layout
from powertuning.errors import InvalidInputError


def _has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def check_writable(flag: str, path: Path) -> None:
    """Refuse a path that cannot be written as a file: a folder, a missing folder, no permission.

    Probed by opening the file for appending when it exists (its content is untouched) and by
    creating and removing a temporary file beside it when it does not, which also holds for root
    on a read-only file system, where permission bits say nothing.
    """
    if path.is_dir():
        raise InvalidInputError(f"{flag} {path} is a folder: give a file name in it")
    parent = path.parent
    if not parent.is_dir():
        raise InvalidInputError(f"{flag} {path}: there is no folder {parent} (create it first)")
    try:
        if path.exists():
            with path.open("ab"):
                pass
        else:
            handle, probe = tempfile.mkstemp(prefix=".powertune-", dir=parent)
            os.close(handle)
            with contextlib.suppress(OSError):
                os.unlink(probe)
    except OSError as exc:
        raise InvalidInputError(f"{flag} {path} cannot be written: {exc.strerror or exc}") from None


def check_outputs(paths: Iterable[tuple[str, Path | None]], *, png: Path | None = None) -> None:
    """Check each given (flag, path), and that the chart library is installed when --png is given."""
    for flag, path in paths:
        if path is not None:
            check_writable(flag, path)
    if png is not None and not _has_module("matplotlib"):
        raise InvalidInputError(
            f"--png {png} needs matplotlib, which is not installed: {layout.install_command('report')}"
        )
