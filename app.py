#!/usr/bin/env python3
"""CDK entry point: `cdk deploy -c powerValues=128,512 ...`; every option is in docs/deploy.md."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from powertuning.errors import InvalidOptionError
from stacks import PowerTuningStack, TunerOptions

STACK_NAME = "PowerTuning"


def build(app: cdk.App) -> PowerTuningStack:
    """Add the tuner stack, configured from context, and the cdk-nag checks that gate synth."""
    stack = PowerTuningStack(app, STACK_NAME, options=TunerOptions.from_context(app.node.try_get_context))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


if __name__ == "__main__":
    app = cdk.App()
    try:
        build(app)
    except InvalidOptionError as error:
        sys.exit(f"Invalid deploy option: {error}")
    app.synth()
