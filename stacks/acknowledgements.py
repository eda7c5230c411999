"""Scanner findings the tuner accepts on purpose (cdk-nag, checkov, cfn-lint's serverless rules),
each with the reason a reviewer needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import jsii
from aws_cdk import Acknowledgment, Aspects, CfnResource, IAspect, Stack, Validations
from constructs import IConstruct

# cdk-nag 3 reports findings as validation rules of its "AwsSolutions" plugin.
NAG_PLUGIN: Final = "AwsSolutions"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (e.g. `AwsSolutions-IAM5[Resource::*]`) on scope and below."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{NAG_PLUGIN}::{finding}", reason=reason))


def nag_resource(scope: IConstruct, value: str) -> str:
    """A resource as cdk-nag names it in a finding: `Ref`s as `<AWS::Region>`, GetAtts as `<Id.Attr>`."""
    return _flatten(Stack.of(scope).resolve(value))


def _flatten(node: Any) -> str:
    # Mirrors cdk-nag's flattenCfnReference, which builds the finding ids we must acknowledge.
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(_flatten(item) for item in items)
        if "Fn::Sub" in node:
            return _flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{_flatten(resource)}.{_flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return _flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{_flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


# -- checkov and cfn-lint's serverless rules ----------------------------------------------------------
# The scanners users run on a synthesized template (`checkov --framework cloudformation`,
# `cfn-lint --append-rules cfn_lint_serverless.rules`). Each finding the tuner accepts is listed
# here once, by tool, rule and resource type, with its reason, and written into the template as
# each resource's Metadata (checkov's `skip`, cfn-lint's `ignore_checks`), so a user's own scan of
# cdk.out reports them as skipped, with the reason, instead of failed. Only the tuner's and the
# fleet's own resources carry them (the aspect is added on those constructs, not on the user's stack).
# tests/infrastructure/test_checks.py scans the templates without this metadata and fails on any
# finding not listed here and on any entry here that no longer matches a finding.
CHECKOV: Final = "checkov"
CFN_LINT_SERVERLESS: Final = "cfn-lint-serverless"


@dataclass(frozen=True)
class ScannerAcknowledgement:
    """One scanner finding accepted on every resource of a type the tuner deploys, and why."""

    tool: str
    rule: str
    resource_type: str
    reason: str


_FUNCTION: Final = "AWS::Lambda::Function"
_BUCKET: Final = "AWS::S3::Bucket"
SCANNER_ACKNOWLEDGEMENTS: Final = (
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_116",
        _FUNCTION,
        "No dead-letter queue: a DLQ only receives failed asynchronous invocations. The state machines "
        "invoke their functions synchronously and handle every error (Retry, Catch, cleanup); the "
        "recovery rule's one asynchronous target, the Cleaner, leaves a run it could not recover "
        "registered, where the next run refuses to start and powertune clean finishes it.",
    ),
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_117",
        _FUNCTION,
        "Not in a VPC by default: the functions call only AWS APIs (Lambda, Step Functions, DynamoDB, "
        "S3, CloudWatch) and no private resource. Deploy with -c subnetIds=... and "
        "-c securityGroupIds=... to place the tuner's functions in a VPC.",
    ),
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_115",
        _FUNCTION,
        "No reserved concurrency: reserving it takes capacity from the account's unreserved pool "
        "(production's), and fails to deploy in accounts whose limit is below 100 plus the reservation. "
        "The state machines bound how many run at once: one task per state, the Map's MaxConcurrency.",
    ),
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_173",
        _FUNCTION,
        "Environment variables hold resource names (the runs table, the staging and results buckets, "
        "the default power values) and no secret; Lambda encrypts them at rest with an AWS managed "
        "key. A customer managed key would add a key policy every role must be granted.",
    ),
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_158",
        "AWS::Logs::LogGroup",
        "CloudWatch Logs encrypts every log group at rest with a service key. The groups hold the "
        "functions' own logs and the state machines' errors (execution data is not logged by "
        "default); a customer managed KMS key adds cost and a key policy without protecting "
        "anything a reader of these groups could not already read.",
    ),
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_18",
        _BUCKET,
        "No server access logs (as cdk-nag's AwsSolutions-S1): the buckets hold the tuner's own objects "
        "(staged code copies per run, fleet items and summaries), written and read only by its roles; "
        "CloudTrail records their API calls, and a log bucket would need its own bucket and policy.",
    ),
    ScannerAcknowledgement(
        CHECKOV,
        "CKV_AWS_21",
        _BUCKET,
        "No versioning: each object is written once per run and expires (lifecycle rules). A staged "
        "copy is checked against the code's CodeSha256 before it is deployed, not trusted because an "
        "old version was kept; fleet summaries are rewritten by a new fleet run. Versions would only "
        "keep deleted objects longer.",
    ),
    ScannerAcknowledgement(
        CFN_LINT_SERVERLESS,
        "WS1004",
        _FUNCTION,
        "False positive: each function logs to its own AWS::Logs::LogGroup with RetentionInDays, "
        "attached through LoggingConfig.LogGroup; the rule only recognises a group named "
        "/aws/lambda/<function name>, and the functions' names are CloudFormation's.",
    ),
    ScannerAcknowledgement(
        CFN_LINT_SERVERLESS,
        "ES4000",
        "AWS::Events::Rule",
        "The recovery rule has no dead-letter queue: its target retries 8 times; an event it still "
        "cannot deliver leaves the stopped run registered, which the next run on that function "
        "reports (naming powertune clean) instead of starting, so nothing is lost in silence.",
    ),
    ScannerAcknowledgement(
        CFN_LINT_SERVERLESS,
        "ES1007",
        "AWS::Lambda::Permission",
        "The recovery rule invokes the Cleaner asynchronously with Lambda's default retries (two) and "
        "no failure destination: a recovery that fails leaves the run registered, and the next run "
        "on that function or powertune clean finishes it; a destination would add a queue no one reads.",
    ),
)


@jsii.implements(IAspect)
class _ScannerMetadata:
    """Writes SCANNER_ACKNOWLEDGEMENTS into the Metadata of each resource they apply to."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        found = [a for a in SCANNER_ACKNOWLEDGEMENTS if a.resource_type == node.cfn_resource_type]
        skips = [{"id": a.rule, "comment": a.reason} for a in found if a.tool == CHECKOV]
        ignored = [a.rule for a in found if a.tool == CFN_LINT_SERVERLESS]
        if skips:
            node.add_metadata(CHECKOV, {"skip": skips})
        if ignored:
            node.add_metadata("cfn-lint", {"config": {"ignore_checks": ignored}})


def acknowledge_scanner_findings(scope: IConstruct) -> None:
    """Acknowledge SCANNER_ACKNOWLEDGEMENTS on the resources of `scope` (the tuner's, the fleet's)."""
    Aspects.of(scope).add(_ScannerMetadata())
