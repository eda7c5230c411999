"""cdk-nag AwsSolutions, cfn-lint, checkov and cfn-lint's serverless rules on the synthesized templates:
zero findings left unexplained."""

from __future__ import annotations

import json
import re

import pytest
from cfnlint.api import lint

from stacks.acknowledgements import SCANNER_ACKNOWLEDGEMENTS, ScannerAcknowledgement
from tests.infrastructure.scanners import Finding, Scan, scan
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
    # coldStartRate "production": the Initializer's Logs Insights query, on the log groups of the
    # functions lambdaResource allows (/aws/lambda/* by default).
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/lambda/*:*]",
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
    # The workflow tuner (deployed with the fleet): its plans, payloads and results under workflow/;
    # the summaries of the fleet runs it started; the fleet's executions it starts and waits for.
    "AwsSolutions::AwsSolutions-IAM5[Resource::<FleetResults.Arn>/workflow/*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::<FleetResults.Arn>/workflow/*/payloads/*]",
    "AwsSolutions::AwsSolutions-IAM5[Resource::<FleetResults.Arn>/fleet/*/summary.json]",
    f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
    f"execution:powerTuningStateMachineFleet-{_STACK_SUFFIX}:*]",
    # The user's workflow, read only: any state machine, execution and map run of the account and region.
    *(
        f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
        f"{kind}:*]"
        for kind in ("stateMachine", "execution", "mapRun")
    ),
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


# The templates checkov and cfn-lint's serverless rules scan, by fixture name (another deploy
# variant joins by its fixture). All are scanned in one checkov run (its start-up is most of its time).
SCANNED_STACKS = ("default_stack", "variant_stack")


@pytest.fixture(scope="module")
def scans(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Scan]:
    templates = {name: request.getfixturevalue(name).json for name in SCANNED_STACKS}
    return scan(templates, tmp_path_factory.mktemp("scans"))


def _acknowledgement(finding: Finding) -> ScannerAcknowledgement | None:
    return next(
        (
            a
            for a in SCANNER_ACKNOWLEDGEMENTS
            if (a.tool, a.rule, a.resource_type) == (finding.tool, finding.rule, finding.resource_type)
        ),
        None,
    )


@pytest.mark.parametrize("stack_name", SCANNED_STACKS)
def test_every_scanner_finding_is_acknowledged_in_one_place(stack_name: str, scans: dict[str, Scan]) -> None:
    # GIVEN what checkov and the serverless rules find on the template without its acknowledgements
    found = scans[stack_name].raw
    assert found, "the scanners found nothing at all: are they running?"
    # THEN each is in stacks/acknowledgements.SCANNER_ACKNOWLEDGEMENTS, or is a finding to fix
    unacknowledged = sorted(str(f) for f in found if _acknowledgement(f) is None)
    assert unacknowledged == []


@pytest.mark.parametrize("stack_name", SCANNED_STACKS)
def test_a_users_own_scan_of_the_template_reports_no_failure_and_says_why(
    stack_name: str, scans: dict[str, Scan]
) -> None:
    # GIVEN the template as synthesized: the acknowledgements are in its resources' Metadata
    result = scans[stack_name]
    # THEN neither scanner reports a failure, and each checkov skip carries the table's reason
    assert sorted(str(f) for f in result.left) == []
    reasons = {(a.rule, a.resource_type): a.reason for a in SCANNER_ACKNOWLEDGEMENTS}
    assert result.skipped
    for skipped in result.skipped:
        key = (skipped["check_id"], str(skipped["resource"]).rsplit(".", 1)[0])
        assert skipped["check_result"]["suppress_comment"] == reasons[key], key


def test_every_scanner_acknowledgement_still_matches_a_finding(scans: dict[str, Scan]) -> None:
    # GIVEN every finding on every scanned template
    found = {f for result in scans.values() for f in result.raw}
    # THEN no acknowledgement is left over from a finding that was fixed (remove it from the table)
    stale = [
        f"{a.tool} {a.rule} on {a.resource_type}"
        for a in SCANNER_ACKNOWLEDGEMENTS
        if not any(_acknowledgement(f) == a for f in found)
    ]
    assert stale == []
    # AND each one gives a reason a reviewer can check, once
    assert all(len(a.reason) >= 80 for a in SCANNER_ACKNOWLEDGEMENTS)
    keys = [(a.tool, a.rule, a.resource_type) for a in SCANNER_ACKNOWLEDGEMENTS]
    assert len(set(keys)) == len(keys)
