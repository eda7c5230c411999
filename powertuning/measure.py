"""Invoke one memory size's aliases `num` times and summarise what the REPORT records say."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from powertuning import lambda_api, limits
from powertuning import samples as sample_store
from powertuning.analysis import discard_for, summarize
from powertuning.aws import error_code
from powertuning.cold_starts import cold_figures, with_cold_figures
from powertuning.errors import RunEndedError, TargetFunctionError
from powertuning.inputs import TuningRequest
from powertuning.lifecycle.publish import alias_names
from powertuning.logs import Report, parse_log_result
from powertuning.payloads import weighted_counts
from powertuning.pricing import LambdaPrice, lambda_price
from powertuning.run_state import RunState
from powertuning.size_result import SizeResult

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


@dataclass(frozen=True)
class Progress:
    """One size's measurement so far, carried between Executor calls in its Map iteration.

    An Executor call stops invoking before its own Lambda timeout could cut it off, and the state
    machine calls it again with this progress: functions that run for minutes stay tunable.
    """

    completed: int = 0
    reports: tuple[Report, ...] = ()
    errors: int = 0
    error_type: str = ""
    transitions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Wire form; each report as a compact list (trailing zeros dropped)."""
        return {
            "completed": self.completed,
            "reports": [_report_list(r) for r in self.reports],
            "errors": self.errors,
            "errorType": self.error_type,
            "transitions": self.transitions,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], power: int) -> Progress:
        """Parse the wire form."""
        return cls(
            completed=int(data.get("completed", 0)),
            reports=tuple(_report_from_list(r, power) for r in data.get("reports", [])),
            errors=int(data.get("errors", 0)),
            error_type=str(data.get("errorType", "")),
            transitions=int(data.get("transitions", 0)),
        )


_REPORT_FIELDS = (
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "max_memory_used_mb",
    "restore_duration_ms",
    "billed_restore_duration_ms",
)


def _report_list(report: Report) -> list[float]:
    values = [_compact(float(getattr(report, name))) for name in _REPORT_FIELDS]
    while len(values) > 2 and not values[-1]:
        values.pop()
    return values


def _report_from_list(values: Sequence[float], power: int) -> Report:
    fields = dict(zip(_REPORT_FIELDS, [*values, *([0.0] * len(_REPORT_FIELDS))], strict=False))
    fields["max_memory_used_mb"] = int(fields["max_memory_used_mb"])
    return Report(memory_size_mb=power, **fields)  # type: ignore[arg-type]


def _compact(value: float) -> float:
    rounded = round(value, 2)
    return int(rounded) if rounded.is_integer() else rounded


# Left free in every Executor call: the state machine's own overhead and the response.
SAFETY_MS = 20_000
# How much longer than the slowest wave so far the next one is assumed to take.
WAVE_GROWTH = 1.5


def measure(
    request: TuningRequest,
    config: RunState,
    power: int,
    lambda_client: Any,
    *,
    remaining_ms: Callable[[], int],
    progress: Progress | None = None,
    payload: Any = None,
    attempt: int = 0,
    count: int | None = None,
    offset: int = 0,
    architecture: str | None = None,
) -> tuple[Progress, SizeResult | None]:
    """Invoke `power`'s alias(es) until done or until this call's time is nearly up.

    Returns the progress and, once every invocation ran, the size's result. With `count`
    (sampling "adaptive"), the invocations are `offset`... of the size, and the result carries
    each invocation's figures for the decision step. `architecture` (input `architectures`): which
    architecture's aliases to invoke and price; the result says which.
    """
    arch = architecture or config.architecture
    # Several architectures: a failure on one is that architecture's, and onError "skip" leaves it out.
    per_arch = len(config.measured_architectures) > 1 or arch != config.architecture
    progress = progress or Progress()
    # This call: the Executor task, its retries, and the Choice state after it.
    transitions = progress.transitions + attempt + 2
    base = payload if payload is not None else request.payload
    total = request.invocations_per_size if count is None else count
    payloads = payloads_for(request, base, count=count, offset=offset)
    aliases = alias_names(power, request, config.arch_suffix(arch))
    targets = [aliases[(offset + i) % len(aliases)] for i in range(total)]
    invoke = _invoker(request, config, lambda_client, power, arch if per_arch else None)
    reports = list(progress.reports)
    errors, error_type = progress.errors, progress.error_type
    done = progress.completed
    started = time.monotonic()
    budget_ms = remaining_ms() - SAFETY_MS
    slowest_ms = 0.0
    wave = min(total, request.max_concurrency or total) if request.parallel_invocation else 1
    try:
        while done < total:
            elapsed_ms = (time.monotonic() - started) * 1000
            if done > progress.completed and elapsed_ms + slowest_ms * WAVE_GROWTH > budget_ms:
                return replace(
                    progress,
                    completed=done,
                    reports=tuple(reports),
                    errors=errors,
                    error_type=error_type,
                    transitions=transitions,
                ), None
            wave_started = time.monotonic()
            batch = range(done, min(total, done + wave))
            if len(batch) > 1:
                with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                    outcomes = list(
                        pool.map(invoke, [targets[i] for i in batch], [payloads[i] for i in batch])
                    )
            else:
                outcomes = [invoke(targets[done], payloads[done])]
                # After every invocation (post-processor included), the last one too: as the reference.
                if request.sleep_between_runs_ms:
                    time.sleep(request.sleep_between_runs_ms / 1000)
            slowest_ms = max(slowest_ms, (time.monotonic() - wave_started) * 1000)
            for report, failure in outcomes:
                reports.append(report)
                if failure:
                    errors += 1
                    error_type = failure
            done += len(batch)
    except TargetFunctionError as failed:
        if not (per_arch and request.on_error == "skip"):
            raise
        # A native dependency built for one architecture only: the other still gets a recommendation.
        logger.warning("skipping %s MB on %s: %s", power, arch, failed)
        result = _skipped(power, str(failed), transitions + 1)
        return progress, replace(result, architecture=arch)
    except _SkipSizeError as skip:
        # powerValues "auto" chose the size, not the user: one too small to run is just left out.
        if request.on_error != "skip" and not request.auto_power_values:
            raise skip.error from None
        logger.warning("skipping %s MB: %s", power, skip.failure.error_type)
        # + 1: the Pass state that hands the result to the Map, as for a measured size.
        reason = f"{skip.failure.error_type}: {skip.failure.message}"
        skipped = _skipped(power, reason, transitions + 1)
        return progress, replace(skipped, architecture=arch) if config.architectures else skipped
    final = replace(progress, completed=done, reports=tuple(reports), errors=errors, error_type=error_type)
    # The Pass state that hands the result to the Map.
    transitions += 1
    if errors >= len(reports):
        # Every invocation failed (with an allowed exception): nothing measured the size working.
        skipped = _skipped(
            power, f"every invocation failed with {error_type} (allowedExceptions)", transitions
        )
        return final, replace(skipped, architecture=arch) if config.architectures else skipped
    price = lambda_price(
        config.function_arn.split(":")[3], arch, config.ephemeral_storage_mb, request.monthly_gb_seconds
    )
    if count is not None:
        cap = limits.sample_cap(request, config)
        return final, batch_result(
            power, reports, price, discard_for(request), errors=errors, transitions=transitions, cap=cap
        )
    result = summarize(power, reports, price, discard_for(request), errors=errors, transitions=transitions)
    if request.prices_cold_starts:
        # Input `coldStartRate`: warm and cold apart, for the Analyzer to blend at the run's rate.
        cold = config.cold_start
        figures = cold_figures(
            power,
            reports,
            price,
            discard_for(request),
            snap_start=None if cold is None else cold.snap_start_price,
            init_billed=cold is None or cold.init_billed,
        )
        result = with_cold_figures(result, figures)
    return final, replace(result, architecture=arch) if config.architectures else result


def _skipped(power: int, reason: str, transitions: int) -> SizeResult:
    return SizeResult(
        value=power, skipped=True, reason=limits.truncate(reason, 1000), transitions=transitions
    )


class _SkipSizeError(Exception):
    def __init__(self, failure: FunctionFailure, error: TargetFunctionError) -> None:
        super().__init__(str(error))
        self.failure = failure
        self.error = error


def _invoker(
    request: TuningRequest, config: RunState, client: Any, power: int, architecture: str | None = None
) -> Callable[[str, Any], tuple[Report, str]]:
    private = request.disable_payload_logs
    function_arn = config.function_arn

    def invoke(alias: str, payload: Any) -> tuple[Report, str]:
        """One invocation: its REPORT record and the allowed error type it failed with ("" if none)."""
        if request.pre_processor_arn:
            processed = lambda_api.invoke_processor(
                client, request.pre_processor_arn, payload, private=private, role="preProcessorARN"
            )
            payload = payload if processed is None else processed
        if not request.disable_payload_logs:
            logger.info("invoking %s:%s with %s", function_arn, alias, json.dumps(payload)[:1000])
        try:
            response = lambda_api.invoke(client, function_arn, alias, encode_payload(payload))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            # The run's alias is gone: its run was cleaned up under it (or the function deleted).
            raise RunEndedError(
                f"{function_arn}:{alias} no longer exists: run {config.run_id} was cleaned up while it "
                "measured (by powertune clean --force, or the recovery of its execution), or the function "
                "was deleted; the run ended"
            ) from exc
        errored = ""
        if response.function_error:
            failure = FunctionFailure.from_payload(response.function_error, response.payload)
            if failure.error_type not in request.allowed_exceptions:
                error = TargetFunctionError(
                    _describe(power, failure, payload, request.disable_payload_logs, architecture)
                )
                if failure.is_resource_limit:
                    raise _SkipSizeError(failure, error)
                raise error
            errored = failure.error_type
        if request.post_processor_arn:
            lambda_api.invoke_processor(
                client,
                request.post_processor_arn,
                _decode(response.payload),
                private=private,
                role="postProcessorARN",
            )
        return parse_log_result(response.log_result), errored

    return invoke


def encode_payload(payload: Any) -> bytes:
    """The invoke body, as aws-lambda-power-tuning sends it.

    A string holding JSON goes as it is (so `"{\"id\": 1}"` reaches the function as an object); any
    other value is JSON-encoded; None (an explicit `"payload": null`) sends `null`. No payload at all
    is `{}` by then (powertuning.payloads.no_payload).
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


def _describe(
    power: int, failure: FunctionFailure, payload: Any, hide_payload: bool, architecture: str | None = None
) -> str:
    message = limits.truncate(failure.message, 1500)
    where = f"{power} MB on {architecture}" if architecture else f"{power} MB"
    text = f"at {where} the function failed with {failure.error_type}: {message}"
    if not hide_payload:
        text += f" (payload: {json.dumps(payload)[:300]})"
    return text


def _decode(payload: str) -> Any:
    try:
        return json.loads(payload)
    except json.JSONDecodeError:
        return payload


def batch_result(
    value: int,
    reports: Sequence[Report],
    price: LambdaPrice,
    discard_top_bottom: float,
    *,
    errors: int = 0,
    transitions: int = 1,
    cap: int = sample_store.COMPACT_ABOVE,
) -> SizeResult:
    """What the Executor returns for one adaptive batch: its summary plus its invocations' figures.

    The figures are compacted past `cap` (`limits.sample_cap`) (the batch's first is kept apart: it may
    be the size's cold start), so a round of many sizes stays within the state limit.
    """
    result = summarize(value, reports, price, discard_top_bottom, errors=errors, transitions=transitions)
    return replace(result, samples=sample_store.compact([sample_store.of_report(r) for r in reports], cap))
