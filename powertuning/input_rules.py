"""What one execution input key means for another: the combinations refused, each with its reason.

Each key on its own is checked by its kind (`input_kinds`); `TuningRequest.from_dict` runs these
checks on the values parsed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from powertuning.errors import InvalidInputError
from powertuning.input_kinds import AUTO, BALANCED_WEIGHT_DEFAULT, MIN_NUM, MIN_TAIL_INVOCATIONS, QUANTILES


def check_combinations(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # What one key means for another; each key on its own is checked by InputKey.parse.
    if values["sampling"] != "adaptive":
        # The adaptive keys mean nothing to fixed sampling: reject them rather than ignore them.
        for key in ("confidence", "tolerance"):
            if key in data:
                raise InvalidInputError(f'{key} needs sampling: "adaptive" (it tunes when to stop sampling)')
        if data.get("powerValues") == AUTO:
            raise InvalidInputError(
                'powerValues "auto" needs sampling: "adaptive" (the search decides as it measures)'
            )
    # How many samples the race may keep is bounded with the rest of the state: powertuning/limits.py.
    if values["payload_s3"] is not None and "payload" in data:
        raise InvalidInputError("payload and payloadS3 are exclusive: give one of them")
    # With parallelInvocation the sleep has no effect, as in the reference tool (not an error).
    if values["max_concurrency"] is not None and not values["parallel_invocation"]:
        raise InvalidInputError(
            "maxConcurrency needs parallelInvocation: true (it caps parallel invocations)"
        )
    _check_balanced_weight(data, values)
    if values["auto_optimize_alias"] is not None:
        if not values["auto_optimize"]:
            raise InvalidInputError("autoOptimizeAlias needs autoOptimize: true")
        if values["dry_run"]:
            raise InvalidInputError(
                "autoOptimizeAlias cannot be used with dryRun: true (a dry run applies nothing)"
            )
    _check_latency_target(data, values)
    _check_architectures(values)
    _check_cold_starts(data, values)


def _check_balanced_weight(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # Only "balanced" weighs cost against speed: any other weight with "cost" or "speed" is a mistake
    # that would be ignored (as the reference tool ignores it). Exactly the default is accepted with
    # any strategy: the reference documents every key with its default, inputs written from that
    # table carry it, and to_dict writes it back for every request (docs/migrating.md).
    if "balancedWeight" not in data or values["strategy"] == "balanced":
        return
    if values["balanced_weight"] != BALANCED_WEIGHT_DEFAULT:
        raise InvalidInputError(
            f'balancedWeight {json.dumps(data["balancedWeight"])} needs strategy: "balanced" '
            f'(strategy "{values["strategy"]}" ignores the weight): set strategy "balanced" or remove '
            f"balancedWeight; only its default {BALANCED_WEIGHT_DEFAULT} is accepted with another strategy"
        )


def min_num_for(statistic: str) -> int:
    """The smallest `num` whose durations give a meaningful `statistic` (see MIN_TAIL_INVOCATIONS)."""
    q = QUANTILES.get(statistic)
    if q is None:
        return MIN_NUM
    # round(): 2 / (1 - 0.9) is 19.999... in floating point.
    return max(MIN_NUM, math.ceil(round(MIN_TAIL_INVOCATIONS / (1 - q), 9)))


def _check_latency_target(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # maxDurationMs: the cheapest (or best balanced) size whose durationStatistic is at most this.
    statistic = values["duration_statistic"]
    if values["max_duration_ms"] is None:
        if "durationStatistic" in data:
            raise InvalidInputError(
                "durationStatistic needs maxDurationMs (it says which duration the target limits)"
            )
        return
    if values["sampling"] == "adaptive":
        # The race drops sizes on the strategy's objective alone; it could drop the cheapest size
        # that meets the target. Refused until the race honours the target.
        raise InvalidInputError(
            'maxDurationMs cannot be combined with sampling: "adaptive" yet (the race could drop the '
            'cheapest size that meets the target): use sampling: "fixed"'
        )
    needed = min_num_for(statistic)
    if values["num"] < needed:
        raise InvalidInputError(
            f"durationStatistic {statistic} needs num of at least {needed}, got num {values['num']}: with "
            f"fewer invocations a {statistic} is the slowest one or two of them, not a {statistic}"
        )


def _check_architectures(values: Mapping[str, Any]) -> None:
    # architectures: measure every size on each (powertuning/architectures.py switches the code).
    images = values["image_uris"]
    if images is not None:
        listed = values["architectures"] or ()
        if not listed:
            raise InvalidInputError(
                "imageUris needs architectures (it says which image to measure on each architecture)"
            )
        unlisted = [a for a in images if a not in listed]
        if unlisted:
            raise InvalidInputError(
                f"imageUris names {', '.join(unlisted)}, which architectures does not list "
                f"({', '.join(listed)}): give an image only for an architecture measured"
            )
    if values["architectures"] is None:
        return
    if values["sampling"] == "adaptive":
        raise InvalidInputError(
            'architectures cannot be combined with sampling: "adaptive" yet: use sampling: "fixed"'
        )
    if values["auto_optimize"]:
        # Changing the architecture is a deployment (code and layers), not a memory setting.
        raise InvalidInputError(
            "architectures cannot be combined with autoOptimize: true: the tuner applies memory only; "
            "deploy the recommended architecture yourself, then tune again to apply its memory"
        )


def _check_cold_starts(data: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    # coldStartRate: each size priced at (1 - rate) x warm + rate x cold (powertuning/cold_starts.py).
    if values["cold_start_rate"] is None:
        if "coldStartsPerSize" in data:
            raise InvalidInputError(
                "coldStartsPerSize needs coldStartRate (the cold starts are measured to be priced at it)"
            )
        return
    if values["only_cold_starts"]:
        raise InvalidInputError(
            "coldStartRate cannot be combined with onlyColdStarts: true (every invocation would be a cold "
            "start, leaving no warm one to blend with): drop onlyColdStarts, or set coldStartRate 1"
        )
    if values["sampling"] == "adaptive":
        raise InvalidInputError(
            'coldStartRate cannot be combined with sampling: "adaptive" yet (the race compares warm '
            'invocations): use sampling: "fixed"'
        )
    per_size = values["cold_starts_per_size"]
    if per_size is not None and not values["dry_run"] and per_size > values["num"] // 2:
        raise InvalidInputError(
            f"coldStartsPerSize must be at most half of num ({values['num'] // 2} with num "
            f"{values['num']}), got {per_size}: the warm figure needs as many warm invocations"
        )
