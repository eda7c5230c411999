"""The key table (powertuning/input_keys.py): each kind of key has its parser. What each key accepts
and refuses, with its message, is TuningRequest.from_dict's, tested in test_models.py and
tests/events/invalid_execution_inputs.json."""

from __future__ import annotations

from typing import get_args

import pytest

from powertuning.errors import InvalidInputError
from powertuning.input_keys import INPUTS, KIND_PARSERS, InputKey
from powertuning.input_kinds import AUTO, Kind


def test_every_kind_has_a_parser_and_every_parser_a_kind() -> None:
    assert set(KIND_PARSERS) == set(get_args(Kind))


def test_every_declared_key_is_of_a_kind_with_a_parser() -> None:
    assert {key.kind for key in INPUTS} <= set(KIND_PARSERS)


@pytest.mark.parametrize("key", INPUTS, ids=lambda k: k.name)
def test_a_key_left_out_parses_to_its_default(key: InputKey) -> None:
    if key.default_text == "required":
        with pytest.raises(InvalidInputError, match=key.name):
            key.parse({})
        return
    parsed = key.parse({})
    assert (list(parsed) if isinstance(parsed, tuple) else parsed) == (
        list(key.default) if isinstance(key.default, tuple) else key.default
    )


def test_sizes_of_auto_parse_to_none_and_a_list_to_its_sizes() -> None:
    sizes = next(key for key in INPUTS if key.kind == "sizes")
    assert sizes.parse({sizes.name: AUTO}) is None
    assert list(sizes.parse({sizes.name: [128, 512]})) == [128, 512]


@pytest.mark.parametrize(
    ("kind", "value"),
    [("int", "ten"), ("bool", "yes"), ("choice", "fastest"), ("s3", "http://bucket/key"), ("ms", -1)],
)
def test_a_bad_value_is_refused_naming_the_key(kind: str, value: object) -> None:
    key = next(key for key in INPUTS if key.kind == kind)
    with pytest.raises(InvalidInputError, match=key.name):
        key.parse({key.name: value})
