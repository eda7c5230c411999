"""The local runtime's invocation callback: the bar moves per invocation, lines only with -v."""

from __future__ import annotations

import io
import json

import pytest

from powertuning.cli.local_failures import InvocationLines, explain
from powertuning.cli.progress import Progress
from powertuning.local.runtime import InvocationRecord
from powertuning.local.target import FunctionSpec

SPEC = FunctionSpec(function_name="f", version="1", memory_mb=512, timeout_s=3, handler="app.handler")


def record(status: str = "success", error: str | None = None, init: float | None = None) -> InvocationRecord:
    return InvocationRecord(
        SPEC, "req-1", init is not None, status, 12.5, init, event='{"a": 1}', error=error
    )


@pytest.mark.parametrize(("verbose", "shown"), [(False, 0), (True, 2)])
def test_each_invocation_moves_the_count_and_prints_a_line_only_with_verbose(verbose, shown):
    out = io.StringIO()
    progress = Progress(out, quiet=False, interactive=False)
    lines = InvocationLines(progress, 2, verbose=verbose)
    lines(record(init=40.0))
    lines(record())
    assert progress._live_invocations == 2
    assert out.getvalue().count("512 MB invocation") == shown
    if verbose:
        assert "512 MB invocation 1/2: 12.50 ms, cold start (Init Duration 40.00 ms)" in out.getvalue()
        assert "512 MB invocation 2/2: 12.50 ms\n" in out.getvalue()


def test_the_first_failure_not_allowed_is_kept_and_explained():
    lines = InvocationLines(Progress(io.StringIO(), quiet=True), 5, ("KeyError",))
    allowed = json.dumps({"errorType": "KeyError", "errorMessage": "x"})
    failed = json.dumps({"errorType": "ValueError", "errorMessage": "boom", "stackTrace": ["  line 1\n"]})
    lines(record("error", allowed))
    lines(record("error", failed))
    assert lines.failure is not None
    text = explain(lines.failure, show_payload=True)
    assert "The function failed at 512 MB (request req-1):" in text
    assert "ValueError: boom" in text
    assert 'Payload it received: {"a": 1}' in text
    assert "--allowed-exceptions ValueError" in text


def test_out_of_memory_is_explained_with_the_on_error_skip_hint():
    oom = json.dumps({"errorType": "Runtime.OutOfMemory", "errorMessage": "signal: killed"})
    text = explain(record("error", oom), show_payload=False)
    assert "Runtime.OutOfMemory: signal: killed" in text
    assert "Hint: --on-error skip leaves out sizes that run out of memory" in text
    assert "--allowed-exceptions" not in text
