"""What the stack tells the tuner's functions through their environment (one place for the names)."""

from __future__ import annotations

import json
import os
from typing import Any, Final

from powertuning.models import FunctionRef

# The run table: one item per function being tuned (the lock, and the original configuration).
RUNS_TABLE_ENV: Final = "POWERTUNING_RUNS_TABLE"
# Executions whose runs the recovery rule cleans up (they may have ended without their own cleanup).
RECOVERED_STATUSES: Final = ("ABORTED", "TIMED_OUT", "FAILED")
# ARNs of the tuner's functions, which no input may name (the Initializer adds its own).
TUNER_FUNCTIONS_ENV: Final = "POWERTUNING_TUNER_FUNCTIONS"


def runs_table() -> str:
    """The run table's name."""
    return os.environ[RUNS_TABLE_ENV]


def tuner_functions(context: Any) -> list[str]:
    """The tuner's own function ARNs: the configured ones and the calling function itself."""
    arns = [str(a) for a in json.loads(os.environ.get(TUNER_FUNCTIONS_ENV, "[]"))]
    own = getattr(context, "invoked_function_arn", None)
    return arns + ([FunctionRef.parse(str(own)).unqualified] if own else [])


# The fleet's results bucket: item lists, the Distributed Map's results, the fleet summaries.
FLEET_BUCKET_ENV: Final = "POWERTUNING_FLEET_BUCKET"


def fleet_bucket() -> str:
    """The fleet results bucket's name."""
    return os.environ[FLEET_BUCKET_ENV]


# The stack's staging bucket: a copy of a function's code while it runs on another architecture.
STAGING_BUCKET_ENV: Final = "POWERTUNING_STAGING_BUCKET"


def staging_bucket() -> str | None:
    """The staging bucket's name, if the stack has one (input `architectures` needs it)."""
    return os.environ.get(STAGING_BUCKET_ENV) or None
