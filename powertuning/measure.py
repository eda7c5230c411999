"""Invoke one memory size's aliases `num` times and summarise what the REPORT records say."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from powertuning import lambda_api
from powertuning.adaptive import batch_result
from powertuning.analysis import discard_for, summarize
from powertuning.errors import TargetFunctionError
from powertuning.logs import Report, parse_log_result
from powertuning.models import SizeResult, TuningConfig, TuningRequest
from powertuning.payloads import weighted_counts
from powertuning.pricing import lambda_price
from powertuning.versions import alias_names

logger = logging.getLogger(__name__)

# Error types after which a size cannot work at all; onError "skip" leaves such a size out.
RESOURCE_ERRORS = ("Runtime.OutOfMemory", "Sandbox.Timedout", "MemoryError")


@dataclass(frozen=True)
class FunctionFailure:
    """An error the target function returned."""

    error_type: str
    message: str

    @classmethod
    def from_payload(cls, function_error: str, payload: str) -> FunctionFailure:
        """Read errorType/errorMessage from an error payload (Lambda's JSON, or anything else)."""
        try:
            body = json.loads(payload)
        except json.JSONDecodeError:
            body = None
        if isinstance(body, dict):
            message = str(body.get("errorMessage", payload))
            error_type = str(body.get("errorType") or _type_from_message(message) or function_error)
            return cls(error_type, message)
        return cls(_type_from_message(payload) or function_error, payload)

    @property
    def is_resource_limit(self) -> bool:
        """True for out-of-memory and timeout: the size itself is too small or too slow."""
        return self.error_type in RESOURCE_ERRORS


def _type_from_message(message: str) -> str | None:
    # Older runtimes report a timeout only in the message, with no errorType.
    return "Sandbox.Timedout" if "Task timed out after" in message else None


def payloads_for(
    request: TuningRequest, base_payload: Any, *, count: int | None = None, offset: int = 0
) -> list[Any]:
    """The payload of each invocation: one payload repeated, or weighted payloads in blocks.

    An adaptive batch (`count` invocations from `offset`) takes its slice of an interleaved order
    instead, so that every batch gets the payloads in their proportions, not the first one only.
    """
    total = request.invocations_per_size
    if not request.weighted_payloads:
        return [base_payload] * (total if count is None else count)
    counts = weighted_counts(request.weighted_payloads, total)
    if count is None:
        out: list[Any] = []
        for item, times in zip(request.weighted_payloads, counts, strict=True):
            out.extend([item.payload] * times)
        return out
    # Smooth interleaving: the k-th use of a payload is placed at (k + 0.5) / its count.
    order = sorted(((k + 0.5) / times, i) for i, times in enumerate(counts) for k in range(times))
    return [request.weighted_payloads[i].payload for _, i in order[offset : offset + count]]


def measure_size(
    request: TuningRequest,
    config: TuningConfig,
    power: int,
    lambda_client: Any,
    *,
    payload: Any = None,
    attempt: int = 0,
    region: str | None = None,
    count: int | None = None,
    offset: int = 0,
) -> SizeResult:
    """Invoke `power`'s alias(es) `num` times and summarise the REPORT records.

    With `count` (sampling "adaptive"), invoke it `count` times as invocations `offset`... of the
    size, and return each invocation's figures too, for the decision step.
    """
    function = request.function
    base = payload if payload is not None else request.payload
    payloads = payloads_for(request, base, count=count, offset=offset)
    aliases = alias_names(power, request)
    targets = [aliases[(offset + i) % len(aliases)] for i in range(len(payloads))]
    invoke = _invoker(request, config.function_arn, lambda_client, power)
    reports: list[Report] = []
    errors = 0
    try:
        if request.parallel_invocation:
            workers = min(len(payloads), request.max_concurrency or len(payloads))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(invoke, targets, payloads))
        else:
            outcomes = []
            for alias, body in zip(targets, payloads, strict=True):
                outcomes.append(invoke(alias, body))
                # After every invocation (post-processor included), the last one too: as the reference.
                if request.sleep_between_runs_ms:
                    time.sleep(request.sleep_between_runs_ms / 1000)
    except _SkipSizeError as skip:
        # powerValues "auto" chose the size, not the user: one too small to run is just left out.
        if request.on_error != "skip" and not request.auto_power_values:
            raise skip.error from None
        logger.warning("skipping %s MB: %s", power, skip.failure.error_type)
        return SizeResult(
            value=power,
            skipped=True,
            reason=f"{skip.failure.error_type}: {skip.failure.message}",
            transitions=attempt + 1,
        )
    for report, errored in outcomes:
        reports.append(report)
        errors += errored
    price = lambda_price(region or function.region, config.architecture, config.ephemeral_storage_mb)
    if count is not None:
        return batch_result(
            power, reports, price, discard_for(request), errors=errors, transitions=attempt + 1
        )
    return summarize(power, reports, price, discard_for(request), errors=errors, transitions=attempt + 1)


class _SkipSizeError(Exception):
    def __init__(self, failure: FunctionFailure, error: TargetFunctionError) -> None:
        super().__init__(str(error))
        self.failure = failure
        self.error = error


def _invoker(
    request: TuningRequest, function_arn: str, client: Any, power: int
) -> Callable[[str, Any], tuple[Report, bool]]:
    def invoke(alias: str, payload: Any) -> tuple[Report, bool]:
        if request.pre_processor_arn:
            processed = lambda_api.invoke_processor(client, request.pre_processor_arn, payload)
            payload = payload if processed is None else processed
        if not request.disable_payload_logs:
            logger.info("invoking %s:%s with %s", function_arn, alias, json.dumps(payload)[:1000])
        response = lambda_api.invoke(client, function_arn, alias, encode_payload(payload))
        errored = False
        if response.function_error:
            failure = FunctionFailure.from_payload(response.function_error, response.payload)
            if failure.error_type not in request.allowed_exceptions:
                error = TargetFunctionError(_describe(power, failure, payload, request.disable_payload_logs))
                if failure.is_resource_limit:
                    raise _SkipSizeError(failure, error)
                raise error
            errored = True
        if request.post_processor_arn:
            lambda_api.invoke_processor(client, request.post_processor_arn, _decode(response.payload))
        return parse_log_result(response.log_result), errored

    return invoke


def encode_payload(payload: Any) -> bytes:
    """The invoke body, as aws-lambda-power-tuning sends it.

    A string holding JSON goes as it is (so `"{\"id\": 1}"` reaches the function as an object); any
    other value is JSON-encoded; no payload sends `null`, as the reference tool does.
    """
    if payload is None:
        return b"null"
    if isinstance(payload, str):
        try:
            json.loads(payload)
        except json.JSONDecodeError:
            return json.dumps(payload).encode()
        return payload.encode()
    return json.dumps(payload).encode()


def _describe(power: int, failure: FunctionFailure, payload: Any, hide_payload: bool) -> str:
    text = f"at {power} MB the function failed with {failure.error_type}: {failure.message}"
    if not hide_payload:
        text += f" (payload: {json.dumps(payload)[:500]})"
    return text


def _decode(payload: str) -> Any:
    try:
        return json.loads(payload)
    except json.JSONDecodeError:
        return payload


def total_invocations(results: Sequence[SizeResult]) -> int:
    """How many times the target was invoked across sizes."""
    return sum(r.invocations for r in results)
