"""app.py's `-c stackName=...`: a second, scratch stack beside the user's (make test-aws)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

import app
from powertuning.errors import InvalidOptionError


def test_the_default_stack_is_power_tuning() -> None:
    assert app.stack_name(cdk.App()) == "PowerTuning"


def test_a_stack_name_from_context() -> None:
    assert (
        app.stack_name(cdk.App(context={"stackName": "PowerTuningTest1a2b3c4d"})) == "PowerTuningTest1a2b3c4d"
    )


@pytest.mark.parametrize("name", ["1stack", "power_tuning", "power tuning", "a" * 129, "PowerTuning\n", "-x"])
def test_a_name_cloudformation_refuses_is_refused_naming_the_option(name: str) -> None:
    with pytest.raises(InvalidOptionError, match="stackName must start with a letter"):
        app.stack_name(cdk.App(context={"stackName": name}))
