"""The tuner deployed on moto as the stack deploys it: a role, the run table, the staging bucket,
the six functions tagged with the stack's name, and the state machine rendered from the ASL file.

The functions' code is a placeholder: moto keeps what it is given, while the engine runs the real
handlers in-process (`engine._run_tuner`).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from powertuning import asl, deployment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TUNERS: Final = ("initializer", "publisher", "executor", "cleaner", "analyzer", "optimizer")
RUNS_TABLE: Final = "powertuning-runs"
# As the stack's staging bucket (input `architectures` copies the original code there).
STAGING_BUCKET: Final = "powertuning-staging"
# The tuner tags its functions with the stack's name, as a deployed stack does (deployment.TUNER_TAG).
LOCAL_STACK_NAME: Final = "powertuning-local"
_ROLE_NAME: Final = "powertuning-local"
_TRUST: Final = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def zip_placeholder() -> bytes:
    """A function's code for moto, which stores it; the local runtime reads the handler's folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs from its local folder")
    return buffer.getvalue()


def lambda_role(iam: Any) -> str:
    """The ARN of the one role the local functions run with (created once)."""
    try:
        return str(iam.get_role(RoleName=_ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST))
        return str(created["Role"]["Arn"])


def create_runs_table(client: DynamoDBClient, name: str) -> None:
    """The run table, as the stack creates it (one item per function being tuned)."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "functionArn", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "functionArn", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass(frozen=True)
class Deployed:
    """What the deployment made: the state machine and the tuner functions' ARNs."""

    state_machine_arn: str
    function_arns: tuple[str, ...]


def deploy(client: Any, *, function_timeout_s: int, code_changes: deployment.CodeChanges) -> Deployed:
    """Deploy the tuner with `client(service)` (the engine's clients of the mock)."""
    role = lambda_role(client("iam"))
    create_runs_table(client("dynamodb"), RUNS_TABLE)
    client("s3").create_bucket(Bucket=STAGING_BUCKET)
    arns = {}
    for name in TUNERS:
        created = client("lambda").create_function(
            FunctionName=f"powertuning-{name}",
            Runtime="python3.13",
            Role=role,
            Handler=f"lambdas.{name}.handler",
            Code={"ZipFile": zip_placeholder()},
            Timeout=function_timeout_s,
            MemorySize=256,
            Tags={deployment.TUNER_TAG: LOCAL_STACK_NAME},
        )
        arns[f"{name.capitalize()}FunctionArn"] = created["FunctionArn"]
    definition = asl.render(arns, function_timeout_s=function_timeout_s)
    state_machine_arn = client("stepfunctions").create_state_machine(
        name="powertuning-local",
        definition=definition,
        roleArn=role,
        tags=[{"key": deployment.ARCHITECTURES_TAG, "value": json.dumps(code_changes.enabled)}],
    )["stateMachineArn"]
    return Deployed(str(state_machine_arn), tuple(sorted(str(a) for a in arns.values())))
