"""What the function may import: the SDK Lambda's Python runtime bundles, and nothing else of ours.

Lambda's Python runtime ships boto3 and its dependencies; anything else the function needs comes
in its package (requirements.txt) or a layer. Workers start with `-I -S`, so the tuner's virtualenv
is not on their path; this module builds a folder that holds only the bundled SDK packages (links
to the tuner's installed copies), cached per set of locations, which the worker puts at the end of
`sys.path`, after the standard library, as Lambda's runtime orders it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Final

from powertuning.local import deps

# What Lambda's Python runtime has besides the standard library (import names).
SDK_PACKAGES: Final = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def _location(name: str) -> Path | None:
    """The installed package folder (or single-file module) of an import name, if installed."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    return origin.parent if spec.submodule_search_locations else origin


def sdk_dir(root: Path | None = None) -> Path:
    """A folder holding only the SDK packages (symbolic links), created once and reused."""
    found = {name: path for name in SDK_PACKAGES if (path := _location(name)) is not None}
    key = hashlib.sha256("\n".join(f"{n}={p}" for n, p in sorted(found.items())).encode()).hexdigest()[:16]
    base = root or deps.cache_root().parent / "sdk"
    target = base / key
    if target.is_dir():
        return target
    base.mkdir(parents=True, exist_ok=True)
    # Build beside the final folder and rename, so a half-built folder is never used.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
    for path in found.values():
        os.symlink(path, staging / path.name)
    try:
        staging.rename(target)
    except OSError:  # another run built the same folder meanwhile
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return target
