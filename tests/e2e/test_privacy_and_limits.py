"""disablePayloadLogs keeps payloads out of every log line and cause; the largest accepted input of
each mode runs to the end in moto (which enforces Step Functions' 256 KB per state)."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest

from powertuning import limits
from powertuning.errors import StateLimitError
from powertuning.inputs import TuningRequest
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from powertuning.run_state import RunState

SECRET = "hunter2-do-not-log"
_names = itertools.count()


def _processor(engine: LocalEngine, memory_mb: int) -> str:
    return engine.create_target(
        name=f"processor-{next(_names)}", handler="app.handler", code_dir=None, memory_mb=memory_mb
    )


def _capture(caplog: pytest.LogCaptureFixture) -> None:
    # Every line at INFO (what Lambda's runtime writes by default), the tuner's own at DEBUG too.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="powertuning")
    caplog.set_level(logging.DEBUG, logger="lambdas")


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(record.getMessage() for record in caplog.records)


def test_no_payload_or_processor_response_in_logs_or_output(
    engine: LocalEngine, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a secret payload, a pre-processor and a post-processor that echo what they get
    _capture(caplog)
    pre, post = _processor(engine, 2000), _processor(engine, 2001)
    outcome = engine.run(
        {
            "lambdaARN": target,
            "powerValues": [256, 512],
            "num": 5,
            "payload": {"password": SECRET},
            "preProcessorARN": pre,
            "postProcessorARN": post,
            "disablePayloadLogs": True,
            "includeOutputResults": True,
        }
    )
    assert outcome.status == "SUCCEEDED", outcome.cause
    # THEN the secret is in no log line of the tuner and not in the output
    assert SECRET not in _everything_logged(caplog)
    assert SECRET not in json.dumps(outcome.output)


def test_a_failing_pre_processor_echoing_its_event_stays_out_of_the_cause(
    engine: LocalEngine, target: str, runtime: SimulatedRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    _capture(caplog)
    pre = _processor(engine, 2002)
    runtime.fail_with[2002] = ("ValueError", f"cannot process {json.dumps({'password': SECRET})}")
    try:
        outcome = engine.run(
            {
                "lambdaARN": target,
                "powerValues": [256],
                "num": 5,
                "payload": {"password": SECRET},
                "preProcessorARN": pre,
                "disablePayloadLogs": True,
            }
        )
    finally:
        runtime.fail_with.pop(2002)
    assert outcome.status == "FAILED"
    assert outcome.error == "ProcessorError"
    assert "details hidden: disablePayloadLogs" in (outcome.cause or "")
    assert SECRET not in (outcome.cause or "")
    assert SECRET not in _everything_logged(caplog)


def _largest_inline_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The input with the largest inline payload the Initializer's budget accepts (1 KB steps)."""
    config = RunState(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        power_values=TuningRequest.from_dict(
            {**data, "lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f"}
        ).resolved_power_values(),
        run_id="0123456789ab",
        original_memory=1024,
        original_description="the user's own",
        architecture="x86_64",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:powertuning-local:" + "x" * 80,
    )
    low, high = 0, 256
    while high - low > 1:
        middle = (low + high) // 2
        candidate = {**data, "lambdaARN": config.function_arn, "payload": {"blob": "x" * middle * 1024}}
        try:
            limits.check_state_budget(TuningRequest.from_dict(candidate), config)
        except StateLimitError:
            high = middle
        else:
            low = middle
    return {**data, "payload": {"blob": "x" * low * 1024}}


@pytest.mark.parametrize(
    "mode",
    [
        {"powerValues": "ALL", "num": 5, "onError": "skip"},
        {"powerValues": [256, 512, 1024], "num": 10, "onlyColdStarts": True},
        {"powerValues": "ALL", "num": 10, "sampling": "adaptive", "onError": "skip"},
        {"powerValues": "auto", "num": 20, "sampling": "adaptive"},
    ],
    ids=["fixed-all-sizes", "cold-starts", "adaptive-all-sizes", "adaptive-auto"],
)
def test_the_largest_accepted_input_of_each_mode_runs_to_the_end(
    engine: LocalEngine, target: str, leftovers: Any, mode: dict[str, Any]
) -> None:
    # GIVEN the largest inline payload the budget accepts for this mode (and one 1 KB step more
    # is refused)
    data = _largest_inline_payload(mode)
    size = len(json.dumps(data["payload"]))
    assert size > 50_000
    # WHEN it runs in moto, which fails any state over 256 KB
    outcome = engine.run({**data, "lambdaARN": target, "includeOutputResults": True})
    # THEN it ends well and leaves nothing
    assert outcome.status == "SUCCEEDED", (outcome.error, (outcome.cause or "")[:500])
    state = leftovers(target)
    assert state["aliases"] == []
    assert state["versions"] == ["$LATEST"]
