"""The workflow tuner's state machine, its two functions and what each role may do: the option, the
output, the grants (by the template, and judged by the IAM policy simulator), the definition."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from powertuning.asl import WORKFLOW_PLACEHOLDERS, workflow_definition_text
from powertuning.errors import InvalidOptionError
from stacks.fleet_grants import SYNC_RULE
from stacks.lambda_asset import asset_files
from stacks.options import TunerOptions
from stacks.workflow_grants import WORKFLOW_READ_ACTIONS
from tests.iam_recording import ACCOUNT, REGION
from tests.infrastructure.code_calls import actions_by_handler
from tests.infrastructure.iam_simulation import Deployment, Request, simulate
from tests.infrastructure.synthesis import (
    ASSETS,
    FLEET_FUNCTION_NAMES,
    REPO_ROOT,
    WORKFLOW_FUNCTION_NAMES,
    Synthesized,
    as_list,
    build_app,
    flatten,
    synth_app,
)

TRACING = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
needs_node = pytest.mark.skipif(
    shutil.which("node") is None
    or not (REPO_ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir(),
    reason="needs Node.js and `npm ci` (make test runs it)",
)


def _allowed(stack: Synthesized, role: str) -> dict[str, list[str]]:
    granted: dict[str, list[str]] = {}
    for statement in stack.statements_of_role(role):
        if statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                granted.setdefault(action, []).extend(flatten(r) for r in as_list(statement["Resource"]))
    return granted


def _machine_id(stack: Synthesized, placeholder: str) -> str:
    (machine_id,) = [
        key
        for key, resource in stack.of_type("AWS::StepFunctions::StateMachine").items()
        if placeholder in resource["Properties"]["DefinitionSubstitutions"]
    ]
    return machine_id


def test_the_workflow_state_machine_is_the_file_inline_nesting_the_fleet(default_stack: Synthesized) -> None:
    machine = default_stack.workflow_state_machine()
    subs = machine["DefinitionSubstitutions"]
    assert sorted(subs) == sorted(WORKFLOW_PLACEHOLDERS)
    definition = json.loads(machine["DefinitionString"])
    source = json.loads(workflow_definition_text())
    assert set(definition["States"]) == set(source["States"])
    assert definition["StartAt"] == "ReadWorkflow"
    fleet = _machine_id(default_stack, "FleetResolverFunctionArn")
    assert subs["FleetStateMachineArn"] == {"Ref": fleet}
    assert flatten(subs["StartFleetResource"]) == "arn:<AWS::Partition>:states:::states:startExecution.sync:2"
    for name in ("TuneEachFunction", "ApplyPicks"):
        state = definition["States"][name]
        # THEN both fleet runs are nested executions of the fleet, as long as they take
        assert state["Resource"] == "${StartFleetResource}"
        assert state["Parameters"]["StateMachineArn"] == "${FleetStateMachineArn}"
        assert "TimeoutSeconds" not in state
    for name in ("ReadWorkflow", "Solve"):
        assert definition["States"][name]["TimeoutSeconds"] == 300 + 30
    # The reader is told the tuner's own machines and functions by the definition, not the input
    own = flatten(subs["OwnStateMachineArns"])
    assert own == f"<{_machine_id(default_stack, 'InitializerFunctionArn')}>,<{fleet}>"
    functions = flatten(subs["TunerFunctionArns"]).split(",")
    assert len(functions) == 6 + 2 + 2
    # Refusals end the execution with the handler's message as Cause; onError fail too
    read_catch = definition["States"]["ReadWorkflow"]["Catch"][0]
    assert "WorkflowInputError" in read_catch["ErrorEquals"]
    assert read_catch["Next"] == "ReadRefusal"
    assert definition["States"]["Solve"]["Catch"][0] == {
        "ErrorEquals": ["WorkflowTuningError"],
        "ResultPath": "$.error",
        "Next": "ReadRefusal",
    }


def test_the_workflow_output_names_its_state_machine(default_stack: Synthesized) -> None:
    outputs: dict[str, Any] = default_stack.json["Outputs"]
    assert outputs["WorkflowArn"]["Value"] == {"Ref": _machine_id(default_stack, "WorkflowReaderFunctionArn")}
    # `powertune run --stack-name` still finds exactly one output named like StateMachineArn
    assert [k for k in outputs if "StateMachineArn" in k] == ["StateMachineArn"]


def test_workflow_functions_hold_only_what_their_code_calls(default_stack: Synthesized) -> None:
    called = actions_by_handler(REPO_ROOT, asset_files(ASSETS["workflow"]), WORKFLOW_FUNCTION_NAMES)
    # The scanner follows lambda_api.call's conflict branch (a wait on GetFunctionConfiguration),
    # taken only for calls with a FunctionName: the solver makes S3 and Step Functions calls only.
    called["workflow_solver"].discard("lambda:GetFunctionConfiguration")
    for name in WORKFLOW_FUNCTION_NAMES:
        granted = _allowed(default_stack, default_stack.role_of_function(name))
        own = {a for a in granted if not a.startswith("logs:")} - TRACING
        # THEN every call the code makes is granted, and nothing else (no wildcard, no extra action)
        assert own == called[name], name
        for action, resources in granted.items():
            assert "*" not in action.split(":")[1], action
            assert action in TRACING or "*" not in resources, (name, action)


def test_the_reader_reads_any_workflow_of_its_account_and_region_only(default_stack: Synthesized) -> None:
    granted = _allowed(default_stack, default_stack.role_of_function("workflow_reader"))
    scope = "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>"
    expected = {
        "states:DescribeStateMachine": ["stateMachine"],
        "states:ListExecutions": ["stateMachine", "mapRun"],
        "states:DescribeExecution": ["execution"],
        "states:GetExecutionHistory": ["execution"],
        "states:DescribeMapRun": ["mapRun"],
    }
    assert set(expected) == set(WORKFLOW_READ_ACTIONS)
    for action, kinds in expected.items():
        assert granted[action] == [f"{scope}:{kind}:*" for kind in kinds], action
    assert granted["lambda:GetFunctionConfiguration"] == [
        "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*"
    ]
    (objects,) = granted["s3:PutObject"]
    assert objects.endswith(".Arn>/workflow/*")


def test_the_solver_reads_the_plan_the_summaries_and_the_tunings_only(default_stack: Synthesized) -> None:
    granted = _allowed(default_stack, default_stack.role_of_function("workflow_solver"))
    plan, summaries = granted["s3:GetObject"]
    assert plan.endswith(".Arn>/workflow/*")
    assert summaries.endswith(".Arn>/fleet/*/summary.json")
    (executions,) = granted["states:DescribeExecution"]
    assert executions.split(":execution:")[1].startswith('powerTuningStateMachine-{"Fn')
    assert executions.endswith(":*")


def test_the_workflow_role_starts_and_reads_only_the_fleet(default_stack: Synthesized) -> None:
    machine = default_stack.workflow_state_machine()
    granted = _allowed(default_stack, machine["RoleArn"]["Fn::GetAtt"][0])
    assert granted.pop("states:StartExecution") == [
        f"<{_machine_id(default_stack, 'FleetResolverFunctionArn')}>"
    ]
    for action in ("states:DescribeExecution", "states:StopExecution"):
        (executions,) = granted.pop(action)
        assert executions.split(":execution:")[1].startswith('powerTuningStateMachineFleet-{"Fn')
        assert executions.endswith(":*")
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert granted.pop(action) == [
            f"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/{SYNC_RULE}"
        ]
    invoke = granted.pop("lambda:InvokeFunction")
    own = sorted(lid for lid, _ in default_stack.functions(WORKFLOW_FUNCTION_NAMES).values())
    assert sorted(r.strip("<>").split(".")[0] for r in invoke) == own
    assert {a.split(":")[0] for a in granted} <= {"logs", "xray"}


@pytest.mark.parametrize("name", WORKFLOW_FUNCTION_NAMES)
def test_the_tuner_refuses_and_denies_the_workflow_functions(default_stack: Synthesized, name: str) -> None:
    logical_id, _ = default_stack.functions(WORKFLOW_FUNCTION_NAMES)[name]
    _, initializer = default_stack.functions()["initializer"]
    refused = json.dumps(initializer["Environment"]["Variables"]["POWERTUNING_TUNER_FUNCTIONS"])
    assert logical_id in refused
    denies = [
        s
        for p in default_stack.of_type("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and logical_id in json.dumps(s["Resource"])
    ]
    assert denies, name


def test_workflow_off_leaves_the_template_without_it(tmp_path: Path, default_stack: Synthesized) -> None:
    # GIVEN the app deployed with -c workflow=false
    stack = synth_app(tmp_path, {"workflow": "false"})
    text = json.dumps(stack.json)
    # THEN no trace of the workflow tuner: no resource, output, grant or refusal names it
    assert "Workflow" not in text
    assert "workflow/" not in text
    assert len(stack.state_machines()) == 2
    # AND everything else is the default deploy's, resource for resource
    ours = {lid for lid in default_stack.resources if "Workflow" in lid}
    assert set(stack.resources) == set(default_stack.resources) - ours
    changed = sorted(
        lid
        for lid in stack.resources
        if json.dumps(stack.resources[lid], sort_keys=True)
        != json.dumps(default_stack.resources[lid], sort_keys=True)
    )
    # Only what the workflow adds to the tuner: the Initializer told of its functions, and the
    # Initializer's and Executor's reads of the payloads it moves to S3.
    assert {_kind(default_stack, lid) for lid in changed} <= {
        "initializer",
        "initializer-policy",
        "executor-policy",
    }
    assert set(default_stack.json["Outputs"]) - set(stack.json["Outputs"]) == {"WorkflowArn"}
    # AND the cloud assembly holds one code asset, the tuner's, as in the default deploy: the
    # workflow tuner's was never staged
    (code,) = [path.name for path in tmp_path.glob("asset.*") if (path / "lambdas").is_dir()]
    (key,) = {props["Code"]["S3Key"] for _, props in stack.functions().values()}
    (default_key,) = {props["Code"]["S3Key"] for _, props in default_stack.functions().values()}
    assert code == f"asset.{key.removesuffix('.zip')}"
    assert key == default_key


def _kind(stack: Synthesized, lid: str) -> str:
    resource = stack.resources[lid]
    if resource["Type"] == "AWS::Lambda::Function":
        return str(resource["Properties"]["Handler"].split(".")[1])
    if resource["Type"] == "AWS::IAM::Policy":
        (role,) = resource["Properties"]["Roles"]
        for name in ("initializer", "executor"):
            if role == {"Ref": stack.role_of_function(name)}:
                return f"{name}-policy"
    return lid


def test_no_fleet_leaves_the_workflow_out_and_asking_for_both_is_refused(tmp_path: Path) -> None:
    assert TunerOptions(fleet=False).workflow is False
    assert TunerOptions().workflow is True
    with pytest.raises(InvalidOptionError, match="workflow needs fleet=true"):
        build_app({"fleet": "false", "workflow": "true"})
    with pytest.raises(InvalidOptionError, match="workflow must be true or false"):
        build_app({"workflow": "maybe"})


@needs_node
def test_the_simulator_allows_the_workflow_roles_their_job_and_nothing_beyond(
    default_stack: Synthesized,
) -> None:
    deployment = Deployment(default_stack)
    reader = deployment.roles[default_stack.role_of_function("workflow_reader")]
    solver = deployment.roles[default_stack.role_of_function("workflow_solver")]
    machine = default_stack.workflow_state_machine()["RoleArn"]["Fn::GetAtt"][0]
    initializer = default_stack.role_of_function("initializer")
    tuner, fleet = deployment.machine_arn("tuner"), deployment.machine_arn("fleet")
    user = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:orders"
    run = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:orders:run-1"
    bucket = "arn:aws:s3:::powertuning-fleet-results"
    cases = [
        (Request(reader.logical_id, "states:DescribeStateMachine", user), "Allowed"),
        (Request(reader.logical_id, "states:ListExecutions", user), "Allowed"),
        (Request(reader.logical_id, "states:GetExecutionHistory", run), "Allowed"),
        (Request(reader.logical_id, "states:DescribeExecution", run), "Allowed"),
        (
            Request(
                reader.logical_id,
                "states:DescribeMapRun",
                f"arn:aws:states:{REGION}:{ACCOUNT}:mapRun:orders/m:1",
            ),
            "Allowed",
        ),
        (
            Request(
                reader.logical_id,
                "lambda:GetFunctionConfiguration",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pay",
            ),
            "Allowed",
        ),
        (Request(reader.logical_id, "s3:PutObject", f"{bucket}/workflow/run-1/plan.json"), "Allowed"),
        # another region or account; writing anything; starting or stopping anything
        (
            Request(reader.logical_id, "states:DescribeStateMachine", user.replace(REGION, "eu-west-1")),
            "ImplicitlyDenied",
        ),
        (
            Request(reader.logical_id, "states:GetExecutionHistory", run.replace(ACCOUNT, "210987654321")),
            "ImplicitlyDenied",
        ),
        (Request(reader.logical_id, "states:StartExecution", user), "ImplicitlyDenied"),
        (Request(reader.logical_id, "states:StopExecution", run), "ImplicitlyDenied"),
        (
            Request(
                reader.logical_id,
                "lambda:UpdateFunctionConfiguration",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:pay",
            ),
            "ImplicitlyDenied",
        ),
        (Request(reader.logical_id, "s3:PutObject", f"{bucket}/fleet/x/items.json"), "ImplicitlyDenied"),
        (
            Request(
                solver.logical_id,
                "states:DescribeExecution",
                tuner.replace(":stateMachine:", ":execution:") + ":x",
            ),
            "Allowed",
        ),
        (Request(solver.logical_id, "states:DescribeExecution", run), "ImplicitlyDenied"),
        (Request(solver.logical_id, "s3:GetObject", f"{bucket}/fleet/abc/summary.json"), "Allowed"),
        (Request(solver.logical_id, "s3:GetObject", f"{bucket}/fleet/abc/items.json"), "ImplicitlyDenied"),
        (Request(machine, "states:StartExecution", fleet), "Allowed"),
        (Request(machine, "states:StartExecution", tuner), "ImplicitlyDenied"),
        (Request(machine, "states:StartExecution", user), "ImplicitlyDenied"),
        (
            Request(machine, "states:StopExecution", fleet.replace(":stateMachine:", ":execution:") + ":w"),
            "Allowed",
        ),
        (Request(machine, "states:StopExecution", run), "ImplicitlyDenied"),
        (Request(initializer, "s3:GetObject", f"{bucket}/workflow/run-1/payloads/ab.json"), "Allowed"),
        (Request(initializer, "s3:GetObject", f"{bucket}/workflow/run-1/plan.json"), "ImplicitlyDenied"),
    ]
    verdicts = simulate(deployment, [request for request, _ in cases])
    assert [(r.role, r.action, r.resource, v) for (r, _), v in zip(cases, verdicts, strict=True)] == [
        (r.role, r.action, r.resource, expected) for r, expected in cases
    ]
    # AND the tuner's roles may not invoke or change the workflow tuner's functions
    functions = [deployment.function_arn(n) for n in WORKFLOW_FUNCTION_NAMES + FLEET_FUNCTION_NAMES]
    tries = [
        Request(lid, action, arn)
        for lid in (default_stack.role_of_function(n) for n in ("publisher", "executor", "optimizer"))
        for action in ("lambda:InvokeFunction", "lambda:UpdateFunctionConfiguration")
        for arn in functions
    ]
    assert set(simulate(deployment, tries)) == {"ExplicitlyDenied"}
