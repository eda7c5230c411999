"""`powertune local` argument handling: every bad input exits 2 with a message, before anything runs.

The checks that spawn a worker (the handler's import) run in an isolated process like the tuning's;
each must answer in about a second. Times are asserted loosely (a shared machine), the behaviour
and the message exactly.
"""

from __future__ import annotations

import time

import pytest

from powertuning.cli import main

# Far above the ~1 s a check takes, so that a busy machine cannot fail the test; an engine start
# (moto, the state machine) would not fit either way.
LOOSE_LIMIT_S = 10.0


@pytest.fixture
def handler_file(tmp_path):
    path = tmp_path / "app.py"
    path.write_text("def handler(event, context):\n    return event\n")
    return path


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("app.py", "must look like path/to/file.py:function"),
        ("app.handler", "give the code folder too, e.g. --code-dir"),
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
        # Local mode runs the code on this machine's processor: another architecture would be this one.
        (
            ["--architectures", "x86_64,arm64"],
            "architectures (--architectures) is not available in local mode",
        ),
        # The production rate is a Logs Insights query on AWS: refused before anything starts.
        (
            ["--cold-start-rate", "production"],
            'coldStartRate "production" (--cold-start-rate production) reads the function\'s own rate',
        ),
        (
            ["--cold-start-rate", "production-if-available"],
            'coldStartRate "production-if-available" (--cold-start-rate production-if-available) reads',
        ),
        (["--cold-start-rate", "sometimes"], "coldStartRate must be a number from 0 to 1"),
        (["--cold-start-rate", "1.5"], "coldStartRate must be a number from 0 to 1"),
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


@pytest.fixture
def project(tmp_path):
    """Lambda's own layout: app/handlers/main.py with a relative import, and a module importing yaml."""
    package = tmp_path / "app" / "handlers"
    package.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "util.py").write_text("GREETING = 'hello'\n")
    (package / "main.py").write_text(
        "from .util import GREETING\n\n\ndef handler(event, context):\n    return {'greeting': GREETING}\n"
    )
    (tmp_path / "app" / "uses_yaml.py").write_text(
        "import yaml\n\n\ndef handler(event, context):\n    return 1\n"
    )
    return tmp_path


def fails_fast(argv, capsys):
    """Run the CLI; it must exit 2 quickly. Returns stderr."""
    started = time.monotonic()
    code = main(argv)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2, err
    assert elapsed < LOOSE_LIMIT_S
    return err


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("app.handlers.missing.handler", "no module app.handlers.missing in"),
        ("app/handlers/main.py:handler", "with --code-dir, --handler is Lambda's handler string"),
        # the package exists: the import check reports what Lambda would
        ("app.handlers.main", "Runtime.HandlerNotFound: Handler 'main' missing on module 'app.handlers'"),
    ],
)
def test_a_lambda_handler_string_that_names_no_handler_is_refused(project, handler, message, capsys):
    err = fails_fast(["local", "--code-dir", str(project), "--handler", handler], capsys)
    assert message in err


def test_a_missing_code_dir_is_refused(tmp_path, capsys):
    err = fails_fast(["local", "--code-dir", str(tmp_path / "nope"), "--handler", "app.handler"], capsys)
    assert "--code-dir: no such folder" in err


def test_a_missing_function_is_reported_before_anything_starts(project, capsys):
    # GIVEN a module that exists but has no such function
    err = fails_fast(["local", "--code-dir", str(project), "--handler", "app.handlers.main.nothing"], capsys)
    # THEN Lambda's error type and message say so
    assert "does not load (nothing was started)" in err
    assert "Runtime.HandlerNotFound: Handler 'nothing' missing on module 'app.handlers.main'" in err


def test_an_undeclared_dependency_fails_as_on_lambda_with_its_traceback(project, capsys):
    # GIVEN a handler importing yaml, which the tuner's own virtualenv has, and no requirements.txt
    err = fails_fast(["local", "--code-dir", str(project), "--handler", "app.uses_yaml.handler"], capsys)
    # THEN it does not load, as it would not on Lambda, and the traceback names the file and line
    assert "Runtime.ImportModuleError: Unable to import module 'app.uses_yaml': No module named 'yaml'" in err
    assert f'File "{project / "app" / "uses_yaml.py"}", line 1, in <module>' in err
    assert "importlib" not in err


def test_a_syntax_error_in_the_handler_file_is_reported(handler_file, capsys):
    handler_file.write_text("def handler(event, context)\n    return 1\n")
    err = fails_fast(["local", "--handler", f"{handler_file}:handler"], capsys)
    assert "Runtime.UserCodeSyntaxError: Syntax error in module 'app'" in err


@pytest.mark.parametrize("payload", ['{"orderId": 42', "[1, 2", '{"a": }'])
def test_a_payload_that_is_not_valid_json_is_refused(payload, handler_file, capsys):
    err = fails_fast(["local", "--handler", f"{handler_file}:handler", "--payload", payload], capsys)
    assert "--payload is not valid JSON" in err
    assert "a plain word is sent as a JSON string" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--region", "eu-west-1"], "--region: only for `powertune run` (AWS)"),
        (["--profile", "prod"], "--profile: only for `powertune run` (AWS)"),
        (["--stack-name", "PowerTuning"], "--stack-name: only for `powertune run`"),
        (
            ["--payload-s3", "s3://my-bucket/event.json", "--aws", "real"],
            "payloadS3 is read from the local AWS services",
        ),
        (
            ["--pre-processor-arn", "arn:aws:lambda:us-east-1:123456789012:function:pre"],
            "preProcessorARN (--pre-processor-arn) invokes another Lambda function",
        ),
    ],
)
def test_flags_that_need_aws_are_refused_with_a_reason(flags, message, handler_file, capsys):
    err = fails_fast(["local", "--handler", f"{handler_file}:handler", *flags], capsys)
    assert message in err


def test_aws_only_keys_in_an_input_file_are_refused_too(handler_file, tmp_path, capsys):
    input_file = tmp_path / "input.json"
    input_file.write_text('{"postProcessorARN": "arn:aws:lambda:us-east-1:123456789012:function:post"}')
    err = fails_fast(
        ["local", "--handler", f"{handler_file}:handler", "--input-file", str(input_file)], capsys
    )
    assert "postProcessorARN (--post-processor-arn)" in err


@pytest.mark.parametrize(
    "case",
    [
        (flag, where, message)
        for flag in ("--report", "--png", "--output-file")
        for where, message in (("missing/out", "there is no folder"), ("", "is a folder"))
    ],
)
def test_a_bad_output_path_is_refused_before_anything_starts(
    case, handler_file, tmp_path, capsys, monkeypatch
):
    flag, where, message = case
    # GIVEN a handler whose import check would fail (so a check that came first would say so)
    handler_file.write_text("def handler(event, context)\n")
    started = []
    monkeypatch.setattr("powertuning.cli.local.check_init", lambda *a: started.append(a))
    path = tmp_path / where if where else tmp_path
    # WHEN an output path cannot be written
    err = fails_fast(["local", "--handler", f"{handler_file}:handler", flag, str(path)], capsys)
    # THEN exit 2 naming the flag, the handler not even imported, nothing written
    assert f"powertune: error: {flag} {path}" in err
    assert message in err
    assert started == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]


def test_png_without_matplotlib_is_refused_before_anything_starts(
    handler_file, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("powertuning.cli.output_paths._has_module", lambda name: name != "matplotlib")
    started = []
    monkeypatch.setattr("powertuning.cli.local.check_init", lambda *a: started.append(a))
    err = fails_fast(
        ["local", "--handler", f"{handler_file}:handler", "--png", str(tmp_path / "c.png")], capsys
    )
    assert "--png" in err
    assert "needs matplotlib" in err
    assert started == []
