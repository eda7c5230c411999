"""Service limits the tuner checks before it changes anything.

Step Functions ends an execution with `States.DataLimitExceeded` when a state's input or output
passes 256 KB, and that error cannot be caught: the run would end with no cleanup. So the
Initializer bounds the largest state any step can produce for the accepted input and refuses the
input (changing nothing) when it could pass the limit with margin.
"""

from __future__ import annotations

import json
from typing import Final

from powertuning.errors import StateLimitError
from powertuning.models import AUTO_GRID, RunState, TuningRequest

MAX_STATE_BYTES: Final = 256 * 1024
# What the checks leave free, for what they do not model exactly.
MARGIN: Final = 0.85
# A Catch puts the error and its cause (the tuner caps its own messages) into the state.
ERROR_BYTES: Final = 12 * 1024
# One size's entry in the results, cleanup, analysis and stats (measured: about 330 bytes).
RESULT_BYTES: Final = 700
# One invocation's [duration, billed, init] as the adaptive race keeps it (measured: 14-24 bytes).
SAMPLE_BYTES: Final = 26
# `$.run.original.code` (input `architectures`), recorded after this check: CodeSha256 and an S3 URI.
ORIGINAL_CODE_BYTES: Final = 1200
# The largest request Lambda takes for a synchronous invoke.
MAX_INVOKE_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
# The tuner's own messages are cut to this length before they reach a Cause.
MAX_MESSAGE_CHARS: Final = 2000


def state_bytes(request: TuningRequest, config: RunState) -> int:
    """An upper bound of the largest execution state this request can produce."""
    fixed = len(json.dumps(request.to_dict())) + len(json.dumps(config.to_dict())) + ERROR_BYTES
    fixed += ORIGINAL_CODE_BYTES if config.architectures else 0
    sizes = len(config.slots())
    if request.sampling == "adaptive":
        # The race's samples, plus one round's results with theirs.
        sizes = max(sizes, len(AUTO_GRID)) if request.auto_power_values else sizes
        return fixed + 2 * sizes * RESULT_BYTES + 2 * sizes * request.num * SAMPLE_BYTES
    # Results, then the stats copy of includeOutputResults in the output.
    return fixed + 2 * sizes * RESULT_BYTES


def map_item_bytes(request: TuningRequest, config: RunState) -> int:
    """An upper bound of one Map iteration's state: request, run and one size's samples."""
    return (
        len(json.dumps(request.to_dict()))
        + len(json.dumps(config.to_dict()))
        + (ORIGINAL_CODE_BYTES if config.architectures else 0)
        + ERROR_BYTES
        + RESULT_BYTES
        + request.num * SAMPLE_BYTES
    )


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
    if request.sampling == "adaptive":
        hints.append("lower num or list fewer powerValues")
    else:
        hints.append("list fewer powerValues")
    raise StateLimitError(
        f"this input could make an execution state of about {largest} bytes; Step Functions allows "
        f"{MAX_STATE_BYTES} and the tuner keeps {budget} to stay safe: {' or '.join(hints)}"
    )


def truncate(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message cut to `limit` characters, saying so."""
    suffix = " ... (truncated)"
    return message if len(message) <= limit else message[: limit - len(suffix)] + suffix
