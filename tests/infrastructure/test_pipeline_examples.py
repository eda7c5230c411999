"""The pipeline examples stay correct: the CodePipeline example synthesizes, the workflow's command parses."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from powertuning.cli import build_parser
from powertuning.cli.options import DEFAULT_STACK_NAME, build_input
from powertuning.inputs import TuningRequest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "pipelines"
STATE_MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:PowerTuning-Tuner"
FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:checkout"


def _example(name: str) -> ModuleType:
    # An example script, not a package module: load it from its file as a user's `cdk synth` would.
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    """The example pipeline stack, synthesized once."""
    cdk = pytest.importorskip("aws_cdk")
    from aws_cdk.assertions import Template

    example = _example("tuning_pipeline")
    app = cdk.App()
    stack = example.TuningPipelineStack(
        app, "Example", state_machine_arn=STATE_MACHINE, function_arn=FUNCTION
    )
    return dict(Template.from_stack(stack).to_json())


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_codepipeline_stage_starts_the_tuner_with_a_valid_input(template):
    (pipeline,) = _resources(template, "AWS::CodePipeline::Pipeline")
    assert [stage["Name"] for stage in pipeline["Stages"]] == ["Source", "Tune"]
    (action,) = pipeline["Stages"][1]["Actions"]
    assert action["ActionTypeId"] == {
        "Category": "Invoke",
        "Owner": "AWS",
        "Provider": "StepFunctions",
        "Version": "1",
    }
    config = action["Configuration"]
    assert config["StateMachineArn"] == STATE_MACHINE
    assert config["InputType"] == "Literal"
    # The literal input passes the same validator the Initializer runs.
    request = TuningRequest.from_dict(json.loads(config["Input"]))
    assert request.lambda_arn == FUNCTION
    assert request.include_output_results
    assert action["OutputArtifacts"] == [{"Name": "TuningResult"}]


def test_codepipeline_action_may_start_and_watch_only_the_tuner(template):
    statements = [
        s for p in _resources(template, "AWS::IAM::Policy") for s in p["PolicyDocument"]["Statement"]
    ]
    start = next(s for s in statements if "states:StartExecution" in s["Action"])
    assert start["Resource"] == STATE_MACHINE
    describe = next(s for s in statements if s["Action"] == "states:DescribeExecution")
    assert describe["Resource"] == STATE_MACHINE.replace(":stateMachine:", ":execution:") + ":pipeline*"


def _workflow() -> dict[Any, Any]:
    document = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_github_workflow_deploys_then_tunes_with_gates():
    workflow = _workflow()
    jobs = workflow["jobs"]
    assert jobs["tune"]["needs"] == "deploy"
    assert workflow["permissions"]["id-token"] == "write"  # OIDC, no stored keys
    deploy = " ".join(step.get("run", "") for step in jobs["deploy"]["steps"])
    assert f"cdk deploy {DEFAULT_STACK_NAME}" in deploy
    # The tuning command parses with the real CLI and its input passes the Initializer's validator.
    (command,) = [s["run"] for s in jobs["tune"]["steps"] if "powertune run" in s.get("run", "")]
    argv = shlex.split(re.sub(r"\$\{\{\s*vars\.FUNCTION_ARN\s*\}\}", FUNCTION, command))
    assert argv[:2] == ["powertune", "run"]
    args = build_parser().parse_args(argv[1:])
    assert args.stack_name == DEFAULT_STACK_NAME
    assert args.expect_current
    assert args.max_cost_per_invocation
    assert args.max_duration_ms
    assert build_input(args, args.function)["lambdaARN"] == FUNCTION
    uploads = [
        s for s in jobs["tune"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")
    ]
    assert uploads
    assert uploads[0]["if"] == "always()"


def test_default_stack_name_is_the_cdk_apps():
    app = ROOT / "app.py"
    if not app.exists():
        pytest.skip("app.py is not in this checkout")
    assert f'STACK_NAME = "{DEFAULT_STACK_NAME}"' in app.read_text()
