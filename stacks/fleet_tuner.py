"""FleetTuner: the fleet state machine (a Distributed Map over functions), its two functions and
its results bucket. The stack composes it next to the PowerTuner and holds the grants
(stacks/fleet_grants.py)."""

from __future__ import annotations

from typing import Final

from aws_cdk import Aws, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from powertuning import deployment
from stacks.acknowledgements import acknowledge_scanner_findings
from stacks.building_blocks import logged_state_machine, own_function, private_bucket
from statemachine import FLEET_INTEGRATIONS, TASK_TIMEOUT_MARGIN_S, fleet_definition_text, with_timeouts

FLEET_FUNCTION_NAMES: Final = ("fleet_resolver", "fleet_summary")
# The resolver may list thousands of functions and the summary reads every result: a little more room.
FLEET_MEMORY_MB: Final = 256
# Item lists, Map results and summaries are kept this long, then expire.
RESULTS_RETENTION_DAYS: Final = 90
# Every object the fleet writes or reads is under this prefix of the results bucket.
RESULTS_PREFIX: Final = "fleet/"


def fleet_name_prefix(tuner_prefix: str) -> str:
    """The fleet state machine's name prefix: the tuner's, plus "Fleet" (80 characters in all)."""
    return f"{tuner_prefix[:62]}Fleet"


class FleetTuner(Construct):
    """The results bucket, the FleetResolver and FleetSummary functions, and the fleet state machine.

    `substitutions` fills the ASL's placeholders other than the fleet's own functions and bucket
    (`TunerStateMachineArn`, `TunerFunctionArns`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        tuner_state_machine_arn: str,
        tuner_function_arns: list[str],
        name_prefix: str,
        timeout_seconds: int,
        log_retention_days: int,
        log_execution_data: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        acknowledge_scanner_findings(self)
        # Results are records a team may still want after the stack goes: kept, not deleted.
        self.bucket = private_bucket(
            self,
            "Results",
            expire_after_days=RESULTS_RETENTION_DAYS,
            why_no_access_logs="The results bucket holds only the fleet's own item lists, Map results and "
            "summaries, written by the fleet state machine and its two functions (whose calls CloudTrail "
            "records); server access logs would need a second bucket per stack for no extra audit value.",
        )
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for name in FLEET_FUNCTION_NAMES:
            own = own_function(
                self,
                name,
                code=code,
                memory_mb=FLEET_MEMORY_MB,
                timeout_s=timeout_seconds,
                log_retention_days=log_retention_days,
                environment={deployment.FLEET_BUCKET_ENV: self.bucket.bucket_name},
            )
            function, role, log_group = own.function, own.role, own.log_group
            self.functions[name] = function
            self.roles[name] = role
            self.log_groups[name] = log_group
        definition = with_timeouts(fleet_definition_text(), timeout_seconds + TASK_TIMEOUT_MARGIN_S)
        built = logged_state_machine(
            self,
            name_prefix=fleet_name_prefix(name_prefix),
            definition=definition,
            substitutions={
                "FleetResolverFunctionArn": self.functions["fleet_resolver"].function_arn,
                "FleetSummaryFunctionArn": self.functions["fleet_summary"].function_arn,
                "TunerStateMachineArn": tuner_state_machine_arn,
                "ResultsBucketName": self.bucket.bucket_name,
                **{
                    name: Fn.join("", ["arn:", Aws.PARTITION, f":states:::{api}"])
                    for name, api in FLEET_INTEGRATIONS.items()
                },
                "TunerFunctionArns": Fn.join(
                    ",", [*tuner_function_arns, *(f.function_arn for f in self.functions.values())]
                ),
            },
            log_retention_days=log_retention_days,
            log_execution_data=log_execution_data,
            what_events_carry="a fleet's events carry every function's tuning input, payloads included",
        )
        self.state_machine, self.log_group = built.state_machine, built.log_group
        # Known before the state machine exists, so its role can name its own ARN without a cycle.
        self.state_machine_name = built.name
