"""PowerTuningStack: the tuner as a deployable stack, with its outputs."""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Aws, CfnMapping, CfnOutput, Fn, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .fleet_grants import grant_fleet
from .fleet_tuner import FleetTuner
from .options import TunerOptions
from .power_tuner import PowerTuner
from .workflow_grants import grant_workflow
from .workflow_tuner import WorkflowTuner

# The console's host in each partition; the link opens the state machine, with "Start execution".
CONSOLE_HOSTS: Final = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


class PowerTuningStack(Stack):
    """One PowerTuner, and outputs that tell the user where to start an execution."""

    def __init__(
        self, scope: Construct, construct_id: str, *, options: TunerOptions | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("description", "Lambda power tuning: finds the best memory size for a function.")
        super().__init__(scope, construct_id, **kwargs)
        self.tuner = PowerTuner(self, "Tuner", options=options)
        self.fleet: FleetTuner | None = None
        self.workflow: WorkflowTuner | None = None
        if self.tuner.options.fleet:
            self._add_fleet()
        if self.fleet is not None and self.tuner.options.workflow:
            self._add_workflow(self.fleet)
        state_machine_arn = self.tuner.state_machine.state_machine_arn
        hosts = CfnMapping(
            self, "ConsoleHosts", mapping={key: {"host": host} for key, host in CONSOLE_HOSTS.items()}
        )
        CfnOutput(
            self, "StateMachineArn", value=state_machine_arn, description="Start tuning executions here."
        )
        CfnOutput(
            self,
            "RunsTableName",
            value=self.tuner.registry.table.table_name,
            description="The runs being tuned and their original configuration (powertune clean reads it).",
        )
        CfnOutput(
            self,
            "StateMachineConsoleUrl",
            value=Fn.join(
                "",
                [
                    "https://",
                    hosts.find_in_map(Aws.PARTITION, "host"),
                    "/states/home?region=",
                    Aws.REGION,
                    "#/statemachines/view/",
                    state_machine_arn,
                ],
            ),
            description="Open the tuner in the Step Functions console and choose Start execution.",
        )

    def _add_fleet(self) -> None:
        """The fleet state machine next to the tuner, and the grants between them."""
        options = self.tuner.options
        self.fleet = FleetTuner(
            self,
            "Fleet",
            code=self.tuner.functions.code,
            tuner_state_machine_arn=self.tuner.state_machine.state_machine_arn,
            tuner_function_arns=[f.function_arn for f in self.tuner.functions.functions.values()],
            name_prefix=options.state_machine_name_prefix,
            timeout_seconds=options.total_execution_timeout,
            log_retention_days=options.log_retention_days,
            log_execution_data=options.log_execution_data,
        )
        grant_fleet(self, self.tuner, self.fleet)
        self._apply_boundary(self.fleet, "FleetBoundary")
        CfnOutput(
            self,
            # Not "...StateMachineArn": `powertune run --stack-name` looks for that one.
            "FleetArn",
            value=self.fleet.state_machine.state_machine_arn,
            description="Start fleet tunings here (powertune fleet reads it).",
        )
        CfnOutput(
            self,
            "FleetResultsBucket",
            value=self.fleet.bucket.bucket_name,
            description="Fleet item lists, Map results and summaries (fleet/<execution>/...).",
        )

    def _add_workflow(self, fleet: FleetTuner) -> None:
        """The workflow tuner next to the fleet (it tunes a workflow's functions through it)."""
        options = self.tuner.options
        tuner_functions = [f.function_arn for f in self.tuner.functions.functions.values()]
        self.workflow = WorkflowTuner(
            self,
            "Workflow",
            bucket=fleet.bucket,
            fleet_state_machine_arn=fleet.state_machine.state_machine_arn,
            own_state_machine_arns=[
                self.tuner.state_machine.state_machine_arn,
                fleet.state_machine.state_machine_arn,
            ],
            tuner_function_arns=[*tuner_functions, *(f.function_arn for f in fleet.functions.values())],
            name_prefix=options.state_machine_name_prefix,
            timeout_seconds=options.total_execution_timeout,
            log_retention_days=options.log_retention_days,
            log_execution_data=options.log_execution_data,
        )
        grant_workflow(self, self.tuner, fleet, self.workflow)
        self._apply_boundary(self.workflow, "WorkflowBoundary")
        CfnOutput(
            self,
            # Not "...StateMachineArn": `powertune run --stack-name` looks for that one.
            "WorkflowArn",
            value=self.workflow.state_machine.state_machine_arn,
            description="Start workflow tunings here (powertune workflow reads it).",
        )

    def _apply_boundary(self, scope: Construct, construct_id: str) -> None:
        """The permissionsBoundary option on every role of `scope`, as on the tuner's."""
        boundary = self.tuner.options.permissions_boundary
        if boundary is None:
            return
        iam.PermissionsBoundary.of(scope).apply(
            iam.ManagedPolicy.from_managed_policy_arn(self, construct_id, boundary)
            if boundary.startswith("arn:")
            else iam.ManagedPolicy.from_managed_policy_name(self, construct_id, boundary)
        )
