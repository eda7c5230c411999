"""Reading the camelCase wire form of saved documents (an execution output, a workflow result) where
files get edited by hand: numbers checked finite or whole, a missing or wrong key named; and writing
optional keys, left out when None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any


def finite_number(value: Any) -> float:
    """A finite number from a saved document (a string of one too: files get edited by hand)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def whole_number(value: Any) -> int:
    """A whole number from a saved document (see finite_number)."""
    number = finite_number(value)
    if number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def optional(data: Mapping[str, Any], key: str, parse: Callable[[Any], Any]) -> Any:
    """`data[key]` parsed, None when it is missing or null."""
    value = data.get(key)
    return None if value is None else required(data, key, parse)


def required(data: Mapping[str, Any], key: str, parse: Callable[[Any], Any]) -> Any:
    """`data[key]` parsed; ValueError naming the key when it is missing or wrong."""
    # The key in the message: a hand-edited file's author needs to know which value to fix.
    if data.get(key) is None:
        raise ValueError(f"{key} is missing")
    try:
        return parse(data[key])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{key}: {exc}") from exc


def true_value(value: Any) -> bool:
    """True, for a key that is written only as true."""
    if value is not True:
        raise ValueError(f"expected true, got {value!r}")
    return True


# Optional wire keys, in wire order: (camelCase key, field, parser); None when a document lacks one.
Keys = tuple[tuple[str, str, Callable[[Any], Any]], ...]


def read_keys(data: Mapping[str, Any], keys: Keys) -> dict[str, Any]:
    """The fields of the optional `keys` read from a document (None where it lacks one)."""
    return {name: optional(data, key, parse) for key, name, parse in keys}


def written_keys(obj: object, keys: Keys) -> dict[str, Any]:
    """The optional `keys` of an object in wire form, those that are None left out."""
    return {key: getattr(obj, name) for key, name, _ in keys if getattr(obj, name) is not None}
