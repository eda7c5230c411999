"""The worker's in-process pieces: handler loading with Lambda's error types, the context object."""

from __future__ import annotations

import pytest

from powertuning.local import worker, worker_process


@pytest.fixture
def code(tmp_path, monkeypatch):
    (tmp_path / "good.py").write_text("def handler(event, context):\n    return 1\n")
    (tmp_path / "syntax.py").write_text("def handler(:\n")
    (tmp_path / "imports.py").write_text("import no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("good", "Runtime.MalformedHandlerName", "Bad handler 'good'"),
        ("imports.handler", "Runtime.ImportModuleError", "Unable to import module 'imports'"),
        ("syntax.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'syntax'"),
        ("good.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'good'"),
    ],
)
def test_load_errors_have_lambdas_types(code, handler, error_type, message):
    with pytest.raises(worker._InitError) as raised:
        worker._load_handler(handler)
    assert raised.value.error_type == error_type
    assert message in str(raised.value)


def test_loads_a_handler(code):
    assert worker._load_handler("good.handler")(None, None) == 1


def test_context_has_lambdas_fields():
    config = {
        "function_name": "fn",
        "version": "$LATEST",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
        "memory_mb": 512,
        "log_group_name": "/aws/lambda/fn",
        "log_stream_name": "2026/11/23/[$LATEST]abc",
    }
    context = worker.LambdaContext("req-1", config, lambda: 1234)
    assert context.aws_request_id == "req-1"
    assert context.memory_limit_in_mb == "512"
    assert context.invoked_function_arn.endswith(":function:fn")
    assert context.get_remaining_time_in_millis() == 1234
    assert context.identity is None
    assert context.client_context is None


def test_clock_reports_the_models_duration_not_wall_time():
    # GIVEN a clock in the model at 128 MB (1.45 ms of CPU per 20 ms period)
    clock = worker_process.Clock(10_000, model=True, memory_mb=128, period_ms=20.0)
    # WHEN the phase burns 15 ms of CPU at full speed
    while clock.cpu_ms() < 15:
        pass
    usage = clock.usage()
    # THEN its Duration is the model's for that work: about ten periods, far longer than the wall time
    assert usage.cpu_ms >= 15
    assert clock.elapsed_ms() >= 10 * 20
    assert clock.remaining_ms() <= 10_000 - 200
    assert worker_process.Clock(1000).elapsed_ms() < 5  # the cgroup mode: wall time


def test_function_path_has_the_code_first_and_the_sdk_last(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/extra")
    path = worker._function_path("/var/task", ["/deps"], ["/sdk"])
    assert path[:3] == ["/var/task", "/extra", "/deps"]
    assert path[-1] == "/sdk"


def test_error_payload_leaves_out_the_workers_frames(capsys):
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        payload = worker._error(exc)
    assert payload["errorType"] == "RuntimeError"
    assert payload["errorMessage"] == "boom"
    assert len(payload["stackTrace"]) == 1
    assert capsys.readouterr().out.startswith(
        "[ERROR] RuntimeError: boom\nTraceback (most recent call last):"
    )
