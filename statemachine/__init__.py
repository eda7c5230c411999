"""The tuner's state machine definition, shipped as package data for the CLI and local engine."""

from __future__ import annotations

from importlib import resources
from typing import Final

ASL_FILE: Final = "power_tuning.asl.json"
PLACEHOLDERS: Final = (
    "InitializerFunctionArn",
    "PublisherFunctionArn",
    "ExecutorFunctionArn",
    "CleanerFunctionArn",
    "AnalyzerFunctionArn",
    "OptimizerFunctionArn",
)


def definition_text() -> str:
    """The ASL JSON text with its `${...FunctionArn}` placeholders."""
    return resources.files(__name__).joinpath(ASL_FILE).read_text(encoding="utf-8")


def render(function_arns: dict[str, str]) -> str:
    """The ASL text with each placeholder replaced by a function ARN (keys: placeholder names)."""
    text = definition_text()
    for name in PLACEHOLDERS:
        text = text.replace("${" + name + "}", function_arns[name])
    return text
