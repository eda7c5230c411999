"""Every error is a PowerTuningError whose class name is the errorType Step Functions matches."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from powertuning import errors

ERROR_CLASSES = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, Exception)]
ASL = Path(__file__).parents[2] / "statemachine" / "power_tuning.asl.json"


def test_module_defines_the_errors_the_tuner_raises():
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert {
        "PowerTuningError",
        "InvalidInputError",
        "CodeMismatchError",
        "AliasConflictError",
        "FunctionNotFoundError",
        "PayloadError",
        "ProcessorError",
        "TargetFunctionError",
        "LogParseError",
        "ThrottledError",
        "CleanupError",
    } <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_derives_from_the_base_and_ends_in_error(cls):
    assert issubclass(cls, errors.PowerTuningError)
    assert cls.__name__.endswith("Error")


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_has_a_one_line_docstring(cls):
    assert cls.__doc__
    assert "\n" not in cls.__doc__.strip()


def test_error_keeps_its_message():
    # GIVEN an error raised with a message WHEN it is turned into text THEN the message is intact
    with pytest.raises(errors.InvalidInputError, match="num must be"):
        raise errors.InvalidInputError("num must be an integer from 5 to 1000, got 4")


def test_errors_the_state_machine_retries_exist():
    # GIVEN the Retry clauses of the state machine WHEN they name one of our errors
    # THEN that error class exists (renaming it would silently disable the retry)
    definition = json.loads(ASL.read_text(encoding="utf-8"))
    named = set()

    def walk(states):
        for state in states.values():
            for retry in state.get("Retry", []):
                named.update(e for e in retry["ErrorEquals"] if "." not in e)
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(definition["States"])
    assert named
    assert named <= {cls.__name__ for cls in ERROR_CLASSES}
