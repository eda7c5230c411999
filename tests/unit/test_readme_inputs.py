"""The README's input table says what the declarations in powertuning.input_keys.INPUTS say."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from powertuning.input_keys import INPUTS, InputKey
from powertuning.inputs import TuningRequest

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_rows() -> dict[str, tuple[bool, str, str]]:
    """key -> (marked new, default cell, allowed cell) of the README's "Execution input" table."""
    text = README.read_text()
    table = text[text.index("| key | default | allowed and meaning |") :].split("\n\n", 1)[0]
    rows: dict[str, tuple[bool, str, str]] = {}
    for line in table.splitlines()[2:]:
        key_cell, default, allowed = (cell.strip() for cell in line.strip("|").split(" | ", 2))
        name = re.match(r"`(\w+)`", key_cell)
        assert name, line
        rows[name[1]] = ("**new**" in key_cell, default, allowed)
    return rows


def number(value: float) -> str:
    """A bound as the README writes it: 1,000 and 0.5."""
    return f"{int(value):,}" if value == int(value) else f"{value:g}"


def test_the_readme_lists_every_input_key_in_order():
    assert list(readme_rows()) == [key.name for key in INPUTS]


@pytest.mark.parametrize("key", INPUTS, ids=lambda k: k.name)
def test_the_readme_row_of_each_key_says_its_default_and_allowed_values(key: InputKey):
    new, default, allowed = readme_rows()[key.name]
    # THEN the key is marked new exactly when aws-lambda-power-tuning v4 has no such key
    assert new == (not key.reference)
    # THEN a concrete default is written as its JSON value; none is claimed where there is none
    if key.default is None:
        assert not default.startswith("`"), default
    else:
        wire = list(key.default) if isinstance(key.default, tuple) else key.default
        assert default.split(" ")[0] == f"`{json.dumps(wire)}`"
    # THEN every allowed value and the range are named
    for choice in key.choices:
        assert f'"{choice}"' in allowed, choice
    if key.kind in ("int", "number", "sizes"):
        assert f"{number(key.low)}\N{EN DASH}{number(key.high)}" in allowed


@pytest.mark.parametrize("key", INPUTS, ids=lambda k: k.name)
def test_each_declared_key_is_a_request_field_with_the_declared_default(key: InputKey):
    field = TuningRequest.__dataclass_fields__[key.field]
    if key.name != "lambdaARN":
        declared = field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
        assert declared == key.default
