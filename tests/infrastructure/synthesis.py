"""Synthesis helpers for the infrastructure tests: the app as `cdk synth` runs it, and a variant.

Synthesis runs the real app (app.build: context from cdk.json, cdk-nag as a validation plugin), so a
template only exists once cdk-nag passed with zero unacknowledged findings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before jsii starts: Node 20 would print an end-of-life banner on every session.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

import app as cdk_app
from stacks import PowerTuner, TunerOptions
from stacks.tuner_functions import ASSET_HANDLERS
from stacks.workflow_tuner import WORKFLOW_FUNCTION_NAMES as WORKFLOW_ASSET_HANDLERS

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNCTION_NAMES = ("initializer", "publisher", "executor", "cleaner", "analyzer", "optimizer")
FLEET_FUNCTION_NAMES = ("fleet_resolver", "fleet_summary")
WORKFLOW_FUNCTION_NAMES = ("workflow_reader", "workflow_solver")
# The code assets, by the handlers each is the import closure of (as the constructs declare them).
ASSETS = {"tuner": ASSET_HANDLERS, "workflow": WORKFLOW_ASSET_HANDLERS}
# Granted on Resource "*", the only one AWS offers for them: active tracing's X-Ray calls, and the
# CloudWatch Logs calls with which Step Functions sets up a state machine's log delivery.
TRACING_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)

# Every option set at once, on a PowerTuner dropped into a user's own stack.
VARIANT_OPTIONS = TunerOptions(
    power_values=(256, 1024, 2048),
    lambda_resource=(
        "arn:aws:lambda:eu-west-1:123456789012:function:checkout",
        "arn:aws:lambda:eu-west-1:123456789012:function:team-*",
    ),
    total_execution_timeout=600,
    visualization_url="https://viz.example.com/",
    permissions_boundary="arn:aws:iam::123456789012:policy/developer-boundary",
    payload_s3_bucket="tuning-payloads",
    payload_s3_key="payloads/*",
    log_retention_days=7,
    subnet_ids=("subnet-0123456789abcdef0", "subnet-0fedcba9876543210"),
    security_group_ids=("sg-0123456789abcdef0",),
    state_machine_name_prefix="checkoutTuner",
    architectures=True,
    image_repositories=("123456789012.dkr.ecr.eu-west-1.amazonaws.com/shared/base",),
)


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stack: the assertions Template, its JSON and the cloud assembly directory."""

    template: Template
    json: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.json["Resources"])

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def functions(self, names: tuple[str, ...] = FUNCTION_NAMES) -> dict[str, tuple[str, dict[str, Any]]]:
        """Tuner functions (or the fleet's) by name, from their handler string: (logical id, properties)."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for logical_id, resource in self.of_type("AWS::Lambda::Function").items():
            name = resource["Properties"]["Handler"].split(".")[1]
            if name in names:
                found[name] = (logical_id, resource["Properties"])
        return found

    def bucket_policy_statements(self, bucket_logical_id: str) -> list[dict[str, Any]]:
        """The statements of the one bucket policy on a bucket."""
        (policy,) = [
            p
            for p in self.of_type("AWS::S3::BucketPolicy").values()
            if p["Properties"]["Bucket"] == {"Ref": bucket_logical_id}
        ]
        return list(policy["Properties"]["PolicyDocument"]["Statement"])

    def statements_of_role(self, role_logical_id: str) -> list[dict[str, Any]]:
        """Every Allow/Deny statement that applies to a role: inline and attached AWS::IAM::Policy."""
        statements: list[dict[str, Any]] = []
        role = self.resources[role_logical_id]["Properties"]
        for policy in role.get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_logical_id} in policy["Properties"].get("Roles", []):
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        return statements

    def role_of_function(self, name: str) -> str:
        names = next(
            group
            for group in (FLEET_FUNCTION_NAMES, WORKFLOW_FUNCTION_NAMES, FUNCTION_NAMES)
            if name in group
        )
        return str(self.functions(names)[name][1]["Role"]["Fn::GetAtt"][0])

    def state_machine(self) -> dict[str, Any]:
        """The tuner's state machine (the one whose definition calls the Initializer)."""
        (machine,) = [
            m for m in self.state_machines() if "InitializerFunctionArn" in m["DefinitionSubstitutions"]
        ]
        return machine

    def fleet_state_machine(self) -> dict[str, Any]:
        """The fleet's state machine (the Distributed Map)."""
        (machine,) = [
            m for m in self.state_machines() if "FleetResolverFunctionArn" in m["DefinitionSubstitutions"]
        ]
        return machine

    def workflow_state_machine(self) -> dict[str, Any]:
        """The workflow tuner's state machine (the one whose definition calls the WorkflowReader)."""
        (machine,) = [
            m for m in self.state_machines() if "WorkflowReaderFunctionArn" in m["DefinitionSubstitutions"]
        ]
        return machine

    def state_machines(self) -> list[dict[str, Any]]:
        return [dict(m["Properties"]) for m in self.of_type("AWS::StepFunctions::StateMachine").values()]

    def validation_report(self) -> dict[str, Any]:
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))


def cdk_json_context() -> dict[str, Any]:
    """The context `cdk synth` passes from cdk.json."""
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])


def synth_app(outdir: Path, context: Mapping[str, Any] | None = None) -> Synthesized:
    """Synthesize app.py's app as `cdk synth -c ...` would: cdk.json context, then overrides."""
    app = cdk.App(outdir=str(outdir), context={**cdk_json_context(), **(context or {})})
    stack = cdk_app.build(app)
    assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synthesized(Template.from_json(template), template, outdir)


def synth_construct(outdir: Path, options: TunerOptions | Callable[[cdk.Stack], TunerOptions]) -> Synthesized:
    """A PowerTuner inside a user's own stack, checked by cdk-nag like the app.

    `options` may be a function of the stack, for options that refer to the stack's own resources.
    """
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "UserStack")
    PowerTuner(stack, "Tuner", options=options(stack) if callable(options) else options)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return Synthesized(Template.from_json(template), template, outdir)


def build_app(context: Mapping[str, Any]) -> cdk.App:
    """The app with cdk.json context plus overrides, built but not synthesized."""
    app = cdk.App(context={**cdk_json_context(), **context})
    cdk_app.build(app)
    return app


def flatten(value: Any) -> str:
    """An intrinsic as text: `Ref`s as `<AWS::Region>`, GetAtts as `<LogicalId.Arn>` (like cdk-nag)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        return str(delimiter).join(flatten(item) for item in items)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    """IAM's Action and Resource: a single value or a list."""
    return value if isinstance(value, list) else [value]
