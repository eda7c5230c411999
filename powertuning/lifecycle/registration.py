"""A run's registration in the run table: whether the run still holds it, and its release.

Every phase checks `still_owned` around what it changes; `finish` ends the run.
"""

from __future__ import annotations

from typing import Any, Final

from powertuning.aws import run_table
from powertuning.run_state import RunState

CLEAN_COMMAND: Final = "powertune clean --stack-name <stack> --function {arn}"


def still_owned(config: RunState, runs_client: Any, runs_table: str) -> bool:
    """True while this run is registered on its function and no recovery has begun.

    A step that outlives its state (an aborted execution, a state timeout) finds out here and undoes
    its own work, since the recovery may already have cleaned up.
    """
    record = run_table.get_run(runs_client, runs_table, config.function_arn)
    return bool(record and record.get("runId") == config.run_id and not record.get("recovering"))


def finish(config: RunState, runs_client: Any, runs_table: str) -> bool:
    """End the run: remove its registration, so the function may be tuned again."""
    return run_table.release_run(runs_client, runs_table, config.function_arn, config.run_id)
