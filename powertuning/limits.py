"""Service limits the tuner checks before it changes anything.

Step Functions ends an execution with `States.DataLimitExceeded` when a state's input or output
passes 256 KB, and that error cannot be caught: the run would end with no cleanup. So the
Initializer bounds the largest state any step can produce for the accepted input and refuses the
input (changing nothing) when it could pass the limit with margin.
"""

from __future__ import annotations

import json
import math
from typing import Final

from powertuning.errors import StateLimitError
from powertuning.input_kinds import AUTO_GRID
from powertuning.inputs import TuningRequest
from powertuning.run_state import RunState
from powertuning.samples import COMPACT_ABOVE

MAX_STATE_BYTES: Final = 256 * 1024
# What the checks leave free, for what they do not model exactly.
MARGIN: Final = 0.85
# A Catch puts the error and its cause (the tuner caps its own messages) into the state.
ERROR_BYTES: Final = 12 * 1024
# One size's entry in the results, cleanup, analysis and stats (measured: about 330 bytes).
RESULT_BYTES: Final = 700
# One invocation's [duration, billed, init] as the adaptive race keeps it (measured: 14-24 bytes),
# and what a merged sample's weight adds (",1000").
SAMPLE_BYTES: Final = 26
# `$.run.original.code` (input `architectures`), recorded after this check: CodeSha256 and an S3 URI.
ORIGINAL_CODE_BYTES: Final = 1200
WEIGHT_BYTES: Final = 5
# Fewer samples per size than this before merging would blur the estimates: refuse instead.
MIN_SAMPLE_CAP: Final = 8
# The largest request Lambda takes for a synchronous invoke.
MAX_INVOKE_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
# The tuner's own messages are cut to this length before they reach a Cause.
MAX_MESSAGE_CHARS: Final = 2000


def _fixed_bytes(request: TuningRequest, config: RunState) -> int:
    fixed = len(json.dumps(request.to_dict())) + len(json.dumps(config.to_dict())) + ERROR_BYTES
    return fixed + (ORIGINAL_CODE_BYTES if config.architectures else 0)


def _race_sizes(request: TuningRequest, config: RunState) -> int:
    sizes = len(config.power_values)
    return max(sizes, len(AUTO_GRID)) if request.auto_power_values else sizes


def sample_cap(request: TuningRequest, config: RunState) -> int:
    """How many samples per size the race keeps before merging them (`samples.compact`).

    COMPACT_ABOVE, or fewer when that many for every size, twice (the race and one round's
    results), would not fit the state budget beside everything else: so any number of sizes fits.
    """
    sizes = max(1, _race_sizes(request, config))
    free = int(MAX_STATE_BYTES * MARGIN) - _fixed_bytes(request, config) - 2 * sizes * RESULT_BYTES
    per_size = free / (2 * sizes)
    # (cap + 1) samples and cap / 2 weights must fit in per_size.
    fitting = math.floor((per_size - SAMPLE_BYTES) / (SAMPLE_BYTES + WEIGHT_BYTES / 2))
    return max(MIN_SAMPLE_CAP, min(COMPACT_ABOVE, fitting))


def samples_bytes(num: int, cap: int) -> int:
    """An upper bound of one size's samples in the state: `num` of them, merged past `cap`.

    powertuning/samples.py keeps at most `cap` samples besides the first; merging leaves cap // 2
    weighted ones, to which new samples are added until the cap is passed again.
    """
    if num <= cap + 1:
        return num * SAMPLE_BYTES
    return (cap + 1) * SAMPLE_BYTES + (cap // 2) * WEIGHT_BYTES


def state_bytes(request: TuningRequest, config: RunState) -> int:
    """An upper bound of the largest execution state this request can produce."""
    fixed = _fixed_bytes(request, config)
    if request.sampling == "adaptive":
        # The race's samples, plus one round's results with theirs: each bounded per size.
        sizes = _race_sizes(request, config)
        per_size = samples_bytes(request.num, sample_cap(request, config))
        return fixed + 2 * sizes * RESULT_BYTES + 2 * sizes * per_size
    # Results, then the stats copy of includeOutputResults in the output.
    return fixed + 2 * len(config.slots()) * RESULT_BYTES


def map_item_bytes(request: TuningRequest, config: RunState) -> int:
    """An upper bound of one Map iteration's state: request, run and one size's samples."""
    cap = sample_cap(request, config)
    return _fixed_bytes(request, config) + RESULT_BYTES + samples_bytes(request.num, cap)


def check_state_budget(request: TuningRequest, config: RunState) -> None:
    """Refuse an input whose states could pass 256 KB (with margin), saying what to change."""
    budget = int(MAX_STATE_BYTES * MARGIN)
    largest = max(state_bytes(request, config), map_item_bytes(request, config))
    if largest <= budget:
        return
    inline = len(json.dumps(request.to_dict()["payload"])) if "payload" in request.to_dict() else 0
    hints = []
    if inline > 8 * 1024:
        hints.append(f"move the {inline}-byte payload to S3 and give payloadS3")
    # Adaptive sampling's samples are merged to fit (sample_cap): only the number of sizes matters.
    hints.append("list fewer powerValues")
    raise StateLimitError(
        f"this input could make an execution state of about {largest} bytes; Step Functions allows "
        f"{MAX_STATE_BYTES} and the tuner keeps {budget} to stay safe: {' or '.join(hints)}"
    )


def truncate(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message cut to `limit` characters, saying so."""
    suffix = " ... (truncated)"
    return message if len(message) <= limit else message[: limit - len(suffix)] + suffix
