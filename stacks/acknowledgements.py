"""cdk-nag findings the tuner accepts on purpose, each with the reason a reviewer needs."""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import Acknowledgment, Stack, Validations
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
