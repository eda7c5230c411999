"""FleetTuner: the fleet state machine (a Distributed Map over functions), its two functions and
its results bucket. The stack composes it next to the PowerTuner and holds the grants
(stacks/fleet_grants.py)."""

from __future__ import annotations

from typing import Final

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from powertuning import deployment
from powertuning.asl import FLEET_INTEGRATIONS, fleet_definition_text

from .acknowledgements import acknowledge_scanner_findings
from .building_blocks import functions_state_machine, private_bucket

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
        built = functions_state_machine(
            self,
            FLEET_FUNCTION_NAMES,
            code=code,
            memory_mb=dict.fromkeys(FLEET_FUNCTION_NAMES, FLEET_MEMORY_MB),
            environment={deployment.FLEET_BUCKET_ENV: self.bucket.bucket_name},
            timeout_s=timeout_seconds,
            log_retention_days=log_retention_days,
            definition=fleet_definition_text(),
            integrations=FLEET_INTEGRATIONS,
            substitutions={
                "TunerStateMachineArn": tuner_state_machine_arn,
                "ResultsBucketName": self.bucket.bucket_name,
            },
            tuner_function_arns=tuner_function_arns,
            name_prefix=fleet_name_prefix(name_prefix),
            log_execution_data=log_execution_data,
            what_events_carry="a fleet's events carry every function's tuning input, payloads included",
        )
        own = built.functions
        self.functions, self.roles, self.log_groups = own.functions, own.roles, own.log_groups
        self.state_machine, self.log_group = built.machine.state_machine, built.machine.log_group
        # Known before the state machine exists, so its role can name its own ARN without a cycle.
        self.state_machine_name = built.machine.name
