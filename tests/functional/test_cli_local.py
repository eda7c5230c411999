"""`powertune local` argument handling: every bad input exits 2 with a message, before anything runs."""

from __future__ import annotations

import pytest

from powertuning.cli import main


@pytest.fixture
def handler_file(tmp_path):
    path = tmp_path / "app.py"
    path.write_text("def handler(event, context):\n    return event\n")
    return path


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("app.py", "must look like path/to/file.py:function"),
        ("app.txt:handler", "must look like path/to/file.py:function"),
        ("missing.py:handler", "no such file"),
        ("app.py:not-a-name", "must look like path/to/file.py:function"),
    ],
)
@pytest.mark.usefixtures("handler_file")
def test_bad_handler_is_a_usage_error(handler, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["local", "--handler", handler]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--num", "2"], "num must be an integer from 5"),
        (["--power-values", "64,128"], "powerValues must be"),
        (["--timeout", "0"], "--timeout must be from 1 to 900"),
        (["--memory", "100"], "--memory must be from 128 to 10240"),
        (["--env", "NOVALUE"], "--env takes KEY=VALUE"),
        (["--name", "bad name"], "--name must be"),
        (["--payload", '{"a": 1}', "--payload-file", "/no/such/file.json"], "--payload-file"),
    ],
)
def test_invalid_input_is_a_usage_error(flags, message, handler_file, capsys):
    assert main(["local", "--handler", f"{handler_file}:handler", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err


def test_unknown_choice_is_rejected_by_the_parser(handler_file, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["local", "--handler", f"{handler_file}:handler", "--strategy", "cheapest"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_requirements_that_cannot_be_installed_are_refused_clearly(
    handler_file, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("POWERTUNE_CACHE_DIR", str(tmp_path / "cache"))
    (handler_file.parent / "requirements.txt").write_text("./missing-0.1-py3-none-any.whl\n")
    assert main(["local", "--handler", f"{handler_file}:handler"]) == 2
    assert "pip could not install" in capsys.readouterr().err
