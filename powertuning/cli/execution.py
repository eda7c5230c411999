"""One execution started from the CLI (`run`, `fleet`, `workflow`): the refusal when it could not
start, the line printed when the command does not wait, and how following it ends."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from powertuning.cli.output import EXIT_EXECUTION_FAILED, EXIT_INTERRUPTED, EXIT_OK, error, usage_error
from powertuning.errors import PowerTuningError

# What a start or a poll can raise short of a bug: the AWS seam's own errors and botocore's.
AWS_ERRORS = (PowerTuningError, ClientError, BotoCoreError)


def not_started(exc: BaseException | str) -> int:
    """Report a start that failed or was refused (exit 2): nothing runs."""
    return usage_error(f"nothing was started: {exc}")


def print_started(execution_arn: str, output: str) -> int:
    """The one line a command that does not wait prints on stdout (its ARN, or JSON); exit 0."""
    print(json.dumps({"executionArn": execution_arn}) if output == "json" else execution_arn)
    return EXIT_OK


def follow_to_end(
    follow: Callable[[], dict[str, Any]], execution_arn: str, *, what: str, goes_on: str
) -> tuple[dict[str, Any] | None, int]:
    """Run `follow` (it returns the last description); the description when it SUCCEEDED, else None
    and the exit code, with the reason printed (`what` FAILED, `goes_on` goes on when interrupted)."""
    try:
        described = follow()
    except KeyboardInterrupt:
        error(f"stopped following; {goes_on} goes on: {execution_arn}")
        return None, EXIT_INTERRUPTED
    except AWS_ERRORS as exc:
        error(f"lost track of {execution_arn}: {exc}")
        return None, EXIT_EXECUTION_FAILED
    if described["status"] != "SUCCEEDED":
        error(f"{what} {described['status']}: {execution_arn}")
        print(f"Error: {described.get('error') or described['status']}", file=sys.stderr)
        print(f"Cause: {described.get('cause') or '(none given)'}", file=sys.stderr)
        return None, EXIT_EXECUTION_FAILED
    return described, EXIT_OK
