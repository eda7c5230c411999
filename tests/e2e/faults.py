"""Fault injection for whole executions: AWS errors on chosen calls, and gates that hold a handler
or one call.

`FaultPlan` registers a botocore `before-call` hook on every client the tuner builds
(`lambda_api.client`), so a fault hits the tuner's own calls exactly where real AWS would answer
with it, and the tuner's retry policy, the ASL's Retry and Catch all see it as they would. A `Hold`
stops one call on its way (a step "inside" PublishVersion when its execution is stopped), which a
handler-level `Gate` cannot: it holds a step only before the step's own checks.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Fault:
    """Fail calls `after`+1 ... `after`+`times` of `operation` (e.g. "lambda.PublishVersion") with `code`."""

    operation: str
    code: str
    times: int = 10_000
    after: int = 0


@dataclass
class Hold:
    """Hold the `call`-th call of `operation` (counted over every client) before it is sent."""

    operation: str
    call: int = 1
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class FaultPlan:
    """The faults and holds in force and how many calls each operation received."""

    faults: list[Fault] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    raised: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, operation: str) -> Callable[..., None]:
        def before_call(**_kwargs: Any) -> None:
            with self._lock:
                self.calls[operation] += 1
                count = self.calls[operation]
                fault = next(
                    (
                        f
                        for f in self.faults
                        if f.operation == operation and f.after < count <= f.after + f.times
                    ),
                    None,
                )
                if fault is not None:
                    self.raised[operation] += 1
                hold = next((h for h in self.holds if h.operation == operation and h.call == count), None)
            if hold is not None:
                hold.reached.set()
                hold.release.wait(60)
            if fault is not None:
                name = operation.split(".", 1)[1]
                raise ClientError({"Error": {"Code": fault.code, "Message": f"injected {fault.code}"}}, name)

        return before_call

    def attach(self, client: Any) -> Any:
        """Register the hook for every operation of the client's service; returns the client."""
        service = client.meta.service_model.service_id.hyphenize()
        for name in client.meta.service_model.operation_names:
            client.meta.events.register(f"before-call.{service}.{name}", self.hook(f"{service}.{name}"))
        return client

    def clear(self) -> None:
        """No more faults from now on; held calls go on."""
        self.faults.clear()
        for hold in self.holds:
            hold.release.set()
        self.holds.clear()


class Gate:
    """Holds the n-th call of a handler until released, and tells when that call has finished."""

    def __init__(self, call: int = 1) -> None:
        self.call = call
        self.count = 0
        self.reached = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        # What the held call returned or raised.
        self.outcome: Any = None

    def wrap(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def gated(event: Any, context: Any) -> Any:
            self.count += 1
            if self.count != self.call:
                return handler(event, context)
            self.reached.set()
            self.release.wait(30)
            try:
                self.outcome = handler(event, context)
                return self.outcome
            except Exception as exc:
                self.outcome = exc
                raise
            finally:
                self.finished.set()

        return gated
