"""powertuning.layout from a checkout (tests/packaging checks the installed layout)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from powertuning import asl, layout

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_has_the_handlers_and_the_asl_beside_the_package() -> None:
    assert not layout.INSTALLED
    assert layout.SOURCE_ROOT == REPO_ROOT
    assert layout.HANDLERS_DIR == REPO_ROOT / "lambdas"
    assert (layout.ASL_DIR / asl.ASL_FILE).read_text(encoding="utf-8") == asl.definition_text()


def test_the_handlers_are_imported_as_lambdas_when_the_repository_is_on_the_path() -> None:
    # pytest puts the repository's root on sys.path (pyproject's pythonpath), as `python app.py` does
    assert layout.handlers_package() == "lambdas"


def test_the_handlers_fall_back_to_the_packaged_name_when_lambdas_is_someone_elses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a user's own `lambdas` package first on sys.path (the name most CDK projects use)
    (tmp_path / "lambdas").mkdir()
    (tmp_path / "lambdas" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lambdas", raising=False)
    # THEN the tuner's handlers are not taken from it
    assert layout.handlers_package() == "powertuning.lambdas"


@pytest.mark.parametrize(
    ("installed", "command"),
    [
        (True, "pip install 'powertuning[report]'"),
        (False, "pip install -e '.[report]' (in the repository's folder)"),
    ],
)
def test_install_command_fits_the_layout(
    monkeypatch: pytest.MonkeyPatch, installed: bool, command: str
) -> None:
    monkeypatch.setattr(layout, "INSTALLED", installed)
    assert layout.install_command("report") == command
