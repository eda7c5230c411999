"""Input `architectures` and code the tuner did not deploy: a user's own deploy made during a run is
kept, a replaced staged copy is never deployed, and a restore that fails is finished later.

Each case runs whole executions (moto's interpreter, powertuning/local/aws_rules.py's Lambda rules)
on an x86_64 zip function measured on both architectures, and checks the function and the run table
afterwards.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import lambdas.executor
import lambdas.publisher
from powertuning import lambda_api
from powertuning.aws import function_code
from powertuning.cli import build_parser
from powertuning.cli import clean as clean_command
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.tuner_stack import RUNS_TABLE, STAGING_BUCKET
from tests.e2e.conftest import io_plus_cpu
from tests.e2e.faults import Fault, FaultPlan
from tests.e2e.test_architectures import BOTH, arm64_duration, snapshot

TWO = {**BOTH, "powerValues": [256, 512]}


@pytest.fixture(scope="module")
def runtime() -> SimulatedRuntime:
    return SimulatedRuntime(io_plus_cpu, by_architecture={"arm64": arm64_duration})


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultPlan]:
    """Faults on every client the tuner builds, cleared after the test."""
    plan = FaultPlan()
    build = lambda_api.client
    monkeypatch.setattr(lambda_api, "client", lambda *a, **k: plan.attach(build(*a, **k)))
    yield plan
    plan.clear()


def a_users_package(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", text)
    return buffer.getvalue()


def clean(engine: LocalEngine, arn: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`powertune clean --function ARN --runs-table ...`, in-process: (exit code, what it printed)."""
    args = build_parser().parse_args(
        ["clean", "--function", arn, "--runs-table", RUNS_TABLE, "--region", "us-east-1"]
    )
    code = clean_command.run(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def before_call(module: Any, call: int, action: Callable[[], None]) -> Callable[[Any, Any], Any]:
    """The handler of `module`, doing `action` first on its `call`-th call (between two steps)."""
    real = module.handler
    count = [0]

    def handler(event: Any, context: Any) -> Any:
        count[0] += 1
        if count[0] == call:
            action()
        return real(event, context)

    return handler


@pytest.mark.parametrize(
    ("handler", "call", "running"),
    [
        ("publisher", 3, "x86_64"),  # before the switch to arm64: it would be overwritten by the switch
        ("publisher", 4, "arm64"),  # on arm64, between two sizes: the next publish and the restore
        # while measuring (the Publisher put x86_64 back after the last size): the Cleaner's restore
        ("executor", 3, "x86_64"),
    ],
    ids=["before-the-switch", "between-arm64-sizes", "while-measuring"],
)
def test_a_users_deploy_during_the_run_is_kept_and_the_run_fails_saying_so(
    engine: LocalEngine,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    handler: str,
    call: int,
    running: str,
) -> None:
    # GIVEN a run on both architectures, and the user's own UpdateFunctionCode landing between steps
    # (it keeps the description, so the run's marker stays on $LATEST)
    module = {"publisher": lambdas.publisher, "executor": lambdas.executor}[handler]
    package = a_users_package(f"# the user's release at {handler} {call}\n")
    deployed: list[str] = []

    def users_deploy() -> None:
        answer = engine.lambda_client.update_function_code(FunctionName=target, ZipFile=package)
        deployed.append(answer["CodeSha256"])

    monkeypatch.setattr(module, "handler", before_call(module, call, users_deploy))
    before = snapshot(engine, target)
    # WHEN it runs
    outcome = engine.run({"lambdaARN": target, **TWO})
    # THEN it fails with ForeignCodeError saying the deploy was kept
    assert deployed, "the user's deploy never happened"
    assert outcome.status == "FAILED"
    assert outcome.error == "ForeignCodeError", outcome.cause
    assert "kept that deploy" in str(outcome.cause)
    assert deployed[0] in str(outcome.cause)
    # AND the user's code is what $LATEST runs (never overwritten), on the architecture it landed on,
    # while memory, description, aliases, versions, the staged copy and the registration are as before
    after = snapshot(engine, target)
    assert after["codeSha256"] == deployed[0]
    assert after["architectures"] == [running]
    if running != "x86_64":
        assert "--architectures x86_64" in str(outcome.cause)
    for key in ("aliases", "versions", "memory", "description", "staged", "registered"):
        assert after[key] == before[key], key


def test_a_staged_copy_replaced_on_arm64_is_never_deployed_and_clean_finishes_once_the_code_is_fixed(
    engine: LocalEngine, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a run on arm64 whose staged copy is replaced before the restore
    s3 = engine._client("s3")

    def tamper() -> None:
        for item in s3.list_objects_v2(Bucket=STAGING_BUCKET).get("Contents", []):
            s3.put_object(Bucket=STAGING_BUCKET, Key=item["Key"], Body=a_users_package("# not yours\n"))

    monkeypatch.setattr(lambdas.publisher, "handler", before_call(lambdas.publisher, 4, tamper))
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **TWO})
    # THEN the run fails with CleanupError saying the copy was replaced and never deployed
    assert outcome.status == "FAILED"
    assert outcome.error == "CleanupError", outcome.cause
    assert "replaced (tampered with)" in str(outcome.cause)
    assert "never deployed" in str(outcome.cause)
    # AND $LATEST still runs the original package (on arm64); memory and description are back anyway;
    # the run stays registered
    left = snapshot(engine, target)
    assert (left["codeSha256"], left["architectures"]) == (before["codeSha256"], ["arm64"])
    assert (left["memory"], left["description"]) == (before["memory"], before["description"])
    assert left["registered"]
    # WHEN `powertune clean` runs, twice THEN it refuses each time and deploys nothing
    for _ in range(2):
        code, printed = clean(engine, target, capsys)
        assert code == 1
        assert "never deployed" in printed
        assert snapshot(engine, target) == left
    # WHEN the user deploys their code on x86_64 themselves THEN clean keeps it and ends the run
    fixed = engine.lambda_client.update_function_code(
        FunctionName=target, ZipFile=a_users_package("# fixed\n"), Architectures=["x86_64"]
    )
    code, printed = clean(engine, target, capsys)
    assert code == 0, printed
    after = snapshot(engine, target)
    assert after["codeSha256"] == fixed["CodeSha256"]
    assert after["architectures"] == ["x86_64"]
    for key in ("aliases", "versions", "memory", "description", "staged", "registered"):
        assert after[key] == before[key], key


@pytest.mark.parametrize("finisher", ["recovery rule", "powertune clean"])
def test_a_restore_whose_update_function_code_fails_stays_registered_until_finished(
    engine: LocalEngine,
    target: str,
    faults: FaultPlan,
    capsys: pytest.CaptureFixture[str],
    finisher: str,
) -> None:
    # GIVEN a run whose switch to arm64 works and whose every restore of the code is refused
    faults.faults.append(Fault("lambda.UpdateFunctionCode", "AccessDeniedException", after=1))
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **TWO})
    # THEN it fails with CleanupError; the run stays registered on arm64, its memory back, its marker
    # kept on $LATEST (the restore may still work)
    assert outcome.status == "FAILED"
    assert outcome.error == "CleanupError", outcome.cause
    assert outcome.recovery is not None
    assert "error" in outcome.recovery  # the recovery rule's attempts met the same refusal
    left = snapshot(engine, target)
    assert left["registered"]
    assert left["architectures"] == ["arm64"]
    assert left["memory"] == before["memory"]
    assert left["description"].startswith("powertuning ")
    # WHEN the refusal is gone and the recovery rule fires again, or `powertune clean` runs
    faults.clear()
    if finisher == "recovery rule":
        recovered = engine.recover(outcome.execution_arn, outcome.status)
        assert "error" not in recovered, recovered
    else:
        code, printed = clean(engine, target, capsys)
        assert code == 0, printed
        assert "restore $LATEST to x86_64 with its original code" in printed
    # THEN the original architecture and code are back, verified, and nothing is left
    assert snapshot(engine, target) == before


@pytest.mark.parametrize("finisher", ["recovery rule", "powertune clean"])
def test_a_restore_whose_codesha256_does_not_match_stays_registered_until_finished(
    engine: LocalEngine,
    target: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    finisher: str,
) -> None:
    # GIVEN restores that deploy other code than the copy they verified (swapped in between, while
    # `swapping` holds)
    real = function_code.update_code
    s3 = engine._client("s3")
    swapping = [True]

    def swapped_after_the_check(client: Any, name: str, bucket: str, key: str, architecture: str) -> None:
        if architecture != "x86_64" or not swapping[0]:
            real(client, name, bucket, key, architecture)
            return
        original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=key, Body=a_users_package("# swapped\n"))
        real(client, name, bucket, key, architecture)
        s3.put_object(Bucket=bucket, Key=key, Body=original)

    monkeypatch.setattr(function_code, "update_code", swapped_after_the_check)
    before = snapshot(engine, target)
    outcome = engine.run({"lambdaARN": target, **TWO})
    # THEN the mismatch is not taken for a success: CleanupError naming the hashes, still registered,
    # and $LATEST marked as running the run's own (mis)deploy, not somebody's
    assert outcome.status == "FAILED"
    assert outcome.error == "CleanupError", outcome.cause
    assert "not the original" in str(outcome.cause)
    left = snapshot(engine, target)
    assert left["registered"]
    assert left["codeSha256"] != before["codeSha256"]
    assert " restoring " in left["description"]
    # WHEN the swapping stops and the recovery rule fires again, or `powertune clean` runs
    swapping[0] = False
    if finisher == "recovery rule":
        recovered = engine.recover(outcome.execution_arn, outcome.status)
        assert "error" not in recovered, recovered
    else:
        code, printed = clean(engine, target, capsys)
        assert code == 0, printed
    # THEN the original code is back on x86_64, verified, and nothing is left
    assert snapshot(engine, target) == before
