"""Least privilege judged by an IAM policy simulator this project did not write
(@cloud-copilot/iam-simulate), over the calls whole executions really make.

A fixed set of e2e scenarios (REPRESENTATIVE: fixed and adaptive runs, a crash and a stop recovered,
`powertune clean`, the code and image switches of `architectures`, a fleet) runs in a pytest
subprocess with tests/iam_recording.py on; every call a role made is then evaluated against that
role's policies in the synthesized template (tests/infrastructure/iam_simulation.py):

- every recorded call is allowed;
- the cross-boundary attempts below are denied for every role;
- every allowed (action, resource) of the template is used by a recorded call, or listed in
  UNUSED_BY_DESIGN with its reason.

The calls of the whole e2e suites of a session are judged too, when they ran (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter

import pytest

from stacks.lambda_asset import asset_files
from stacks.tuner_actions import SELF_DENIED_ACTIONS
from tests.iam_recording import ACCOUNT, RECORD_ENV, REGION, Call, read_calls
from tests.infrastructure.code_calls import actions_by_handler
from tests.infrastructure.iam_simulation import (
    ENGINE_MACHINES,
    Deployment,
    Request,
    requests_of,
    simulate,
    unused_grants,
)
from tests.infrastructure.synthesis import (
    ASSETS,
    FLEET_FUNCTION_NAMES,
    FUNCTION_NAMES,
    LOG_DELIVERY_ACTIONS,
    REPO_ROOT,
    TRACING_ACTIONS,
    WORKFLOW_FUNCTION_NAMES,
    Synthesized,
)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not (REPO_ROOT / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir(),
    reason="needs Node.js and `npm ci` (make test runs it)",
)

# Scenarios that together make every call the roles are granted (see test_every_grant_is_used...).
_FAULT = "tests/e2e/test_faults.py::test_fault_leaves_the_function_as_it_was"
_ARCH = "tests/e2e/test_architectures.py::test_a"
REPRESENTATIVE = (
    "tests/e2e/test_fleet.py::test_powertune_fleet_waits_prints_the_ranking_writes_the_report_and_gates",
    "tests/e2e/test_fleet.py::test_a_selector_skips_the_tuners_own_functions",
    # A workflow tuned and its picks applied: the reader, a nested fleet run, the solver, the apply run.
    "tests/e2e/test_workflow.py::test_auto_optimize_applies_every_pick_through_the_tuners_optimizer",
    f"{_FAULT}[optimizer: alias update refused]",
    f"{_FAULT}[cold starts: publish fails at the 4th alias]",
    f"{_ARCH}n_execution_stopped_on_arm64_is_recovered_to_its_original_architecture_and_code[switching-to-arm64]",
    f"{_ARCH}_layer_that_does_not_support_arm64_is_refused_before_anything_changes",
    # The Cleaner putting the original code back, whatever the stopped run above left to it.
    "tests/e2e/test_code_ownership.py::test_a_restore_whose_update_function_code_fails_stays_registered"
    "_until_finished[recovery rule]",
)

# Grants no local scenario can use, each with the reason it is in the template.
_TRACING = "active tracing: the service sends trace segments with the role; X-Ray offers only Resource *"
_LOG_DELIVERY = (
    "Step Functions sets up the machine's log delivery with the role when it is created or updated "
    "(at deploy, not in an execution); CloudWatch Logs offers only Resource *"
)
UNUSED_BY_DESIGN: dict[str, str] = {
    **dict.fromkeys(TRACING_ACTIONS, _TRACING),
    **dict.fromkeys(LOG_DELIVERY_ACTIONS, _LOG_DELIVERY),
}

# What Step Functions does for a machine that moto's interpreter leaves out or no scenario reaches.
SERVICE_ONLY: dict[tuple[str, str], str] = {
    ("fleet", "s3:AbortMultipartUpload"): "the ResultWriter writes large results by multipart upload",
    ("fleet", "s3:ListMultipartUploadParts"): "the ResultWriter writes large results by multipart upload",
    (
        "fleet",
        "states:StopExecution",
    ): "a stopped fleet execution stops its `.sync` children and child workflows",
    (
        "fleet",
        "states:DescribeExecution",
    ): "a Distributed Map's child workflows (moto runs the items in-process)",
}
SERVICE_ONLY[("workflow", "states:StopExecution")] = "a stopped workflow tuning stops its `.sync` fleet run"
# Grants only an input no representative scenario gives uses: a workflow whose payloads are too large
# for the fleet's input (tests/unit/test_workflow_fleet_runs.py), one read by recentExecutions, a
# Distributed Map's runs.
WORKFLOW_INPUT_PATHS: set[tuple[str, str]] = {
    ("initializer", "s3:GetObject"),
    ("executor", "s3:GetObject"),
    ("workflow_reader", "states:ListExecutions"),
    ("workflow_reader", "states:DescribeMapRun"),
}
# Calls a handler's code makes only on a path no e2e scenario takes (checked against code_calls.py).
ERROR_PATHS_NOT_RUN: set[tuple[str, str]] = {
    ("fleet_resolver", "lambda:ListTags"),
    ("cleaner", "lambda:CreateAlias"),
    ("cleaner", "lambda:GetAlias"),
    ("cleaner", "lambda:UpdateAlias"),
    ("executor", "lambda:GetFunctionConfiguration"),
    ("initializer", "s3:DeleteObject"),
    ("optimizer", "lambda:DeleteAlias"),
    ("optimizer", "lambda:DeleteFunction"),
    ("optimizer", "lambda:ListAliases"),
    ("optimizer", "lambda:ListVersionsByFunction"),
    ("optimizer", "lambda:UpdateAlias"),
    ("optimizer", "lambda:UpdateFunctionCode"),
    ("optimizer", "s3:DeleteObject"),
    ("optimizer", "s3:GetObject"),
    ("publisher", "lambda:GetAlias"),  # only when CreateAlias finds the alias taken
    ("publisher", "lambda:UpdateAlias"),
}

# Calls only an input no representative scenario gives makes: coldStartRate "production" (moto cannot
# run a Logs Insights query; tests/functional/test_cold_rate.py answers as it would), and any rate's
# provisioned concurrency read.
INPUT_PATHS_NOT_RUN: set[tuple[str, str]] = {
    ("initializer", "logs:StartQuery"),
    ("initializer", "logs:GetQueryResults"),
    # coldStartRate: read in tests/functional/test_start_billing.py and the cold-start e2e tests,
    # which no representative scenario is.
    ("initializer", "lambda:ListProvisionedConcurrencyConfigs"),
    *WORKFLOW_INPUT_PATHS,
}

# Calls a scenario makes or not depending on where its stop lands (checked against code_calls.py):
# the arm64 run is stopped mid-way, and whichever step puts the original code back (the Publisher
# after its arm64 sizes, or the Cleaner recovering) deletes the staged copy.
DEPENDS_ON_TIMING: set[tuple[str, str]] = {("publisher", "s3:DeleteObject")}

NOT_RUN = ERROR_PATHS_NOT_RUN | DEPENDS_ON_TIMING | INPUT_PATHS_NOT_RUN

TARGET = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:checkout"
OTHER_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:payments"
OTHER_EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:payments:run-1"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Counter[Call]:
    """The calls of the REPRESENTATIVE scenarios, run in a subprocess with recording on."""
    folder = tmp_path_factory.mktemp("iam-calls")
    env = {**os.environ, RECORD_ENV: str(folder), "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *REPRESENTATIVE,
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO_ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    calls, unmapped = read_calls(folder)
    assert not unmapped, f"operations tests/iam_recording.py cannot map to IAM: {sorted(unmapped)}"
    return calls


@pytest.fixture(scope="module")
def deployment(architectures_stack: Synthesized) -> Deployment:
    # The scenarios include the architectures switches, which only a deploy with
    # `-c architectures=true` allows: its template's grants are the default's plus the code-changing
    # ones (tests/infrastructure/test_iam.py checks the default has none of those).
    return Deployment(architectures_stack)


@pytest.fixture(scope="module")
def verdicts(deployment: Deployment, recorded: Counter[Call]) -> dict[Request, str]:
    """The simulator's verdict on each recorded call and each attempt, in one run of it."""
    requests = sorted(set(requests_of(deployment, recorded)) | set(attempts(deployment)), key=repr)
    return dict(zip(requests, simulate(deployment, requests), strict=True))


def attempts(deployment: Deployment) -> list[Request]:
    """What no role may do: act on the tuner's or the fleet's own functions, IAM, function URLs and
    resource policies, delete a whole function, another state machine's executions."""
    tuner = {deployment.function_arn(n) for n in FUNCTION_NAMES}
    fleet = {deployment.function_arn(n) for n in FLEET_FUNCTION_NAMES}
    workflow = {deployment.function_arn(n) for n in WORKFLOW_FUNCTION_NAMES}
    machine_roles = {
        deployment.role_of(p): tasks
        for p, tasks in (
            ("stateMachine:powertuning-local", tuner),
            ("stateMachine:powertuning-fleet", fleet),
            ("stateMachine:powertuning-workflow", workflow),
        )
    }
    found = []
    for lid, role in deployment.roles.items():
        for function in sorted(tuner | fleet | workflow):
            for action in SELF_DENIED_ACTIONS:
                if action == "lambda:InvokeFunction" and function in machine_roles.get(lid, ()):
                    continue  # a state machine invokes its own Task functions: its job
                found += [Request(lid, action, function), Request(lid, action, f"{function}:1")]
        found += [
            Request(lid, action, role.arn)
            for action in (
                "iam:PassRole",
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:UpdateAssumeRolePolicy",
            )
        ]
        found += [Request(lid, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/escalated")]
        found += [
            Request(lid, action, resource)
            for action in (
                "lambda:CreateFunctionUrlConfig",
                "lambda:UpdateFunctionUrlConfig",
                "lambda:AddPermission",
            )
            for resource in (TARGET, f"{TARGET}:RAM256")
        ]
        found += [Request(lid, "lambda:DeleteFunction", TARGET)]
        found += [
            Request(lid, "states:StartExecution", OTHER_MACHINE),
            Request(lid, "states:StopExecution", OTHER_EXECUTION),
        ]
        # The WorkflowReader reads any workflow of the account and region (its job): no other role
        if lid != _workflow_reader(deployment):
            found.append(Request(lid, "states:DescribeExecution", OTHER_EXECUTION))
    return found


def test_every_recorded_call_is_allowed(
    deployment: Deployment,
    recorded: Counter[Call],
    verdicts: dict[Request, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the calls of the representative scenarios, from every kind of principal
    principals = {c.principal.split(":")[0] for c in recorded}
    assert principals == {"function", "stateMachine"}
    assert {c.source for c in recorded} == {"sdk", "runtime", "service"}
    # WHEN each is judged against its role's policies THEN each is allowed
    requests = {request: call for call in recorded for request in requests_of(deployment, [call])}
    refused = sorted(
        f"{c.principal} {c.action} {c.resource}: {verdicts[r]}"
        for r, c in requests.items()
        if verdicts[r] != "Allowed"
    )
    assert not refused, "\n".join(refused)
    with capsys.disabled():
        print(
            f"\nIAM simulated: {len(requests)} distinct calls ({sum(recorded.values())} made) evaluated, "
            "all allowed"
        )


def test_cross_boundary_attempts_are_denied_for_every_role(
    deployment: Deployment, verdicts: dict[Request, str], capsys: pytest.CaptureFixture[str]
) -> None:
    tried = attempts(deployment)
    assert len({r.role for r in tried}) == len(deployment.roles) == 13
    allowed = sorted(
        f"{r.role} {r.action} {r.resource}: {verdicts[r]}"
        for r in tried
        if verdicts[r] not in ("ImplicitlyDenied", "ExplicitlyDenied")
    )
    assert not allowed, "\n".join(allowed)
    explicit = sum(verdicts[r] == "ExplicitlyDenied" for r in tried)
    with capsys.disabled():
        print(
            f"IAM simulated: {len(tried)} cross-boundary attempts denied as intended "
            f"({explicit} by an explicit deny)"
        )


def _workflow_reader(deployment: Deployment) -> str:
    return deployment.role_of("function:workflow_reader")


def test_another_tuner_stacks_executions_are_denied(deployment: Deployment) -> None:
    other = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:powerTuningStateMachine-0ther5tack:run-1"
    # (the WorkflowReader reads any execution of the account and region: a workflow's history)
    requests = [
        Request(lid, "states:DescribeExecution", other)
        for lid in deployment.roles
        if lid != _workflow_reader(deployment)
    ]
    assert set(simulate(deployment, requests)) <= {"ImplicitlyDenied", "ExplicitlyDenied"}


def test_on_the_default_deploy_no_role_can_change_code_and_the_boundaries_hold(
    default_stack: Synthesized,
) -> None:
    # GIVEN the template of a deploy without options
    default = Deployment(default_stack)
    # WHEN every role tries to change an ordinary function's code, and the cross-boundary attempts
    code = [
        Request(lid, "lambda:UpdateFunctionCode", resource)
        for lid in default.roles
        for resource in (TARGET, f"{TARGET}:1")
    ]
    verdicts = simulate(default, [*code, *attempts(default)])
    # THEN the simulator denies every one
    assert set(verdicts) <= {"ImplicitlyDenied", "ExplicitlyDenied"}, sorted(
        f"{r.role} {r.action} {r.resource}: {v}"
        for r, v in zip([*code, *attempts(default)], verdicts, strict=True)
        if v == "Allowed"
    )


def test_every_grant_is_used_or_listed_with_its_reason(
    deployment: Deployment,
    recorded: Counter[Call],
    verdicts: dict[Request, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    allowed = [r for r in requests_of(deployment, recorded) if verdicts[r] == "Allowed"]
    handlers = {
        deployment.role_of(p): p.split(":", 1)[1] for p in deployment.principals if p.startswith("function:")
    }
    machines = {
        deployment.role_of(p): ENGINE_MACHINES[p.split(":", 1)[1]]
        for p in deployment.principals
        if p.startswith("stateMachine:")
    }
    # Each handler's calls, over the asset its function runs.
    code = {
        **actions_by_handler(REPO_ROOT, asset_files(ASSETS["tuner"]), FUNCTION_NAMES + FLEET_FUNCTION_NAMES),
        **actions_by_handler(REPO_ROOT, asset_files(ASSETS["workflow"]), WORKFLOW_FUNCTION_NAMES),
    }
    unused, listed = [], set()
    for lid, action, pattern in unused_grants(deployment, allowed):
        if action in UNUSED_BY_DESIGN:
            listed.add(action)
        elif lid in machines and (machines[lid], action) in SERVICE_ONLY:
            listed.add((machines[lid], action))
        elif (
            lid in handlers
            and (handlers[lid], action) in ERROR_PATHS_NOT_RUN | DEPENDS_ON_TIMING | INPUT_PATHS_NOT_RUN
        ):
            # the reason given is checked: the handler's code can reach the call
            # (UpdateFunctionCode from S3: Lambda reads the object with the caller's s3:GetObject)
            reachable = code[handlers[lid]]
            if "lambda:UpdateFunctionCode" in reachable:
                reachable = reachable | {"s3:GetObject"}
            assert action in reachable, (lid, action)
            listed.add((handlers[lid], action))
        else:
            unused.append(f"{lid} {action} {pattern}")
    assert not unused, "granted but never used by a recorded call:\n" + "\n".join(sorted(unused))
    # Every reason given is for a grant that exists (a stale entry fails too): unused, or used this
    # time by a scenario whose interleaving varies (a stop lands where it lands).
    names = handlers | machines
    used = {r.action for r in allowed} | {(names.get(r.role), r.action) for r in allowed}
    expected = (
        set(UNUSED_BY_DESIGN)
        | set(SERVICE_ONLY)
        | ERROR_PATHS_NOT_RUN
        | DEPENDS_ON_TIMING
        | INPUT_PATHS_NOT_RUN
    )
    assert listed <= expected
    assert not {entry for entry in expected - listed if entry not in used}, "listed but not granted"
    with capsys.disabled():
        print(f"IAM simulated: 0 unused grants ({len(listed)} listed with their reasons)")


def test_the_recorder_maps_what_the_template_resolves(deployment: Deployment) -> None:
    # The ARNs compared are the same strings on both sides: a machine renamed, a log group resolved.
    tuner = deployment.machine_arn("tuner")
    assert (
        deployment.translate(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:powertuning-local:x")
        == tuner.replace(":stateMachine:", ":execution:") + ":x"
    )
    policy = json.dumps([r.policies for r in deployment.roles.values()])
    assert "Fn::" not in policy
    assert '"Ref"' not in policy
    assert "log-group:/aws/lambda/powertuning-initializer:*" in policy
