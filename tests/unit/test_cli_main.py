"""What every `powertune` subcommand shares: help with defaults and examples, --version, --quiet,
Ctrl-C, and a missing optional dependency naming its extra."""

from __future__ import annotations

import argparse
import importlib
import sys

import pytest

import powertuning.cli
from powertuning.cli import SUBCOMMANDS, build_parser, main


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands' parsers by name."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"powertune {powertuning.__version__}"


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_shows_every_flags_default_and_examples(name):
    # GIVEN the help of a subcommand
    sub = subparsers(build_parser())[name]
    formatter = sub.formatter_class(prog=sub.prog)

    # THEN every optional flag says its default, and the epilog has examples of the command
    for action in sub._actions:
        if (
            not action.option_strings
            or action.required
            or isinstance(action, argparse._HelpAction)
            or action.help == argparse.SUPPRESS  # hidden: refused with a reason (AWS-only flags)
        ):
            continue
        shown = formatter._expand_help(action) if action.help else ""
        assert "default" in shown, f"{name} {action.option_strings[0]}: {shown!r}"
    help_text = sub.format_help()
    assert "examples:" in help_text
    assert f"  powertune {name} " in help_text
    assert "(default: None)" not in help_text


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_quiet(name):
    sub = subparsers(build_parser())[name]
    assert {"-q", "--quiet"} <= set(sub._option_string_actions)


def test_interrupt_ends_with_one_line_and_exit_code_130(monkeypatch, capsys):
    # GIVEN a subcommand interrupted by Ctrl-C
    def interrupted(_args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("powertuning.cli.report.report", interrupted)

    # WHEN it runs THEN it exits 130 with one line and no traceback
    assert main(["report", "result.json"]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["powertune: interrupted"]


def _without(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make `import module` fail as if it was not installed."""
    for name in list(sys.modules):
        if name == module or name.startswith(f"{module}."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)


def test_missing_dependency_at_run_time_names_the_extra(monkeypatch, tmp_path, capsys):
    # GIVEN moto is not installed (the local engine is imported only once the arguments are checked)
    _without(monkeypatch, "moto")
    monkeypatch.delitem(sys.modules, "powertuning.local.engine", raising=False)
    handler = tmp_path / "app.py"
    handler.write_text("def handler(event, context):\n    return 1\n")

    # WHEN powertune local runs THEN it says what to install and exits 2
    assert main(["local", "--handler", f"{handler}:handler", "--num", "5"]) == 2
    err = capsys.readouterr().err
    assert "powertune local needs moto, which is not installed: pip install -e '.[local]'" in err
    assert "Traceback" not in err


def _failing_import(monkeypatch: pytest.MonkeyPatch, module: str, missing: str) -> None:
    """Make `import module` (a subcommand's) fail as if `missing` was not installed."""
    real = importlib.import_module

    def import_module(name: str, package: str | None = None):
        if name == module:
            raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)
        return real(name, package)

    monkeypatch.setattr(powertuning.cli.importlib, "import_module", import_module)


def test_subcommand_that_cannot_be_imported_is_listed_with_the_extra(monkeypatch, capsys):
    # GIVEN the local subcommand's module needs moto at import, and moto is missing
    _failing_import(monkeypatch, "powertuning.cli.local", "moto")

    # THEN the top-level help still lists it, saying what to install
    assert "local     (unavailable: powertune local needs moto" in build_parser().format_help()
    # AND running it exits 2 with the same words
    assert main(["local"]) == 2
    assert "pip install -e '.[local]'" in capsys.readouterr().err


def test_subcommand_whose_own_module_is_missing_is_listed_not_dropped(monkeypatch, capsys):
    # GIVEN an installation without powertuning/cli/compare.py (a broken or trimmed package)
    _failing_import(monkeypatch, "powertuning.cli.compare", "powertuning.cli.compare")

    # THEN the help still lists every subcommand, that one saying why it cannot run
    help_text = build_parser().format_help()
    assert all(f"    {name} " in help_text for name in SUBCOMMANDS)
    assert "compare   (unavailable: this installation of powertuning has no" in help_text
    # AND running it exits 2 with the same words
    assert main(["compare"]) == 2
    assert "has no powertuning.cli.compare" in capsys.readouterr().err


def test_a_missing_module_that_is_no_optional_dependency_is_not_hidden(monkeypatch):
    # GIVEN a subcommand whose import fails on a module that no extra installs (a bug)
    _failing_import(monkeypatch, "powertuning.cli.report", "powertuning.typo")

    # THEN building the parser raises it
    with pytest.raises(ModuleNotFoundError, match=r"powertuning\.typo"):
        build_parser()


def test_cleanup_failing_after_an_interrupt_still_ends_with_one_line(monkeypatch, capsys):
    # GIVEN a subcommand whose cleanup fails while Ctrl-C unwinds it
    def interrupted(_args: argparse.Namespace) -> int:
        try:
            raise KeyboardInterrupt
        finally:
            raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr("powertuning.cli.report.report", interrupted)

    # THEN the interrupt is what is told
    assert main(["report", "result.json"]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["powertune: interrupted"]


def test_other_errors_are_not_hidden(monkeypatch):
    def broken(_args: argparse.Namespace) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr("powertuning.cli.report.report", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["report", "result.json"])
