#!/usr/bin/env python3
"""CDK entry point: `cdk deploy -c powerValues=128,512 ...`; every option is in docs/deploy.md."""

from __future__ import annotations

import re
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from powertuning.errors import InvalidOptionError
from stacks import PowerTuningStack, TunerOptions

STACK_NAME = "PowerTuning"
# CloudFormation's rule for a stack name.
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


def stack_name(app: cdk.App) -> str:
    """The stack's name: `-c stackName=...` (a second, scratch stack: make test-aws), else PowerTuning."""
    name = app.node.try_get_context("stackName") or STACK_NAME
    if not isinstance(name, str) or not _STACK_NAME.fullmatch(name):
        raise InvalidOptionError(
            f"stackName must start with a letter and hold only letters, digits and hyphens (at most 128), "
            f"got {name!r}"
        )
    return name


def build(app: cdk.App) -> PowerTuningStack:
    """Add the tuner stack, configured from context, and the cdk-nag checks that gate synth."""
    options = TunerOptions.from_context(app.node.try_get_context)
    stack = PowerTuningStack(app, stack_name(app), options=options)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


if __name__ == "__main__":
    app = cdk.App()
    try:
        build(app)
    except InvalidOptionError as error:
        sys.exit(f"Invalid deploy option: {error}")
    app.synth()
