"""The worked example of docs/migrating.md: one input, this tool's output and the reference's.

    .venv/bin/python -m benchmarks.reference_parity

Runs the real state machine locally (moto's interpreter, the six handlers) on a simulated target
whose durations are known (CPU-bound, 400 ms at 1,769 MB, a few per cent of spread, 250 ms of INIT
on each version's first invocation), keeps every REPORT line it returned, and prices the same
REPORT lines with aws-lambda-power-tuning v4.4.0's formulas (lambda/utils.js and executor.js):
duration = Duration + Init + Restore, trimmed mean with parseInt(n x discardTopBottom) cut from each
end; averagePrice = ceil(trimmed mean of Billed Duration + Billed Restore) x $2.1e-9 per ms at
128 MB x memory / 128; executionCost = (6 + 3 x sizes) x $0.000025, toFixed(5). Prints both outputs
as JSON.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any

from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime
from powertuning.local.target import FunctionSpec, InvokeResult
from powertuning.logs import Report, parse_report

EXAMPLE_INPUT: dict[str, Any] = {
    "powerValues": [128, 512, 1024],
    "num": 10,
    "payload": {"orderId": 42},
    "strategy": "cost",
    "includeOutputResults": True,
}
# The reference's deploy-time prices (template.yml): USD per ms at 128 MB, per state transition.
REFERENCE_X86_PER_MS_128 = 2.1e-9
REFERENCE_TRANSITION = 0.000025


@dataclass
class Spread:
    """400 ms of CPU work at one vCPU, slower below it, +0..8% by the invocation's rank at its size.

    The rank is counted per memory size (the sizes run side by side, so a global count would not
    repeat from run to run).
    """

    counts: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, memory_mb: int, _n: int) -> float:
        """Duration of the next invocation at `memory_mb`."""
        with self.lock:
            k = self.counts.get(memory_mb, 0)
            self.counts[memory_mb] = k + 1
        return 400.0 * 1769 / min(memory_mb, 1769) * (1 + 0.02 * (k % 5))


@dataclass
class Recording:
    """A target runtime that keeps every REPORT line, by memory size."""

    inner: SimulatedRuntime
    reports: dict[int, list[Report]] = field(default_factory=dict)
    mode: str = "simulated"

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        """Invoke the simulated target and record its REPORT line."""
        result = self.inner.invoke(spec, event)
        self.reports.setdefault(spec.memory_mb, []).append(parse_report(result.logs))
        return result

    def close(self) -> None:
        """Nothing to release (the engine closes its runtime)."""


def _trimmed_mean(values: list[float], discard: float) -> float:
    cut = int(len(values) * discard)
    ordered = sorted(values)
    kept = ordered[cut : len(ordered) - cut] if cut else ordered
    return sum(kept) / len(kept)


def reference_output(reports: dict[int, list[Report]], num: int, discard: float = 0.2) -> dict[str, Any]:
    """What aws-lambda-power-tuning v4.4.0 outputs for these REPORT lines (strategy cost)."""
    stats = []
    for value, records in sorted(reports.items()):
        durations = [r.duration_ms + r.init_duration_ms + r.restore_duration_ms for r in records[-num:]]
        billed = [r.billed_duration_ms + r.billed_restore_duration_ms for r in records[-num:]]
        per_ms = REFERENCE_X86_PER_MS_128 * value / 128
        stats.append(
            {
                "value": value,
                "averagePrice": math.ceil(_trimmed_mean(billed, discard)) * per_ms,
                "averageDuration": _trimmed_mean(durations, discard),
                "totalCost": sum(math.ceil(b) * per_ms for b in billed),
            }
        )
    best = min(stats, key=lambda s: (s["averagePrice"], s["averageDuration"]))
    return {
        "power": best["value"],
        "cost": best["averagePrice"],
        "duration": best["averageDuration"],
        "stateMachine": {
            "executionCost": round(REFERENCE_TRANSITION * (6 + 3 * len(stats)), 5),
            "lambdaCost": sum(s["totalCost"] for s in stats),
            "visualization": "https://lambda-power-tuning.show/#...",
        },
        "stats": [{k: s[k] for k in ("value", "averagePrice", "averageDuration")} for s in stats],
    }


def main() -> None:
    """Run the example and print the input and both outputs."""
    runtime = Recording(SimulatedRuntime(Spread(), init_ms=250.0))
    with LocalEngine(runtime) as engine:
        arn = engine.create_target(name="checkout", handler="app.handler", code_dir=None, memory_mb=1024)
        outcome = engine.run({"lambdaARN": arn, **EXAMPLE_INPUT})
    if outcome.status != "SUCCEEDED" or outcome.output is None:
        raise SystemExit(f"the execution {outcome.status}: {outcome.error} {outcome.cause}")
    reference = reference_output(runtime.reports, int(EXAMPLE_INPUT["num"]))
    print(json.dumps({"input": EXAMPLE_INPUT, "this": outcome.output, "reference": reference}, indent=2))


if __name__ == "__main__":
    main()
