"""`powertune run`, `fleet`, `clean` and `report` over real HTTP: the installed entry point as a
subprocess, against moto in server mode through --endpoint-url.

The tuner is deployed in the server as the local engine deploys it (tests/moto_server.py): the same
functions, table, bucket and state machines, the handlers answering in the server's threads, the
targets answered by simulated runtimes. The CLI process knows nothing of that: it has a user's
environment (credentials in env vars or a credentials file, a region from the config file), finds
the state machines and the run table in the stack's outputs, pages through Lambda's listings (the
server pages them as Lambda does, 50 a page) and retries a throttled call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.awslambda.responses import LambdaResponse
from moto.stepfunctions.responses import StepFunctionResponse

import powertuning.aws
from powertuning import lambda_api
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.target import FunctionSpec, InvokeResult
from powertuning.local.tuner_stack import RUNS_TABLE
from tests.e2e.conftest import io_plus_cpu
from tests.e2e.fleet_world import fleet_deployed
from tests.moto_server import Completed, ServerEngine, client_environment, intercepted, run_powertune

pytestmark = pytest.mark.slow

STACK = "PowerTuningUnderTest"
SIZES = "256,512,1024"
FILLERS = 50  # functions listed before the fleet's: its own are on the second page of ListFunctions


class HeldRuntime:
    """Simulated targets; a function named in `held` waits at its first invocation until released."""

    def __init__(self) -> None:
        self.simulated = SimulatedRuntime(io_plus_cpu, min_memory_mb=256)
        self.held: set[str] = set()
        self.reached = threading.Event()
        self.release = threading.Event()
        self.mode = "simulated"

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        if spec.function_name in self.held:
            self.reached.set()
            self.release.wait(timeout=60)
        return self.simulated.invoke(spec, event)

    def close(self) -> None:
        self.release.set()
        self.simulated.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerEngine]:
    """The tuner and the fleet deployed in a moto server, and a stack with their outputs."""
    with pytest.MonkeyPatch.context() as patch, ServerEngine(HeldRuntime()) as engine:
        patch.setattr(powertuning.aws, "sleep", lambda _s: None)  # this process's handlers only
        with fleet_deployed(engine) as fleet_arn:
            engine.publish_outputs(
                STACK,
                {
                    "StateMachineArn": engine.state_machine_arn,
                    "RunsTableName": RUNS_TABLE,
                    "FleetArn": fleet_arn,
                },
            )
            yield engine


@pytest.fixture
def powertune(server: ServerEngine, tmp_path: Path) -> Callable[..., Completed]:
    """`powertune(*args, credentials="env")`: the CLI as a subprocess, pointed at the server."""

    def run(*args: str, credentials: str = "env") -> Completed:
        home = tmp_path / f"home-{credentials}"
        home.mkdir(exist_ok=True)
        env = client_environment(home, credentials=credentials)
        return run_powertune(env, *args, "--endpoint-url", server.endpoint_url)

    return run


_names = iter(range(10_000))


def _target(server: ServerEngine, prefix: str = "target") -> tuple[str, str]:
    name = f"{prefix}-{next(_names)}"
    arn = server.create_target(name=name, handler="app.handler", code_dir=None, memory_mb=1024)
    server.lambda_client.update_function_configuration(FunctionName=name, Description="the user's own")
    return name, arn


def _state(server: ServerEngine, name: str) -> dict[str, Any]:
    client = server.lambda_client
    latest = client.get_function_configuration(FunctionName=name)
    registered = server._client("dynamodb").get_item(
        TableName=RUNS_TABLE, Key={"functionArn": {"S": latest["FunctionArn"]}}
    )
    return {
        "aliases": len(lambda_api.list_aliases(client, latest["FunctionArn"])),
        "versions": [v["Version"] for v in lambda_api.list_versions(client, latest["FunctionArn"])],
        "memory": latest["MemorySize"],
        "description": latest["Description"],
        "registered": "Item" in registered,
    }


CLEAN = {"aliases": 0, "versions": ["$LATEST"], "memory": 1024, "description": "the user's own"}


def test_run_then_report_the_execution_arn(server, powertune, tmp_path):
    # GIVEN a function, and a user whose credentials are in env vars
    name, arn = _target(server)

    # WHEN they tune it through the stack's outputs, then render the execution by its ARN
    with intercepted(StepFunctionResponse, "start_execution") as started:
        ran = powertune(
            "run", "--function", arn, "--power-values", SIZES, "--num", "5", "--stack-name", STACK
        )
    assert ran.code == 0, ran.err
    assert started.access_keys == ["AKIDSERVERTEST"]
    execution = next(
        line.split()[2] for line in ran.err.splitlines() if line.startswith("powertune: execution ")
    )
    html = tmp_path / "report.html"
    reported = powertune("report", execution, "--html", str(html))

    # THEN both print the recommendation, the page is written and the function is as it was
    assert reported.code == 0, reported.err
    assert "256 MB" in ran.out
    assert "256 MB" in reported.out
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert name in page
    assert _state(server, name) == {**CLEAN, "registered": False}


def test_credentials_and_region_from_the_shared_files_sign_every_call(server, powertune):
    # GIVEN a user whose only credentials are in AWS_SHARED_CREDENTIALS_FILE (region in AWS_CONFIG_FILE)
    name, arn = _target(server)

    # WHEN they start a tuning without waiting
    with intercepted(StepFunctionResponse, "start_execution") as started:
        ran = powertune("run", "--function", arn, "--power-values", SIZES, "--num", "5",
                        "--stack-name", STACK, "--no-wait", credentials="file")  # fmt: skip

    # THEN the start was signed with the file's key, and the execution runs to its end
    assert ran.code == 0, ran.err
    assert started.access_keys == ["AKIDFROMFILE"]
    assert server.wait(ran.out.strip(), poll_s=0.05).status == "SUCCEEDED"
    assert _state(server, name) == {**CLEAN, "registered": False}


def test_no_credentials_anywhere_starts_nothing(server, powertune):
    _name, arn = _target(server)
    before = server.sfn_client.list_executions(stateMachineArn=server.state_machine_arn)["executions"]

    ran = powertune("run", "--function", arn, "--stack-name", STACK, credentials="none")

    assert ran.code == 2
    assert "nothing was started" in ran.err
    assert "Unable to locate credentials" in ran.err
    after = server.sfn_client.list_executions(stateMachineArn=server.state_machine_arn)["executions"]
    assert len(after) == len(before)


def test_throttled_calls_are_retried_once_and_start_one_execution(server, powertune):
    # GIVEN a server that throttles the first GetFunctionConfiguration (Lambda, HTTP 429) and the
    # first StartExecution (Step Functions) it is sent
    _name, arn = _target(server)
    before = server.sfn_client.list_executions(stateMachineArn=server.state_machine_arn)["executions"]

    with (
        intercepted(LambdaResponse, "get_function_configuration", throttle=1, code="TooManyRequestsException",
                    status=429) as configuration,
        intercepted(StepFunctionResponse, "start_execution", throttle=1) as started,
    ):  # fmt: skip
        ran = powertune("run", "--function", arn, "--power-values", SIZES, "--num", "5",
                        "--stack-name", STACK, "--expect-current", "--output", "json")  # fmt: skip

    # THEN each throttled call was made again, one execution started, and it succeeded
    assert started.refused == 1
    assert started.calls == 2
    assert configuration.refused == 1
    assert configuration.calls >= 2
    after = server.sfn_client.list_executions(stateMachineArn=server.state_machine_arn)["executions"]
    assert len(after) == len(before) + 1
    # --expect-current compares with the 1,024 MB read (after its retry) before the run
    assert ran.code == 3, ran.err
    assert "the function has 1024 MB but 256 MB is recommended" in ran.err
    assert json.loads(ran.out)["power"] == 256


def test_clean_pages_through_every_version_and_alias_of_a_stopped_run(server, powertune):
    # GIVEN a cold-start run (a version and an alias per invocation: 60 of each, two pages) stopped
    # while its first invocation was under way, and no recovery rule (the user cleans up by hand)
    name, arn = _target(server)
    runtime: HeldRuntime = server.runtime  # type: ignore[assignment]
    runtime.held.add(name)
    execution = server.start(
        {"lambdaARN": arn, "powerValues": [256, 512, 1024], "num": 20, "onlyColdStarts": True}
    )
    assert runtime.reached.wait(timeout=60), "the run never invoked its target"
    server.sfn_client.stop_execution(executionArn=execution)
    runtime.release.set()
    first_page = server.lambda_client.list_aliases(FunctionName=name)
    assert len(first_page["Aliases"]) == 50
    assert first_page["NextMarker"]
    left = _state(server, name)
    assert left["aliases"] == 60
    assert len(left["versions"]) == 61  # $LATEST and the run's 60
    assert left["registered"]

    # WHEN the user runs `powertune clean` (dry run first)
    dry = powertune("clean", "--function", arn, "--stack-name", STACK, "--dry-run")
    cleaned = powertune("clean", "--function", arn, "--stack-name", STACK)

    # THEN the plan names all 60 of each, and nothing of the run is left
    assert dry.code == 0, dry.err
    assert dry.out.count("RAM1024-") >= 20
    assert cleaned.code == 0, cleaned.err
    assert _state(server, name) == {**CLEAN, "registered": False}


def test_fleet_selects_by_prefix_across_pages_and_tunes_each(server, powertune, tmp_path):
    # GIVEN more functions than one ListFunctions page, the fleet's two listed last
    for i in range(FILLERS):
        server.create_target(name=f"filler-{i}", handler="app.handler", code_dir=None)
    fleet = [_target(server, "fleetmember") for _ in range(2)]

    # WHEN the user tunes every function named fleetmember-* and waits for the fleet
    tuning = tmp_path / "tuning.json"
    tuning.write_text(json.dumps({"powerValues": [256, 512, 1024], "num": 5}), encoding="utf-8")
    ran = powertune("fleet", "--prefix", "fleetmember-", "--input-file", str(tuning), "--stack-name", STACK,
                    "--wait", "--output", "json", "--poll-interval", "0.2")  # fmt: skip

    # THEN both were found (on the second page) and tuned, and left as they were
    assert ran.code == 0, ran.err
    summary = json.loads(ran.out)
    assert summary["failed"] == summary["skipped"] == [], summary["failed"]
    assert sorted(f["functionArn"] for f in summary["functions"]) == sorted(arn for _, arn in fleet)
    assert {f["recommendedMemory"] for f in summary["functions"]} == {256}
    for name, _arn in fleet:
        assert _state(server, name) == {**CLEAN, "registered": False}


def test_without_endpoint_url_no_call_leaves_the_machine(server, tmp_path):
    # What makes the tests above mean something: a client that ignored --endpoint-url would reach
    # for AWS, and the proxy in the CLI's environment refuses that call (here: no --endpoint-url).
    _name, arn = _target(server)
    home = tmp_path / "home-direct"
    home.mkdir()
    env = client_environment(home)
    direct = run_powertune(env, "run", "--function", arn, "--stack-name", STACK)

    assert direct.code == 2
    assert "nothing was started" in direct.err
    assert "proxy" in direct.err.lower()
