"""A function's requirements.txt: installed once into a cache folder, put on the function's sys.path."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from powertuning.local import deps
from powertuning.local.runtime import WorkerRuntime
from powertuning.local.target import FunctionSpec


def _wheel(folder: Path) -> Path:
    """A tiny pure-Python wheel, so that pip installs it without any package index."""
    files = {
        "tinydep/__init__.py": "VALUE = 42\n",
        "tinydep-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinydep\nVersion: 0.1\n",
        "tinydep-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("tinydep-0.1.dist-info/RECORD,,")
    path = folder / "tinydep-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr("tinydep-0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def test_no_requirements_file_or_only_comments_means_nothing_to_install(tmp_path):
    assert deps.requirements_of(tmp_path) is None
    (tmp_path / "requirements.txt").write_text("# nothing yet\n\n")
    assert deps.requirements_of(tmp_path) is None
    (tmp_path / "requirements.txt").write_text("requests==2.32.3  # the client\n")
    assert deps.requirements_of(tmp_path) == tmp_path / "requirements.txt"


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POWERTUNE_CACHE_DIR", str(tmp_path))
    assert deps.cache_root() == tmp_path / "deps"
    monkeypatch.delenv("POWERTUNE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert deps.cache_root() == tmp_path / "xdg" / "powertuning" / "deps"


@pytest.mark.slow
def test_requirements_are_installed_once_and_importable_by_the_function(tmp_path, monkeypatch):
    # GIVEN a handler whose requirements.txt names a package
    code = tmp_path / "fn"
    code.mkdir()
    _wheel(code)
    (code / "requirements.txt").write_text("./tinydep-0.1-py3-none-any.whl\n")
    (code / "app.py").write_text("import tinydep\n\ndef handler(event, context):\n    return tinydep.VALUE\n")
    requirements = deps.requirements_of(code)
    assert requirements is not None
    # WHEN it is installed twice
    first = deps.install(requirements, tmp_path / "cache")
    monkeypatch.setattr(deps.subprocess, "run", lambda *a, **k: pytest.fail("pip ran again"))
    second = deps.install(requirements, tmp_path / "cache")
    # THEN pip ran once, and a worker with the folder on the function's path imports the package
    assert first == second
    assert (first / "tinydep" / "__init__.py").is_file()
    spec = FunctionSpec("fn", "$LATEST", 512, 10, "app.handler", code, python_path=(str(first),))
    with WorkerRuntime() as runtime:
        result = runtime.invoke(spec, "{}")
    assert (result.errored, json.loads(result.payload)) == (False, 42)


@pytest.mark.slow
def test_a_failed_install_says_what_failed_and_leaves_no_cache(tmp_path):
    (tmp_path / "requirements.txt").write_text("./no-such-file-0.1-py3-none-any.whl\n")
    with pytest.raises(deps.DependencyInstallError, match=r"pip could not install .*requirements\.txt"):
        deps.install(tmp_path / "requirements.txt", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []
