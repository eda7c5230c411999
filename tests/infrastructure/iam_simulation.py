"""The synthesized template's roles, resolved for the moto world, judged by an independent simulator.

`Deployment.of(stack)` resolves every CloudFormation intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Sub,
Fn::Select, Fn::Split) to the concrete ARNs the local engine uses: partition `aws`, region
us-east-1, moto's account 123456789012, the engine's physical names (functions
`powertuning-<handler>`, the run table, the staging and fleet buckets, a function's log group by
`tests.iam_recording.log_group_of`). The state machines keep the template's own names
(`powerTuningStateMachine-<stack id suffix>`); recorded ARNs of the engine's machines are renamed to
them (`Deployment.translate`).

`simulate` hands (role, action, resource) requests to tests/infrastructure/simulate_iam.js, which
runs @cloud-copilot/iam-simulate, and returns its verdict for each.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from powertuning.deployment import FLEET_BUCKET_ENV, RUNS_TABLE_ENV, STAGING_BUCKET_ENV
from tests.iam_recording import (
    ACCOUNT,
    REGION,
    Call,
    function_principal,
    log_group_of,
    state_machine_principal,
)
from tests.infrastructure.synthesis import Synthesized, as_list

SIMULATOR = Path(__file__).with_name("simulate_iam.js")
PARTITION = "aws"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/PowerTuning/0c7e5a10-5d7b-11ef-9f6e-0a1b2c3d4e5f"
# The engine's state machines (powertuning/local/engine.py, tests/e2e/fleet_world.py, workflow_world.py).
ENGINE_MACHINES = {
    "powertuning-local": "tuner",
    "powertuning-fleet": "fleet",
    "powertuning-workflow": "workflow",
}
# The engine's physical names of what the template names by logical id.
RUNS_TABLE = "powertuning-runs"
STAGING_BUCKET = "powertuning-staging"
FLEET_BUCKET = "powertuning-fleet-results"


@dataclass(frozen=True)
class Role:
    logical_id: str
    arn: str
    policies: list[dict[str, Any]]  # {"name", "policy"}, every intrinsic resolved

    def allows(self) -> list[tuple[str, str, int]]:
        """(action, resource pattern, statement index) of every Allow in the role's policies."""
        found = []
        for policy in self.policies:
            for index, statement in enumerate(policy["policy"]["Statement"]):
                if statement["Effect"] == "Allow":
                    found += [
                        (a, r, index)
                        for a in as_list(statement["Action"])
                        for r in as_list(statement["Resource"])
                    ]
        return found


class Deployment:
    """The template's roles with concrete ARNs, and which recorded principal each role is."""

    def __init__(self, stack: Synthesized) -> None:
        self.stack = stack
        self._names = self._physical_names()
        self.roles = {lid: self._role(lid) for lid in stack.of_type("AWS::IAM::Role")}
        self.principals: dict[str, str] = {}
        for _lid, resource in stack.of_type("AWS::Lambda::Function").items():
            handler = resource["Properties"]["Handler"].split(".")[1]
            self.principals[function_principal(handler)] = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        self.machine_names: dict[str, str] = {}
        machines = {
            "tuner": stack.state_machine(),
            "fleet": stack.fleet_state_machine(),
            "workflow": stack.workflow_state_machine(),
        }
        for engine_name, kind in ENGINE_MACHINES.items():
            machine = machines[kind]
            self.principals[state_machine_principal(engine_name)] = machine["RoleArn"]["Fn::GetAtt"][0]
            self.machine_names[engine_name] = str(self.resolve(machine["StateMachineName"]))

    # -- names --------------------------------------------------------------------------------
    def _physical_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        env_names = {
            RUNS_TABLE_ENV: RUNS_TABLE,
            STAGING_BUCKET_ENV: STAGING_BUCKET,
            FLEET_BUCKET_ENV: FLEET_BUCKET,
        }
        for lid, resource in self.stack.of_type("AWS::Lambda::Function").items():
            props = resource["Properties"]
            function = f"powertuning-{props['Handler'].split('.')[1]}"
            names[lid] = function
            names[props["LoggingConfig"]["LogGroup"]["Ref"]] = log_group_of(function)
            for variable, value in props.get("Environment", {}).get("Variables", {}).items():
                if variable in env_names and isinstance(value, dict) and "Ref" in value:
                    names[value["Ref"]] = env_names[variable]
        for lid, resource in self.stack.of_type("AWS::Logs::LogGroup").items():
            if "LogGroupName" in resource["Properties"]:
                names[lid] = resource["Properties"]["LogGroupName"]
        return names

    def _ref(self, lid: str) -> str:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackId": STACK_ID,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if lid in pseudo:
            return pseudo[lid]
        resource_type = self.stack.resources[lid]["Type"]
        if resource_type == "AWS::StepFunctions::StateMachine":
            return self._arn(lid)
        if resource_type in ("AWS::IAM::Role", "AWS::Events::Rule"):
            return lid
        return self._names[lid]

    def _arn(self, lid: str) -> str:
        resource = self.stack.resources[lid]
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function":
            return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{self._names[lid]}"
        if kind == "AWS::DynamoDB::GlobalTable":
            return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{RUNS_TABLE}"
        if kind == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{self._names[lid]}"
        if kind == "AWS::Logs::LogGroup":
            return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{self._names[lid]}:*"
        if kind == "AWS::StepFunctions::StateMachine":
            name = self.resolve(resource["Properties"]["StateMachineName"])
            return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        if kind == "AWS::IAM::Role":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{lid}"
        if kind == "AWS::Events::Rule":
            return f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{lid}"
        raise KeyError(f"no ARN for {lid} ({kind})")

    def resolve(self, value: Any) -> Any:
        """A template value with every intrinsic replaced by its concrete value."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {k: self.resolve(v) for k, v in value.items()}
        ((name, argument),) = value.items()
        if name == "Ref":
            return self._ref(argument)
        if name == "Fn::GetAtt":
            lid, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            if attribute != "Arn":
                raise KeyError(f"Fn::GetAtt {lid}.{attribute}")
            return self._arn(lid)
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(self.resolve(i)) for i in self.resolve(items))
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            delimiter, text = argument
            return str(self.resolve(text)).split(delimiter)
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            values = {k: str(self.resolve(v)) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                key = match.group(1)
                if key in values:
                    return values[key]
                if key.endswith(".Arn"):
                    return self._arn(key[: -len(".Arn")])
                return self._ref(key)

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        raise KeyError(f"unsupported intrinsic {name}")

    def _role(self, lid: str) -> Role:
        role = self.stack.resources[lid]["Properties"]
        policies = [
            {"name": p["PolicyName"], "policy": self.resolve(p["PolicyDocument"])}
            for p in role.get("Policies", [])
        ]
        for policy_id, policy in self.stack.of_type("AWS::IAM::Policy").items():
            if {"Ref": lid} in policy["Properties"].get("Roles", []):
                policies.append(
                    {"name": policy_id, "policy": self.resolve(policy["Properties"]["PolicyDocument"])}
                )
        if role.get("ManagedPolicyArns"):
            raise KeyError(f"{lid}: managed policies are not resolved here")
        return Role(lid, self._arn(lid), policies)

    # -- recorded calls ----------------------------------------------------------------------
    def translate(self, resource: str) -> str:
        """A recorded ARN with the engine's state machine names replaced by the template's."""
        for engine_name, name in self.machine_names.items():
            resource = re.sub(
                rf":(stateMachine|execution|mapRun):{re.escape(engine_name)}(?=$|[:/])",
                rf":\1:{name}",
                resource,
            )
        return resource

    def role_of(self, principal: str) -> str:
        return self.principals[principal]

    def function_arn(self, handler: str) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:powertuning-{handler}"

    def machine_arn(self, kind: str) -> str:
        engine_name = next(n for n, k in ENGINE_MACHINES.items() if k == kind)
        return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:stateMachine:{self.machine_names[engine_name]}"


@dataclass(frozen=True)
class Request:
    role: str  # role logical id
    action: str
    resource: str


def simulate(deployment: Deployment, requests: Iterable[Request]) -> list[str]:
    """The simulator's verdict for each request: Allowed, ImplicitlyDenied, ExplicitlyDenied or Error."""
    requests = list(requests)
    payload = {
        "accountId": ACCOUNT,
        "roles": {
            lid: {"arn": role.arn, "policies": role.policies} for lid, role in deployment.roles.items()
        },
        "requests": [{"role": r.role, "action": r.action, "resource": r.resource} for r in requests],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8") as file:
        json.dump(payload, file)
        file.flush()
        done = subprocess.run(
            ["node", str(SIMULATOR), file.name], capture_output=True, text=True, timeout=300, check=True
        )
    verdicts = [json.loads(line)["result"] for line in done.stdout.splitlines()]
    assert len(verdicts) == len(requests), done.stderr
    return verdicts


def requests_of(deployment: Deployment, calls: Iterable[Call]) -> list[Request]:
    """The requests IAM evaluates for recorded calls. A user's own state machine (the workflow a
    workflow tuning reads, run by the scenario as the user would) runs with the user's role, not one
    of the stack's: its calls are not the template's to allow."""
    return [
        Request(deployment.role_of(c.principal), c.action, deployment.translate(c.resource))
        for c in calls
        if not (
            c.principal.startswith("stateMachine:") and c.principal.split(":", 1)[1] not in ENGINE_MACHINES
        )
    ]


def matches(pattern: str, resource: str) -> bool:
    """IAM's resource match: `*` any run of characters, `?` one character, case-sensitive."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, resource) is not None


def unused_grants(deployment: Deployment, allowed: Iterable[Request]) -> list[tuple[str, str, str]]:
    """(role, action, resource pattern) of every Allow that no allowed request falls under."""
    used: dict[tuple[str, str], list[str]] = {}
    for request in allowed:
        used.setdefault((request.role, request.action), []).append(request.resource)
    return sorted(
        (lid, action, pattern)
        for lid, role in deployment.roles.items()
        for action, pattern, _ in role.allows()
        if not any(matches(pattern, resource) for resource in used.get((lid, action), []))
    )
