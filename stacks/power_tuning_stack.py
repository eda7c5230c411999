"""PowerTuningStack: the tuner as a deployable stack, with its outputs."""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Aws, CfnMapping, CfnOutput, Fn, Stack
from constructs import Construct

from stacks.options import TunerOptions
from stacks.power_tuner import PowerTuner

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
