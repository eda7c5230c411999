"""Output paths are checked before a run starts: each bad one refused naming its flag."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from powertuning.cli import output_paths
from powertuning.errors import InvalidInputError

no_proc = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="a read-only /proc (Linux)")


def test_a_writable_new_file_passes_and_nothing_is_left_beside_it(tmp_path):
    output_paths.check_writable("--report", tmp_path / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_passes_and_keeps_its_content(tmp_path):
    path = tmp_path / "report.html"
    path.write_text("before")
    output_paths.check_writable("--report", path)
    assert path.read_text() == "before"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing" / "r.html", "--png {path}: there is no folder {tmp}/missing"),
        (lambda tmp: tmp, "--png {path} is a folder: give a file name in it"),
        (lambda tmp: Path("/proc/powertune-report.png"), "--png {path} cannot be written"),
    ],
    ids=["missing-folder", "a-folder", "read-only"],
)
@no_proc
def test_a_bad_path_is_refused_naming_the_flag(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InvalidInputError) as raised:
        output_paths.check_writable("--png", path)
    assert message.format(path=path, tmp=tmp_path) in str(raised.value)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_folder_without_write_permission_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(InvalidInputError, match=r"--report .* cannot be written"):
        output_paths.check_writable("--report", locked / "r.html")


def test_png_without_matplotlib_is_refused_with_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(output_paths, "_has_module", lambda name: name != "matplotlib")
    with pytest.raises(InvalidInputError) as raised:
        output_paths.check_outputs([("--png", tmp_path / "c.png")], png=tmp_path / "c.png")
    assert "needs matplotlib, which is not installed: pip install" in str(raised.value)
    assert "[report]" in str(raised.value)


def test_paths_not_given_are_not_checked(monkeypatch):
    monkeypatch.setattr(output_paths, "_has_module", lambda name: False)
    output_paths.check_outputs([("--report", None), ("--png", None)], png=None)
