"""WorkflowTuner: the workflow tuner's state machine and its two functions. It tunes a user's workflow
through the fleet state machine and keeps its plans and results in the fleet's results bucket, under
its own prefix. The stack composes it next to the FleetTuner and holds the grants
(stacks/workflow_grants.py)."""

from __future__ import annotations

from typing import Final

from aws_cdk import Fn
from aws_cdk import aws_s3 as s3
from constructs import Construct

from powertuning import deployment
from powertuning.asl import WORKFLOW_INTEGRATIONS, workflow_definition_text

from .acknowledgements import acknowledge_scanner_findings
from .building_blocks import functions_state_machine
from .lambda_asset import lambda_code

# Also the handlers whose import closure is the workflow functions' asset, their own: the tuner's
# asset never holds the workflow modules, and a deploy without the workflow tuner never stages them.
WORKFLOW_FUNCTION_NAMES: Final = ("workflow_reader", "workflow_solver")
# The reader holds up to 20 executions' histories (25,000 events each at most); the solver runs the
# Monte Carlo model in pure Python: one full vCPU (1,769 MB) so the solve is as fast as Lambda allows.
WORKFLOW_MEMORY_MB: Final = {"workflow_reader": 512, "workflow_solver": 1769}
# Every object the workflow tuner writes is under this prefix of the fleet's results bucket.
WORKFLOW_PREFIX: Final = "workflow/"


def workflow_name_prefix(tuner_prefix: str) -> str:
    """The workflow state machine's name prefix: the tuner's, plus "Workflow" (80 characters in all)."""
    return f"{tuner_prefix[:59]}Workflow"


class WorkflowTuner(Construct):
    """The WorkflowReader and WorkflowSolver functions and the workflow state machine.

    `own_state_machine_arns` are the tuner's and the fleet's state machines (the reader refuses them,
    and this one, as a workflow to tune); `tuner_function_arns` every other function of the stack (a
    workflow that calls one is refused).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        fleet_state_machine_arn: str,
        own_state_machine_arns: list[str],
        tuner_function_arns: list[str],
        name_prefix: str,
        timeout_seconds: int,
        log_retention_days: int,
        log_execution_data: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        acknowledge_scanner_findings(self)
        self.bucket = bucket
        built = functions_state_machine(
            self,
            WORKFLOW_FUNCTION_NAMES,
            code=lambda_code(WORKFLOW_FUNCTION_NAMES),
            memory_mb=WORKFLOW_MEMORY_MB,
            environment={deployment.FLEET_BUCKET_ENV: bucket.bucket_name},
            timeout_s=timeout_seconds,
            log_retention_days=log_retention_days,
            definition=workflow_definition_text(),
            integrations=WORKFLOW_INTEGRATIONS,
            substitutions={
                "FleetStateMachineArn": fleet_state_machine_arn,
                "OwnStateMachineArns": Fn.join(",", own_state_machine_arns),
            },
            tuner_function_arns=tuner_function_arns,
            name_prefix=workflow_name_prefix(name_prefix),
            log_execution_data=log_execution_data,
            what_events_carry="a workflow tuning's events carry the user's workflow input and payloads",
        )
        own = built.functions
        self.functions, self.roles, self.log_groups = own.functions, own.roles, own.log_groups
        self.state_machine, self.log_group = built.machine.state_machine, built.machine.log_group
        # Known before the state machine exists, so policies can name it without a cycle.
        self.state_machine_name = built.machine.name
