"""The functions a fleet tunes: the items the FleetResolver writes for the Distributed Map, each with
its child execution's name and tuning input; what a fleet cannot tune refused before anything starts.

Pure, like fleet_request.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from powertuning.arns import FunctionRef
from powertuning.errors import FleetInputError, SelfTargetError
from powertuning.fleet_request import FleetRequest, FunctionInfo, function_of

# Step Functions execution names: 1-80 characters.
MAX_EXECUTION_NAME: Final = 80


@dataclass(frozen=True)
class FleetItem:
    """One function of the fleet, as the Distributed Map hands it to its item processor."""

    function: FunctionInfo
    execution_name: str
    tuning_input: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The item in the S3 item list (camelCase)."""
        return {
            "functionArn": self.function.arn,
            "executionName": self.execution_name,
            "memorySize": self.function.memory_size,
            "architecture": self.function.architecture,
            "input": dict(self.tuning_input),
        }


@dataclass(frozen=True)
class Selection:
    """The functions a fleet tunes, and those a selector matched but the fleet leaves out."""

    items: tuple[FleetItem, ...]
    excluded: tuple[dict[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The camelCase wire form (the items themselves go to S3)."""
        return {"count": len(self.items), "excluded": [dict(e) for e in self.excluded]}


def child_execution_name(fleet_execution: str, function_arn: str) -> str:
    """A name unique per fleet execution and function (not per ARN of it), readable in the console:
    fleet-<hash>-<name>."""
    digest = hashlib.sha256(f"{fleet_execution}\n{function_of(function_arn)}".encode()).hexdigest()[:12]
    name = FunctionRef.parse(function_arn).name
    return f"fleet-{digest}-{name}"[:MAX_EXECUTION_NAME]


def select(
    request: FleetRequest,
    found: Sequence[FunctionInfo],
    *,
    own_functions: Sequence[str],
    fleet_execution: str,
) -> Selection:
    """The fleet's items from the functions found; refuses what cannot be tuned, before anything starts.

    `found`: for a list, each listed function's configuration (in order); for a selector, every
    function that matched it. The tuner's own functions are refused when listed and left out (and
    reported) when a selector matches them.
    """
    own = {FunctionRef.parse(arn).unqualified for arn in own_functions if arn}
    chosen: list[FunctionInfo] = []
    excluded: list[dict[str, str]] = []
    for info in found:
        if info.unqualified in own:
            if request.selector is None:
                raise SelfTargetError(f"{info.arn} is one of the tuner's own functions, which it never tunes")
            excluded.append({"functionArn": info.arn, "reason": "one of the tuner's own functions"})
            continue
        chosen.append(info)
    if not chosen:
        what = json.dumps(request.selector.to_dict()) if request.selector else "the list"
        raise FleetInputError(f"the selector {what} matched no function that can be tuned")
    functions = {info.unqualified for info in chosen}
    stray = [arn for arn in request.overrides if function_of(arn) not in functions]
    if stray:
        raise FleetInputError(f"overrides name a function that is not in the fleet: {stray[0]}")
    items = tuple(
        FleetItem(info, child_execution_name(fleet_execution, info.arn), request.tuning_input(info.arn))
        for info in chosen
    )
    return Selection(items, tuple(excluded))
