"""The options the subcommands share (powertuning/cli/options.py): `positive`, the type of every
period and gate limit that must be a number greater than 0."""

from __future__ import annotations

import argparse

import pytest

from powertuning import aws
from powertuning.cli import main
from powertuning.cli.options import percentage, positive

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"

# Every flag typed `positive`, on each command that has it.
POSITIVE_FLAGS = [
    (["run", "--function", FUNCTION], "--poll-interval"),
    (["run", "--function", FUNCTION], "--max-cost-per-invocation"),
    (["run", "--function", FUNCTION], "--max-duration-ms"),
    (["fleet", "--function", FUNCTION, "--wait"], "--poll-interval"),
    (["fleet", "--function", FUNCTION, "--wait"], "--max-tuning-cost"),
    (["workflow", "sm"], "--poll-interval"),
]


def _no_aws(_args: argparse.Namespace) -> aws.ClientFactory:
    raise AssertionError("an AWS client was made")


@pytest.mark.parametrize("text", ["0.5", "2", "1e-3", "300"])
def test_a_positive_number_is_taken(text: str) -> None:
    assert positive(text) == float(text)


# nan compares false with everything: a gate of nan never fails, and time.sleep(nan) raises
# ValueError after the execution started; inf (1e999 too) makes time.sleep raise OverflowError.
@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("-inf", "greater than 0"),
        ("soon", "expected a number"),
        ("", "expected a number"),
        ("nan", "finite"),
        ("NaN", "finite"),
        ("inf", "finite"),
        ("Infinity", "finite"),
        ("1e999", "finite"),
    ],
)
def test_what_is_not_a_finite_number_greater_than_0_is_refused(text: str, said: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=said) as refused:
        positive(text)
    assert repr(text) in str(refused.value)


@pytest.mark.parametrize(("command", "flag"), POSITIVE_FLAGS, ids=lambda v: v if isinstance(v, str) else v[0])
@pytest.mark.parametrize("text", ["nan", "inf"])
def test_every_positive_flag_refuses_nan_and_infinity_before_anything_starts(
    command: list[str],
    flag: str,
    text: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(aws.ClientFactory, "from_args", staticmethod(_no_aws))
    # WHEN the flag is given nan or inf THEN the parser refuses it (exit 2), naming the flag, before
    # any AWS client is made
    with pytest.raises(SystemExit) as done:
        main([*command, flag, text])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: expected a finite number greater than 0, got '{text}'" in err


@pytest.mark.parametrize("text", ["0", "12.5", "100"])
def test_a_percentage_from_0_to_100_is_taken(text: str) -> None:
    assert percentage(text) == float(text)


@pytest.mark.parametrize("text", ["-1", "100.5", "nan", "inf", "1e999", "half"])
def test_what_is_no_percentage_from_0_to_100_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected a number from 0 to 100") as refused:
        percentage(text)
    assert repr(text) in str(refused.value)


@pytest.mark.parametrize("text", ["nan", "-1", "101"])
def test_the_fleets_failure_gate_refuses_what_is_no_percentage_before_anything_starts(
    text: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (a gate of nan never failed, one of -1 always did)
    monkeypatch.setattr(aws.ClientFactory, "from_args", staticmethod(_no_aws))
    with pytest.raises(SystemExit) as done:
        main(["fleet", "--function", FUNCTION, "--wait", "--max-failed-percentage", text])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --max-failed-percentage: expected a number from 0 to 100, got '{text}'" in err
