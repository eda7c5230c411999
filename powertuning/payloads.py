"""What the tuned function receives: a plain payload or a weighted list, from the input or from S3.

The rule that tells a weighted list from a list sent as the payload is aws-lambda-power-tuning
v4.4.0's (`isWeightedPayload`): a **non-empty JSON array whose every item is an object with a truthy
`payload` and a truthy `weight`**, truthy as JavaScript has it (`null`, `false`, `0`, `""` are not;
`{}` and `[]` are). Anything else is sent as it is, e.g. `[{"sku": "A", "weight": 3}]` (no `payload`)
or `[{"payload": 1, "weight": 0}]` (weight 0). Keys other than `payload` and `weight` in a weighted
item are ignored, as there.

The same rule applies to the object `payloadS3` names (read by the Executor), so a weighted list
works the same inline and from S3. Each payload of a weighted list gets floor(num x weight / total)
invocations and the last one whatever remains, in blocks in list order (the reference's rounding);
a list whose weights leave a payload with no invocation is refused before anything changes, where
the reference fails in the Executor with "Invalid payload weight (num is too small)".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from powertuning.errors import InvalidInputError, PayloadError

if TYPE_CHECKING:
    from powertuning.models import TuningRequest, WeightedPayload


def no_payload() -> dict[str, Any]:
    """The event sent when the input has no `payload` (nor `payloadS3`): `{}`.

    What Lambda's console and `aws lambda invoke` send without a payload, and what a handler
    reading its event's keys expects; an explicit `"payload": null` is sent as null.
    """
    return {}


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness of a decoded JSON value: null, false, 0, NaN and "" are falsy."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def is_weighted(payload: Any) -> bool:
    """True for a weighted-payload list, by the reference tool's rule (see the module docstring)."""
    return (
        isinstance(payload, list)
        and bool(payload)
        and all(
            isinstance(item, dict) and js_truthy(item.get("weight")) and js_truthy(item.get("payload"))
            for item in payload
        )
    )


def check_finite(payload: Any, key: str = "payload") -> None:
    """Refuse a NaN or an infinite number (`1e999` reads as Infinity) anywhere in `payload`, naming it.

    JSON has no such numbers and Lambda cannot be sent them; a weighted list's weight is named as the
    weight it is, a number elsewhere by its path.
    """
    found = _non_finite(payload, key)
    if found is None:
        return
    path, value = found
    shown = json.dumps(value)
    if math.isinf(value):
        shown += " (a number such as 1e999 is beyond what a JSON number holds)"
    if is_weighted(payload) and re.fullmatch(rf"{re.escape(key)}\[\d+\]\.weight", path):
        raise InvalidInputError(f"{path} must be a positive number, got {shown}")
    raise InvalidInputError(f"{key} must be sendable JSON (UTF-8, no NaN or Infinity): {path} is {shown}")


def _non_finite(value: Any, path: str) -> tuple[str, float] | None:
    """(path, value) of the first NaN or infinite number in `value`, depth first."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    return next((found for p, v in items if (found := _non_finite(v, p)) is not None), None)


def parse_weighted(payload: Any, num: int) -> tuple[WeightedPayload, ...]:
    """The items of a weighted list, checked against `num`; raises InvalidInputError naming the item."""
    from powertuning.models import WeightedPayload  # models imports this module

    weighted = []
    for index, item in enumerate(payload):
        weight = item["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < math.inf:
            raise InvalidInputError(
                f"payload[{index}].weight must be a positive number, got {json.dumps(weight)}"
            )
        weighted.append(WeightedPayload(item["payload"], float(weight)))
    if num < len(weighted):
        raise InvalidInputError(
            f"num must be at least the number of weighted payloads ({len(weighted)}) "
            f"so each one runs, got {num}"
        )
    total = sum(w.weight for w in weighted)
    for index, item in enumerate(weighted):
        if math.floor(num * item.weight / total) < 1:
            needed = math.ceil(total / item.weight)
            raise InvalidInputError(
                f"payload[{index}].weight {item.weight:g} of {total:g} gets no invocation out of num {num} "
                f"(each payload gets floor(num x weight / total weight)): raise num to at least {needed} "
                "or that weight"
            )
    return tuple(weighted)


def weighted_counts(payloads: Sequence[WeightedPayload], num: int) -> list[int]:
    """Invocations per weighted payload: floor(num x weight / total), the last one the remainder.

    The reference tool's rounding; a dry run (num 1) sends the last payload.
    """
    total = sum(p.weight for p in payloads)
    counts = [math.floor(num * p.weight / total) for p in payloads]
    counts[-1] = num - sum(counts[:-1])
    return counts


def decode_s3_payload(text: str, uri: str) -> Any:
    """The payload an S3 object holds: its JSON.

    The reference sends an object that is not JSON as a string; here it is refused before anything
    changes (a mistyped key or a wrong object is far likelier than a wish to send raw text, which
    a JSON string in the object still sends).
    """
    try:
        document = json.loads(text)
        json.dumps(document, allow_nan=False)
    except (json.JSONDecodeError, ValueError) as exc:
        raise PayloadError(f"payloadS3 {uri} is not valid JSON: {exc}") from exc
    return document


def with_s3_payload(request: TuningRequest, document: Any, uri: str) -> TuningRequest:
    """The request with the payload read from `payloadS3`, a weighted list applied as an inline one."""
    if not is_weighted(document):
        return replace(request, payload=document, weighted_payloads=())
    try:
        weighted = parse_weighted(document, request.num)
    except InvalidInputError as exc:
        raise PayloadError(f"{uri}: {exc}") from exc
    return replace(request, payload=None, weighted_payloads=weighted)
