"""The fleet core: input validation (the single-function tuner's messages), selection, savings, ranking."""

from __future__ import annotations

import json
from typing import Any

import pytest

from powertuning.errors import FleetInputError, InvalidInputError, SelfTargetError
from powertuning.fleet_request import DEFAULT_MAX_CONCURRENCY, FleetRequest, FunctionInfo, function_of
from powertuning.fleet_selection import child_execution_name, select
from powertuning.fleet_summary import DAYS_PER_MONTH, FunctionOutcome, Usage, summarize
from powertuning.inputs import TuningRequest
from powertuning.pricing import lambda_price

ARN = "arn:aws:lambda:us-east-1:123456789012:function:{}"
A, B = ARN.format("a"), ARN.format("b")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the fleet input must be a JSON object"),
        ({}, "give either functions"),
        ({"functions": [A], "selector": {"namePrefix": "x"}}, "give either functions"),
        ({"functions": []}, "functions must be a non-empty list"),
        ({"functions": ["checkout"]}, "functions must hold Lambda function ARNs"),
        ({"functions": [A, A]}, f"functions lists {A} twice: a fleet tunes each function once"),
        ({"selector": {}}, "selector is empty"),
        ({"selector": {"tag": {"team": "x"}}}, "selector has unknown key 'tag'"),
        ({"selector": {"tags": {"team": 1}}}, "selector.tags must be an object of strings"),
        (
            {"functions": [A], "overrides": {B: {"num": 20}}},
            f"overrides name a function that is not in the fleet: {B}",
        ),
        ({"functions": [A], "defaults": {"lambdaARN": A}}, "defaults must not hold lambdaARN"),
        ({"functions": [A], "maxConcurrency": 0}, "maxConcurrency must be an integer from 1 to 100"),
        (
            {"functions": [A], "toleratedFailurePercentage": 101},
            "toleratedFailurePercentage must be a number",
        ),
        ({"functions": [A], "concurrency": 3}, "unknown key 'concurrency'"),
    ],
)
def test_bad_fleet_input_is_refused_with_a_message(data: Any, message: str) -> None:
    with pytest.raises(FleetInputError, match=None) as raised:
        FleetRequest.from_dict(data)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "defaults",
    [
        {"strategy": "cheapest"},
        {"num": 2},
        {"balanceWeight": 0.3},
        {"powerValues": [64]},
        {"payload": 1, "payloadS3": "s3://b/k"},
        {"strategy": "cost", "balancedWeight": 0.3},
    ],
)
def test_invalid_defaults_carry_the_single_function_tuners_own_message(defaults: dict[str, Any]) -> None:
    # GIVEN what the Initializer says about the same keys
    with pytest.raises(InvalidInputError) as single:
        TuningRequest.from_dict({**defaults, "lambdaARN": A})
    # WHEN the fleet validates them as defaults THEN the message is the same, said of the defaults
    with pytest.raises(FleetInputError) as fleet:
        FleetRequest.from_dict({"functions": [A], "defaults": defaults})
    assert str(fleet.value) == f"defaults: {single.value}"


def test_an_override_is_validated_merged_with_the_defaults() -> None:
    with pytest.raises(FleetInputError, match=f"overrides for {A}: maxConcurrency needs parallelInvocation"):
        FleetRequest.from_dict({"functions": [A], "overrides": {A: {"maxConcurrency": 5}}})


def test_auto_optimize_is_off_unless_given_and_stats_are_on() -> None:
    request = FleetRequest.from_dict(
        {"functions": [A, B], "defaults": {"num": 20}, "overrides": {B: {"autoOptimize": True}}}
    )
    assert request.tuning_input(A) == {
        "autoOptimize": False,
        "includeOutputResults": True,
        "num": 20,
        "coldStartRate": "production-if-available",
        "lambdaARN": A,
    }
    assert request.tuning_input(B)["autoOptimize"] is True
    assert request.max_concurrency == DEFAULT_MAX_CONCURRENCY
    assert FleetRequest.from_dict(request.to_dict()) == request


def _info(name: str, memory: int = 1024) -> FunctionInfo:
    return FunctionInfo(arn=ARN.format(name), name=name, memory_size=memory)


def test_a_selector_leaves_out_the_tuners_own_functions_and_says_so() -> None:
    request = FleetRequest.from_dict({"selector": {"namePrefix": "p"}})
    own = ARN.format("powertuning-initializer")
    selection = select(
        request, [_info("a"), _info("powertuning-initializer")], own_functions=[own], fleet_execution="x"
    )
    assert [i.function.arn for i in selection.items] == [A]
    assert selection.excluded == ({"functionArn": own, "reason": "one of the tuner's own functions"},)


def test_a_listed_tuner_function_is_refused() -> None:
    own = ARN.format("powertuning-initializer")
    request = FleetRequest.from_dict({"functions": [own]})
    with pytest.raises(SelfTargetError, match="tuner's own functions"):
        select(request, [_info("powertuning-initializer")], own_functions=[own], fleet_execution="x")


def test_a_selector_matching_nothing_is_refused() -> None:
    request = FleetRequest.from_dict({"selector": {"runtime": "java21"}})
    with pytest.raises(FleetInputError, match=r'the selector \{"runtime": "java21"\} matched no function'):
        select(request, [], own_functions=[], fleet_execution="x")


def test_selector_overrides_must_name_a_selected_function() -> None:
    request = FleetRequest.from_dict({"selector": {"namePrefix": "a"}, "overrides": {B: {"num": 20}}})
    with pytest.raises(FleetInputError, match=f"not in the fleet: {B}"):
        select(request, [_info("a")], own_functions=[], fleet_execution="x")


# Every form a fleet entry (a `functions` item, an `overrides` key) can take, and the function it
# names. Fleet and single run accept the same ARNs (arns.FUNCTION_ARN); Lambda's other forms of a
# FunctionName (a bare name, a partial ARN) are refused by both, so an entry is never ambiguous.
ENTRY_FORMS = {
    "unqualified": A,
    "$LATEST": f"{A}:$LATEST",
    "alias": f"{A}:prod",
    "version": f"{A}:3",
}
NOT_A_FUNCTION_ARN = {
    "name": "a",
    "name and alias": "a:prod",
    "partial ARN": "123456789012:function:a",
    "ARN with a trailing newline": f"{A}\n",
    "a state machine ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:a",
}


@pytest.mark.parametrize("form", sorted(ENTRY_FORMS))
def test_every_accepted_form_of_an_entry_names_its_function(form: str) -> None:
    entry = ENTRY_FORMS[form]
    assert function_of(entry) == A
    # The single-function tuner accepts the same form: what the child run will be given
    assert TuningRequest.from_dict({"lambdaARN": entry}).function.unqualified == A


@pytest.mark.parametrize("form", sorted(NOT_A_FUNCTION_ARN))
def test_a_name_or_partial_arn_is_refused_as_an_entry_and_as_an_override_key(form: str) -> None:
    entry = NOT_A_FUNCTION_ARN[form]
    with pytest.raises(InvalidInputError):
        TuningRequest.from_dict({"lambdaARN": entry})
    with pytest.raises(FleetInputError, match="functions must hold Lambda function ARNs"):
        FleetRequest.from_dict({"functions": [entry]})
    with pytest.raises(FleetInputError, match="overrides key must be a Lambda function ARN"):
        FleetRequest.from_dict({"functions": [A], "overrides": {entry: {"num": 20}}})


PAIRS = [(first, second) for first in sorted(ENTRY_FORMS) for second in sorted(ENTRY_FORMS)]


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_two_entries_naming_one_function_are_refused_whatever_their_forms(first: str, second: str) -> None:
    # GIVEN the function listed twice, in any two forms (the same one included): one child run each
    # would race for the function's one-run lock, and one of them would fail RunInProgressError
    entries = [ENTRY_FORMS[first], B, ENTRY_FORMS[second]]
    with pytest.raises(FleetInputError) as raised:
        FleetRequest.from_dict({"functions": entries})
    # THEN the refusal names the function and both entries as written
    message = str(raised.value)
    assert message.startswith(f"functions lists {A} twice")
    assert "a fleet tunes each function once, whichever alias or version names it" in message
    if first != second:
        assert f"as {ENTRY_FORMS[first]} and {ENTRY_FORMS[second]}" in message


@pytest.mark.parametrize(("first", "second"), [p for p in PAIRS if p[0] != p[1]])
def test_two_overrides_of_one_function_are_refused(first: str, second: str) -> None:
    overrides = {ENTRY_FORMS[first]: {"num": 20}, ENTRY_FORMS[second]: {"num": 30}}
    with pytest.raises(FleetInputError, match=f"overrides name {A} twice, as "):
        FleetRequest.from_dict({"functions": [A], "overrides": overrides})


@pytest.mark.parametrize(("listed", "keyed"), PAIRS)
def test_an_override_applies_to_its_function_whichever_forms_list_and_key_it(listed: str, keyed: str) -> None:
    entry = ENTRY_FORMS[listed]
    request = FleetRequest.from_dict(
        {"functions": [entry, B], "defaults": {"num": 5}, "overrides": {ENTRY_FORMS[keyed]: {"num": 20}}}
    )
    # THEN the function gets the override; the child run is given the entry as written (a qualified
    # ARN keeps the single run's check that the alias runs $LATEST's code); B keeps the defaults
    assert request.tuning_input(entry) == {
        "autoOptimize": False,
        "includeOutputResults": True,
        "num": 20,
        "coldStartRate": "production-if-available",
        "lambdaARN": entry,
    }
    assert request.tuning_input(B)["num"] == 5


@pytest.mark.parametrize("keyed", sorted(ENTRY_FORMS))
def test_a_selector_override_applies_to_the_matched_function_whichever_arn_keys_it(keyed: str) -> None:
    request = FleetRequest.from_dict(
        {"selector": {"namePrefix": "a"}, "overrides": {ENTRY_FORMS[keyed]: {"num": 20}}}
    )
    selection = select(request, [_info("a"), _info("ab")], own_functions=[], fleet_execution="x")
    inputs = {item.function.arn: dict(item.tuning_input) for item in selection.items}
    assert inputs[A]["num"] == 20
    assert inputs[A]["lambdaARN"] == A
    assert "num" not in inputs[ARN.format("ab")]


@pytest.mark.parametrize(
    "other",
    [
        "arn:aws:lambda:eu-west-1:123456789012:function:a",
        "arn:aws:lambda:us-east-1:210987654321:function:a",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:a",
        ARN.format("a-prod"),
    ],
)
def test_a_function_of_the_same_name_elsewhere_is_another_function(other: str) -> None:
    request = FleetRequest.from_dict({"functions": [f"{A}:prod", other], "overrides": {other: {"num": 20}}})
    assert request.tuning_input(f"{A}:prod").get("num") is None
    assert request.tuning_input(other)["num"] == 20


def test_a_qualified_entry_is_one_child_run_named_by_its_function() -> None:
    # GIVEN a list naming a function by its alias ARN
    request = FleetRequest.from_dict({"functions": [f"{A}:prod"], "overrides": {A: {"num": 20}}})
    found = [FunctionInfo(arn=f"{A}:prod", name="a", memory_size=1024)]
    selection = select(request, found, own_functions=[], fleet_execution="x")
    # THEN one item, the child named as the unqualified function's would be, the override applied
    (item,) = selection.items
    assert item.execution_name == child_execution_name("x", A)
    assert item.to_dict()["functionArn"] == f"{A}:prod"
    assert item.tuning_input["num"] == 20


def test_child_execution_names_are_valid_unique_and_readable() -> None:
    long = ARN.format("f" * 64)
    name = child_execution_name("arn:aws:states:us-east-1:123456789012:execution:fleet:one", long)
    assert len(name) <= 80
    assert name.startswith("fleet-")
    assert name != child_execution_name("arn:aws:states:us-east-1:123456789012:execution:fleet:two", long)


def _outcome(name: str, power: int, costs: dict[int, float], memory: int = 1024) -> FunctionOutcome:
    output = {
        "power": power,
        "cost": costs[power],
        "duration": 1.0,
        "stateMachine": {"executionCost": 0.001, "lambdaCost": 0.002},
        "stats": [{"value": v, "averagePrice": c, "averageDuration": 1.0} for v, c in costs.items()],
    }
    return FunctionOutcome.from_record(
        {
            "functionArn": ARN.format(name),
            "memorySize": memory,
            "architecture": "x86_64",
            "status": "SUCCEEDED",
            "output": output,
        }
    )


def test_savings_scale_the_real_traffic_by_the_measured_ratio_and_rank_largest_first() -> None:
    usage = {ARN.format("a"): Usage(14_000, 100.0), ARN.format("b"): Usage(1_400_000, 100.0)}
    outcomes = [_outcome("a", 256, {256: 1e-6, 1024: 4e-6}), _outcome("b", 512, {512: 2e-6, 1024: 4e-6})]
    summary = summarize(outcomes, usage, region="us-east-1").to_dict()
    assert [row["functionArn"] for row in summary["functions"]] == [B, A]
    b = summary["functions"][0]
    current = 1_400_000 * DAYS_PER_MONTH / 14 * lambda_price("us-east-1").invocation_cost(100.0, 1024)
    assert b["currentMonthlyCost"] == pytest.approx(current, abs=1e-4)
    assert b["recommendedMonthlyCost"] == pytest.approx(current / 2, abs=1e-4)
    assert b["basis"] == "measured ratio"
    assert summary["totals"]["tuningCost"] == pytest.approx(0.006)


def test_the_accounts_tier_prices_every_functions_monthly_cost_once() -> None:
    # GIVEN the fleet's monthlyGbSeconds past the second x86_64 tier
    usage = {ARN.format("b"): Usage(1_400_000, 100.0)}
    outcomes = [_outcome("b", 512, {512: 2e-6, 1024: 4e-6})]
    plain = summarize(outcomes, usage, region="us-east-1").to_dict()["functions"][0]
    tiered = summarize(outcomes, usage, region="us-east-1", monthly_gb_seconds=16e9).to_dict()["functions"][0]
    # THEN the current cost is priced at 20% off the duration (the request fee unchanged)
    month = 1_400_000 * DAYS_PER_MONTH / 14
    price = lambda_price("us-east-1", monthly_gb_seconds=16e9)
    assert tiered["currentMonthlyCost"] == pytest.approx(month * price.invocation_cost(100.0, 1024), abs=1e-4)
    assert tiered["currentMonthlyCost"] < plain["currentMonthlyCost"]


def test_without_the_current_size_measured_the_tuning_payload_prices_the_recommendation() -> None:
    outcome = _outcome("a", 256, {256: 1e-6, 512: 2e-6}, memory=1000)
    (row,) = summarize([outcome], {A: Usage(14, 5.0)}, region="us-east-1").to_dict()["functions"]
    assert row["basis"] == "tuning payload"
    assert row["recommendedMonthlyCost"] == pytest.approx(DAYS_PER_MONTH * 1e-6, abs=1e-4)


def test_a_child_that_was_already_being_tuned_is_skipped_and_a_failure_keeps_its_cause() -> None:
    def failed(name: str, error: str) -> FunctionOutcome:
        cause = json.dumps(
            {"ExecutionArn": "arn:x", "Status": "FAILED", "Error": error, "Cause": f"{error} said why"}
        )
        return FunctionOutcome.from_record(
            {
                "functionArn": ARN.format(name),
                "memorySize": 128,
                "architecture": "arm64",
                "status": "FAILED",
                "error": "States.TaskFailed",
                "cause": cause,
            }
        )

    busy, broken = failed("a", "RunInProgressError"), failed("b", "TargetFunctionError")
    assert (busy.status, broken.status) == ("SKIPPED", "FAILED")
    summary = summarize([busy, broken], {}, region="us-east-1", tolerated_failure_percentage=40)
    assert summary.failed_percentage == 50.0
    assert not summary.within_tolerance
    data = summary.to_dict()
    assert data["failed"] == [
        {
            "functionArn": B,
            "error": "TargetFunctionError",
            "cause": "TargetFunctionError said why",
            "executionArn": "arn:x",
        }
    ]
    assert data["skipped"][0]["error"] == "RunInProgressError"


def test_each_function_takes_its_own_production_rate_unless_its_override_says_otherwise() -> None:
    C = ARN.format("c")  # noqa: N806 - named as A and B
    # GIVEN a fleet priced at each function's own rate, one function told otherwise, one a number
    request = FleetRequest.from_dict(
        {
            "functions": [A, B, C],
            "defaults": {"coldStartRate": "production", "coldStartsPerSize": 2},
            "overrides": {B: {"coldStartRate": None}, C: {"coldStartRate": 0.1}},
        }
    )
    # THEN A reads its own, B is tuned without a rate (nor coldStartsPerSize), C at the number
    assert request.tuning_input(A)["coldStartRate"] == "production"
    assert "coldStartRate" not in request.tuning_input(B)
    assert "coldStartsPerSize" not in request.tuning_input(B)
    assert request.tuning_input(C)["coldStartRate"] == 0.1
    assert request.tuning_input(C)["coldStartsPerSize"] == 2


def test_a_fleet_silent_on_the_rate_gives_each_function_its_own_where_its_logs_hold_one() -> None:
    C, D, E = (ARN.format(n) for n in "cde")  # noqa: N806 - named as A and B
    # GIVEN a fleet whose defaults say nothing of coldStartRate, and overrides that do or that cannot blend
    request = FleetRequest.from_dict(
        {
            "functions": [A, B, C, D, E],
            "overrides": {
                B: {"coldStartRate": None},
                C: {"coldStartRate": "production"},
                D: {"onlyColdStarts": True},
                E: {"sampling": "adaptive"},
            },
        }
    )
    # THEN A takes the tolerant production form, B none, C the strict form as asked
    assert request.tuning_input(A)["coldStartRate"] == "production-if-available"
    assert "coldStartRate" not in request.tuning_input(B)
    assert request.tuning_input(C)["coldStartRate"] == "production"
    # AND a function whose input cannot blend a rate (onlyColdStarts, the adaptive race) gets none
    assert "coldStartRate" not in request.tuning_input(D)
    assert "coldStartRate" not in request.tuning_input(E)
    # AND null in the defaults turns it off for every function, coldStartsPerSize with a rate back on
    off = FleetRequest.from_dict(
        {"functions": [A, B], "defaults": {"coldStartRate": None}, "overrides": {B: {"coldStartRate": 0.2}}}
    )
    assert "coldStartRate" not in off.tuning_input(A)
    assert off.tuning_input(B)["coldStartRate"] == 0.2
    # AND a dry run spends no query
    dry = FleetRequest.from_dict({"functions": [A], "defaults": {"dryRun": True}})
    assert "coldStartRate" not in dry.tuning_input(A)
    # AND the fleet input as written (read back) keeps the null, not the implicit form
    assert off.to_dict()["defaults"] == {"coldStartRate": None}
    assert "defaults" not in request.to_dict()


@pytest.mark.parametrize(
    ("fleet", "message"),
    [
        ({"defaults": {"coldStartRate": "production-if-possible"}}, "coldStartRate must be a number"),
        (
            {"defaults": {"coldStartRate": None, "coldStartsPerSize": 2}},
            "defaults: coldStartsPerSize needs coldStartRate",
        ),
        ({"defaults": {"coldStartRate": None, "onlyColdStarts": True}}, None),
        (
            {"defaults": {"onlyColdStarts": True}, "overrides": {"B": {"coldStartRate": 0.1}}},
            "coldStartRate cannot be combined with onlyColdStarts",
        ),
        ({"defaults": {"coldStartRate": "sometimes"}}, "coldStartRate must be a number from 0 to 1"),
        (
            {"overrides": {"B": {"coldStartRate": None, "coldStartsPerSize": 2}}},
            "coldStartsPerSize needs coldStartRate",
        ),
        ({"overrides": {"B": {"coldStartRate": -0.1}}}, "coldStartRate must be a number from 0 to 1"),
    ],
)
def test_bad_fleet_cold_start_rates_are_refused_naming_the_key(fleet: dict, message: str | None) -> None:
    data = {"functions": [A, B], **fleet}
    if "overrides" in data:
        data["overrides"] = {B if k == "B" else k: v for k, v in data["overrides"].items()}
    if message is None:  # the table's one accepted row: null switches the implicit rate off
        assert "coldStartRate" not in FleetRequest.from_dict(data).tuning_input(A)
        return
    with pytest.raises(FleetInputError, match=message):
        FleetRequest.from_dict(data)
