"""What the stack tells the tuner's functions through their environment (one place for the names)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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


# Every tuner stack tags its functions (the tuner's and the fleet's) with this key, the stack's name
# as value: the Initializer refuses them as targets, and every tuner role is denied changing or
# invoking a function that carries it (a second tuner stack in the account included).
TUNER_TAG: Final = "powertuning:tuner"
# The tuner's state machine says with this tag ("true"/"false") whether its deploy allows code
# changes (`powertune run` reads it before starting an execution that would need them).
ARCHITECTURES_TAG: Final = "powertuning:architectures"

# Deploy option `architectures`: whether an execution may change a function's code (measure another
# architecture, run an image of `imageUris`); and the repositories `imageRepositories` adds.
ARCHITECTURES_ENV: Final = "POWERTUNING_ARCHITECTURES"
IMAGE_REPOSITORIES_ENV: Final = "POWERTUNING_IMAGE_REPOSITORIES"


@dataclass(frozen=True)
class CodeChanges:
    """What the deployment lets an execution do to a function's code (deploy option `architectures`)."""

    enabled: bool = False
    # More repositories `imageUris` may name, besides the function's own (`imageRepositories`).
    image_repositories: tuple[str, ...] = ()

    def to_env(self) -> dict[str, str]:
        """The environment that tells the Initializer (code_changes() reads it back)."""
        return {
            ARCHITECTURES_ENV: json.dumps(self.enabled),
            IMAGE_REPOSITORIES_ENV: json.dumps(list(self.image_repositories)),
        }


def code_changes() -> CodeChanges:
    """The deployment's CodeChanges; off when the variables are absent (a deploy without the option)."""
    repositories = json.loads(os.environ.get(IMAGE_REPOSITORIES_ENV) or "[]")
    return CodeChanges(
        enabled=os.environ.get(ARCHITECTURES_ENV) == "true",
        image_repositories=tuple(str(r) for r in repositories),
    )
