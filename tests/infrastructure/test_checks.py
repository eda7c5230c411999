"""cdk-nag AwsSolutions and cfn-lint on the synthesized templates: zero findings left unexplained."""

from __future__ import annotations

import json
import re

import pytest
from cfnlint.api import lint

from tests.infrastructure.synthesis import Synthesized

# Every acknowledgement the default app makes; a new one has to be added here, and reviewed.
# The last 12 characters of the stack id, as the state machines' names are built (not a hashed id).
_STACK_SUFFIX = (
    '{"Fn::Select":[4,{"Fn::Split":["-",{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"AWS::StackId"}]}]}]}]}'
)
EXPECTED_ACKNOWLEDGEMENTS = {
    "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*]",
    # DeleteFunction's versions-only pattern (qualified ARNs).
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*:*]",
    # Errors only by default: execution data carries payloads.
    "AwsSolutions::AwsSolutions-SF1",
    # The fleet (deployed by default): its results bucket has no access-log bucket of its own.
    "AwsSolutions::AwsSolutions-S1",
    # The fleet's roles: every object under the results bucket's fleet/ prefix (bucket id normalized).
    "AwsSolutions::AwsSolutions-IAM5[Resource::<FleetResults.Arn>/fleet/*]",
    # The fleet's state machine and the Optimizer (which applies nothing for a stopped execution):
    # executions of the tuner's state machine (its exact name); the fleet's own Distributed Map
    # children (<name>/<map run>:<id>).
    f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
    f"execution:powerTuningStateMachine-{_STACK_SUFFIX}:*]",
    f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
    f"execution:powerTuningStateMachineFleet-{_STACK_SUFFIX}/*]",
}


# `-c architectures=true` adds the staging bucket (no access logs either: AwsSolutions-S1, above).
ARCHITECTURES_ACKNOWLEDGEMENTS = EXPECTED_ACKNOWLEDGEMENTS | {
    # The layers a function uses (this account's, read-only).
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:layer:*:*]",
    # Staged copies are named per run (bucket id normalized).
    "AwsSolutions::AwsSolutions-IAM5[Resource::<TunerCodeStagingBucket.Arn>/*]",
}


def _without_hash(finding: str) -> str:
    """A finding id with CDK's hashed logical ids cut to their readable part (`<FleetResults.Arn>`)."""
    return re.sub(r"<([A-Za-z]+?)[0-9A-F]{8}\.", r"<\1.", finding)


def _nag(stack: Synthesized) -> dict[str, object]:
    (report,) = [r for r in stack.validation_report()["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    return dict(report)


@pytest.mark.parametrize("stack_name", ["default_stack", "variant_stack"])
def test_cdk_nag_passes_with_every_acknowledgement_explained(
    stack_name: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN a template, which only exists because synth passed the cdk-nag plugin
    report = _nag(request.getfixturevalue(stack_name))
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    suppressed = report["suppressedViolations"]
    assert isinstance(suppressed, list)
    assert suppressed
    for finding in suppressed:
        # THEN each acknowledged finding carries a reason a reviewer can check
        assert len(finding["reason"]) >= 80, finding["acknowledgedId"]


@pytest.mark.parametrize(
    ("stack_name", "expected"),
    [("default_stack", EXPECTED_ACKNOWLEDGEMENTS), ("architectures_stack", ARCHITECTURES_ACKNOWLEDGEMENTS)],
)
def test_default_acknowledgements_are_the_reviewed_ones(
    stack_name: str, expected: set[str], request: pytest.FixtureRequest
) -> None:
    suppressed = _nag(request.getfixturevalue(stack_name))["suppressedViolations"]
    assert isinstance(suppressed, list)
    assert {_without_hash(finding["acknowledgedId"]) for finding in suppressed} == expected


@pytest.mark.parametrize("stack_name", ["default_stack", "variant_stack"])
def test_cfn_lint_finds_no_errors(stack_name: str, request: pytest.FixtureRequest) -> None:
    stack: Synthesized = request.getfixturevalue(stack_name)
    matches = lint(json.dumps(stack.json), regions=["us-east-1", "eu-west-1", "ap-southeast-2"])
    errors = [
        f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})"
        for m in matches
        if m.rule.id.startswith("E")
    ]
    assert errors == []
