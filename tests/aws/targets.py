"""Where the real-account tier deploys the tuner: a real account (`AccountTarget`) or moto in
server mode (`MotoTarget`); the tests in this folder are the same for both.

- `AccountTarget` runs `npx cdk deploy` (the npm CLI in package.json) with a unique stack name,
  reads the stack's outputs from CloudFormation, waits for the stack's own EventBridge recovery rule
  to clean up a stopped execution, and runs `npx cdk destroy` at the end.
- `MotoTarget` synthesizes the same CDK app and deploys the template's resources the way the local
  engine does (tests/moto_server.py: the tuner's functions, run table, staging bucket and state
  machine in a ThreadedMotoServer), checked against the template: every tuner function in it is
  deployed, the recovery rule sends the status the test waits for to the Cleaner. moto emits no
  Step Functions status-change events, so `recover` does what the rule does: it sends the rule's
  event (source aws.states, the execution's ARN and status) to the Cleaner, once, as EventBridge
  would, and then waits exactly as on AWS.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import boto3
from moto.awslambda.models import LambdaFunction

from powertuning import aws
from powertuning.local.runtime import WorkerRuntime
from powertuning.local.target import FunctionSpec
from powertuning.local.tuner_stack import TUNERS
from tests.moto_server import ServerEngine

ROOT = Path(__file__).resolve().parents[2]
RECOVERY_WAIT_S = 300  # EventBridge delivers within seconds; it retries a failing Cleaner for longer
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class Target(Protocol):
    """A place the tuner is deployed to, with clients of it."""

    name: str
    outputs: dict[str, str]

    def deploy(self) -> None:
        """Deploy a scratch tuner stack; fill `outputs`."""

    def client(self, service: Any) -> Any:
        """A boto3 client of the target (the tuner's retry policy)."""

    def function_role(self) -> str:
        """The ARN of a role a sample function can run with."""

    def recover(self, execution_arn: str, status: str) -> None:
        """Let the recovery rule act on an execution that ended with `status`."""

    def destroy(self) -> None:
        """Remove everything `deploy` and `function_role` created."""


def sample_zip(example: str) -> bytes:
    """A deployment package of examples/<example>/handler.py (handler `handler.handler`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(ROOT / "examples" / example / "handler.py", "handler.py")
    return buffer.getvalue()


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 2.0) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s:.0f} s")
        time.sleep(poll_s)


# -- a real account ---------------------------------------------------------------------------
def credentials_missing() -> str | None:
    """Why the real-account tier cannot run here, or None (boto3's default credential chain)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return "AWS_ENDPOINT_URL is set: the real-account tier deploys to AWS itself"
    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        return "no AWS credentials (env vars, AWS_PROFILE, credentials file, SSO or instance role)"
    if credentials.access_key == "testing":
        return "only the test suite's fake credentials are set"
    if not session.region_name:
        return "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION"
    return None


class AccountTarget:
    """A scratch stack in the account and region of boto3's default chain."""

    def __init__(self) -> None:
        self.name = f"PowerTuningTest{uuid.uuid4().hex[:8]}"
        self.outputs: dict[str, str] = {}
        self.region = str(boto3.Session().region_name)
        self._role: str | None = None
        self._out = Path(tempfile.mkdtemp(prefix="powertuning-aws-"))

    def _cdk(self, *args: str) -> None:
        context = ["-c", f"stackName={self.name}", "-c", f"stateMachineNamePrefix={self.name}"]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        subprocess.run(["npx", "cdk", *args, *context], cwd=ROOT, env=env, check=True, timeout=1800)

    def deploy(self) -> None:
        outputs = self._out / "outputs.json"
        self._cdk("deploy", self.name, "--require-approval", "never", "--outputs-file", str(outputs))
        self.outputs = json.loads(outputs.read_text(encoding="utf-8"))[self.name]

    def client(self, service: Any) -> Any:
        return aws.client(service, self.region)

    def function_role(self) -> str:
        iam = self.client("iam")
        name = f"{self.name}-sample"
        if self._role:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=BASIC_EXECUTION)
        self._role = name
        time.sleep(10)  # IAM is eventually consistent: Lambda refuses a role it cannot assume yet
        return str(arn)

    def recover(self, execution_arn: str, status: str) -> None:
        # The stack's rule does it: nothing to send. The test waits for its effects.
        del execution_arn, status

    def destroy(self) -> None:
        try:
            self._cdk("destroy", self.name, "--force")
        finally:
            if self._role:
                iam = self.client("iam")
                iam.detach_role_policy(RoleName=self._role, PolicyArn=BASIC_EXECUTION)
                iam.delete_role(RoleName=self._role)
            shutil.rmtree(self._out, ignore_errors=True)


# -- moto in server mode ----------------------------------------------------------------------
class _ZipEngine(ServerEngine):
    """The engine, running a function created from a zip from that zip (moto keeps the package)."""

    def __init__(self) -> None:
        super().__init__(WorkerRuntime())
        self._unpacked: dict[str, Path] = {}
        self._unpacking = threading.Lock()  # the server answers concurrent invocations in threads
        self._packages = Path(tempfile.mkdtemp(prefix="powertuning-zips-"))

    def spec_for(self, fn: LambdaFunction) -> FunctionSpec:
        spec = super().spec_for(fn)
        if spec.code_dir is not None or fn.function_name.removeprefix("powertuning-") in TUNERS:
            return spec
        sha = str(fn.code_sha_256)
        with self._unpacking:
            if sha not in self._unpacked:
                folder = self._packages / sha[:16].replace("/", "_")
                with zipfile.ZipFile(io.BytesIO(bytes(fn.code_bytes))) as archive:
                    archive.extractall(folder)
                self._unpacked[sha] = folder
            return replace(spec, code_dir=self._unpacked[sha])

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        shutil.rmtree(self._packages, ignore_errors=True)


def synthesized_template(stack_name: str) -> dict[str, Any]:
    """The CDK app's template (defaults), as `cdk deploy` would deploy it."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from stacks import PowerTuningStack

    return dict(Template.from_stack(PowerTuningStack(cdk.App(), stack_name)).to_json())


class MotoTarget:
    """The synthesized template's tuner, deployed into moto's server as the local engine does."""

    def __init__(self) -> None:
        self.name = "PowerTuningTestMoto"
        self.outputs: dict[str, str] = {}
        self.engine = _ZipEngine()
        self._recovered_statuses: list[str] = []

    def deploy(self) -> None:
        template = synthesized_template(self.name)
        resources = template["Resources"]
        handlers = {
            r["Properties"]["Handler"]: key
            for key, r in resources.items()
            if r["Type"] == "AWS::Lambda::Function"
        }
        missing = [name for name in TUNERS if f"lambdas.{name}.handler" not in handlers]
        assert not missing, f"the template has no function for {missing}"
        (rule,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [handlers["lambdas.cleaner.handler"], "Arn"]}
        assert rule["EventPattern"]["source"] == ["aws.states"]
        self._recovered_statuses = list(rule["EventPattern"]["detail"]["status"])
        self.engine.__enter__()
        values = {"StateMachineArn": self.engine.state_machine_arn, "RunsTableName": "powertuning-runs"}
        assert set(values) <= set(template["Outputs"]), "the template's outputs were renamed"
        self.engine.publish_outputs(self.name, values)
        cloudformation = self.client("cloudformation")
        stack = cloudformation.describe_stacks(StackName=self.name)["Stacks"][0]
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    def client(self, service: Any) -> Any:
        return self.engine._client(service)

    def function_role(self) -> str:
        return self.engine._role()

    def recover(self, execution_arn: str, status: str) -> None:
        # As the rule: only the statuses its pattern lists, the Cleaner as its target.
        if status in self._recovered_statuses:
            self.engine.recover(execution_arn, status)

    def destroy(self) -> None:
        self.engine.__exit__(None, None, None)
