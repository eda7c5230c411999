#!/usr/bin/env python3
"""A CodePipeline stage that tunes a function with the deployed tuner (Step Functions invoke action).

Add `add_tuning_stage(...)` after the stage that deploys your function; CodePipeline starts the
tuner's state machine, waits for it, and fails the stage when the tuning fails. The execution output
(the recommendation) becomes the stage's output artifact, `TuningResult`, for a later stage to read.

Try it as its own app (`cdk deploy` needs credentials; synth does not):

    cdk synth --app "python3 examples/pipelines/tuning_pipeline.py" \\
        -c stateMachineArn=arn:aws:states:...:stateMachine:PowerTuning... \\
        -c functionArn=arn:aws:lambda:...:function:my-function
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

# What the tuning stage asks for; any execution input key works here (see the README).
DEFAULT_TUNING_INPUT: Mapping[str, Any] = {
    "powerValues": [128, 256, 512, 1024, 1536, 3008],
    "num": 20,
    "strategy": "balanced",
    "balancedWeight": 0.5,
    "includeOutputResults": True,
}


def add_tuning_stage(
    pipeline: codepipeline.Pipeline,
    *,
    state_machine: sfn.IStateMachine,
    function_arn: str,
    tuning_input: Mapping[str, Any] = DEFAULT_TUNING_INPUT,
    stage_name: str = "Tune",
) -> codepipeline.Artifact:
    """Append a stage that runs one tuning execution; returns its output artifact."""
    result = codepipeline.Artifact("TuningResult")
    pipeline.add_stage(
        stage_name=stage_name,
        actions=[
            actions.StepFunctionInvokeAction(
                action_name="PowerTune",
                state_machine=state_machine,
                state_machine_input=actions.StateMachineInput.literal(
                    {**tuning_input, "lambdaARN": function_arn}
                ),
                execution_name_prefix="pipeline",
                output=result,
            )
        ],
    )
    return result


class TuningPipelineStack(cdk.Stack):
    """A minimal pipeline: an S3 source (your build's zip), then the tuning stage."""

    def __init__(
        self, scope: Construct, construct_id: str, *, state_machine_arn: str, function_arn: str, **kwargs: Any
    ) -> None:
        # The pipeline lives where the tuner does: CodePipeline would otherwise need a cross-region
        # support stack for an action on a state machine in another account or region.
        _, _, _, region, account, *_ = state_machine_arn.split(":")
        kwargs.setdefault("env", cdk.Environment(account=account, region=region))
        super().__init__(scope, construct_id, **kwargs)
        source_bucket = s3.Bucket(
            self,
            "Source",
            versioned=True,  # required by the S3 source action
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        )
        source = codepipeline.Artifact("Source")
        self.pipeline = codepipeline.Pipeline(self, "Pipeline", pipeline_type=codepipeline.PipelineType.V2)
        self.pipeline.add_stage(
            stage_name="Source",
            actions=[
                actions.S3SourceAction(
                    action_name="Source", bucket=source_bucket, bucket_key="function.zip", output=source
                )
            ],
        )
        # ... your deploy stage goes here, before the tuning ...
        tuner = sfn.StateMachine.from_state_machine_arn(self, "Tuner", state_machine_arn)
        self.tuning_result = add_tuning_stage(self.pipeline, state_machine=tuner, function_arn=function_arn)


def main() -> None:
    """Synthesize the example from `-c stateMachineArn=... -c functionArn=...`."""
    app = cdk.App()
    state_machine_arn = app.node.try_get_context("stateMachineArn")
    function_arn = app.node.try_get_context("functionArn")
    if not state_machine_arn or not function_arn:
        raise SystemExit("give -c stateMachineArn=ARN -c functionArn=ARN")
    TuningPipelineStack(
        app, "PowerTuningPipelineExample", state_machine_arn=state_machine_arn, function_arn=function_arn
    )
    app.synth()


if __name__ == "__main__":
    main()
