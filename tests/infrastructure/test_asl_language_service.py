"""The state machine definition checked by AWS's own ASL language service (npm
`amazon-states-language-service`, pinned in package.json), besides cfn-lint.

It checks what a JSON schema cannot: every Next names a state, every state is reachable, enum
values (JitterStrategy, ...) are known. Both the file and the definition the stack deploys (and the
local engine runs: the same `powertuning.asl.render`) are checked.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from powertuning.asl import (
    ASL_FILE,
    FLEET_ASL_FILE,
    FLEET_PLACEHOLDERS,
    PLACEHOLDERS,
    WORKFLOW_ASL_FILE,
    WORKFLOW_PLACEHOLDERS,
    fleet_integrations,
    render,
    render_fleet,
    render_workflow,
    workflow_integrations,
)

REPO = Path(__file__).parents[2]
VALIDATOR = Path(__file__).with_name("validate_asl.js")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:powertuning-{}"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "node_modules" / "amazon-states-language-service").is_dir(),
    reason="needs Node.js and `npm ci` (make test runs it)",
)


def diagnostics(*files: Path) -> dict[str, list[dict[str, Any]]]:
    done = subprocess.run(
        ["node", str(VALIDATOR), *map(str, files)], capture_output=True, text=True, timeout=120, check=True
    )
    return {row["file"]: row["diagnostics"] for row in map(json.loads, done.stdout.splitlines())}


def test_the_file_and_the_rendered_definition_have_no_diagnostic(tmp_path: Path) -> None:
    rendered = tmp_path / "rendered.asl.json"
    arns = {name: ARN.format(name[: -len("FunctionArn")].lower()) for name in PLACEHOLDERS}
    rendered.write_text(render(arns, function_timeout_s=300), encoding="utf-8")
    source = REPO / "statemachine" / ASL_FILE
    found = diagnostics(source, rendered)
    assert found == {str(source): [], str(rendered): []}


def test_the_service_finds_what_it_should(tmp_path: Path) -> None:
    # GIVEN the definition with a dangling Next and an unknown JitterStrategy
    definition = json.loads((REPO / "statemachine" / ASL_FILE).read_text(encoding="utf-8"))
    definition["States"]["Publisher"]["Next"] = "Nowhere"
    definition["States"]["Publisher"]["Retry"][0]["JitterStrategy"] = "SOMETIMES"
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps(definition), encoding="utf-8")
    # THEN the service reports both, and the state nothing reaches any more
    messages = " | ".join(d["message"] for d in diagnostics(broken)[str(broken)])
    assert "must be the name of an existing state" in messages
    assert "Valid values" in messages
    assert "cannot be reached" in messages


def test_the_fleet_file_and_its_rendered_definition_have_no_diagnostic(tmp_path: Path) -> None:
    rendered = tmp_path / "fleet.rendered.asl.json"
    values = {
        "FleetResolverFunctionArn": ARN.format("fleet-resolver"),
        "FleetSummaryFunctionArn": ARN.format("fleet-summary"),
        "TunerStateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:tuner-abc",
        "ResultsBucketName": "powertuning-fleet-results",
        "TunerFunctionArns": ",".join(ARN.format(n) for n in ("initializer", "publisher")),
        **fleet_integrations("aws"),
    }
    assert set(values) == set(FLEET_PLACEHOLDERS)
    rendered.write_text(render_fleet(values, function_timeout_s=300), encoding="utf-8")
    source = REPO / "statemachine" / FLEET_ASL_FILE
    found = diagnostics(source, rendered)
    assert found == {str(source): [], str(rendered): []}


def test_the_workflow_file_and_its_rendered_definition_have_no_diagnostic(tmp_path: Path) -> None:
    rendered = tmp_path / "workflow.rendered.asl.json"
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:{}"
    values = {
        "WorkflowReaderFunctionArn": ARN.format("workflow-reader"),
        "WorkflowSolverFunctionArn": ARN.format("workflow-solver"),
        "FleetStateMachineArn": machine.format("tuner-abcFleet"),
        "OwnStateMachineArns": ",".join(machine.format(n) for n in ("tuner-abc", "tuner-abcFleet")),
        "TunerFunctionArns": ",".join(ARN.format(n) for n in ("initializer", "workflow-reader")),
        **workflow_integrations("aws"),
    }
    assert set(values) == set(WORKFLOW_PLACEHOLDERS)
    rendered.write_text(render_workflow(values, function_timeout_s=300), encoding="utf-8")
    source = REPO / "statemachine" / WORKFLOW_ASL_FILE
    found = diagnostics(source, rendered)
    assert found == {str(source): [], str(rendered): []}
