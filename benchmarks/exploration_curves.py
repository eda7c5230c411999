"""Curves for the exploration benchmark: measured invocations per memory size, from four file formats.

The formats, and how a size between two measured ones is drawn, are described in
benchmarks/exploration.py.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

from powertuning.logs import Report

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Summary CSV curves: samples are quantiles of a lognormal fitted to median and p95.
SUMMARY_COLUMNS = ("memory_mb", "n", "mean_ms", "median_ms", "p5_ms", "p95_ms")
SUMMARY_POINTS = 200
SUMMARY_CHECK = 0.1  # warn when the fitted lognormal misses the measured mean or p5 by more than 10%

# -- curves ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obs:
    """One measured invocation: Duration and Init Duration in ms."""

    duration_ms: float
    init_ms: float = 0.0

    def report(self, memory_mb: int) -> Report:
        """The REPORT record Lambda would write, billed by the August 2025 rule."""
        return Report(
            duration_ms=self.duration_ms,
            billed_duration_ms=math.ceil(self.duration_ms + self.init_ms),
            memory_size_mb=memory_mb,
            init_duration_ms=self.init_ms,
        )


@dataclass(frozen=True)
class Population:
    """What one memory size's invocations are drawn from."""

    steady: tuple[Obs, ...]
    first: tuple[Obs, ...] = ()


@dataclass
class Curve:
    """Measured invocations per memory size of one function."""

    name: str
    architecture: str
    measured: dict[int, Population]
    _cache: dict[int, Population] = field(default_factory=dict, repr=False)

    @property
    def sizes(self) -> list[int]:
        """Measured memory sizes, ascending."""
        return sorted(self.measured)

    def at(self, memory_mb: int) -> Population:
        """The measured population, or one interpolated between the two measured neighbours."""
        if memory_mb in self.measured:
            return self.measured[memory_mb]
        if memory_mb not in self._cache:
            sizes = self.sizes
            if not sizes[0] < memory_mb < sizes[-1]:
                raise ValueError(
                    f"{memory_mb} MB is outside the curve {self.name} ({sizes[0]}-{sizes[-1]} MB)"
                )
            low = max(s for s in sizes if s < memory_mb)
            high = min(s for s in sizes if s > memory_mb)
            # Linear in 1/memory: exact for CPU-bound time and for time that does not scale.
            weight = (1 / low - 1 / memory_mb) / (1 / low - 1 / high)
            a, b = self.measured[low], self.measured[high]
            self._cache[memory_mb] = Population(
                _blend(a.steady, b.steady, weight),
                _blend(a.first, b.first, weight) if a.first and b.first else (),
            )
        return self._cache[memory_mb]


def _blend(a: Sequence[Obs], b: Sequence[Obs], weight: float) -> tuple[Obs, ...]:
    # Quantile interpolation: the i-th of n quantiles of each side, blended.
    n = max(len(a), len(b))
    qa, qb = sorted(a, key=_key), sorted(b, key=_key)
    out = []
    for i in range(n):
        x, y = qa[i * len(qa) // n], qb[i * len(qb) // n]
        out.append(
            Obs(
                x.duration_ms + (y.duration_ms - x.duration_ms) * weight,
                x.init_ms + (y.init_ms - x.init_ms) * weight,
            )
        )
    return tuple(out)


def _key(o: Obs) -> float:
    return o.duration_ms + o.init_ms


def load_sebs(path: Path) -> Curve:
    """A SeBS `result.csv` (durations in µs), split into warm and cold rows."""
    rows: dict[int, list[dict[str, str]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(int(row["memory"]), []).append(row)
    measured = {}
    for memory, items in rows.items():
        warm = [r for r in items if not _truthy(r["is_cold"])]
        cold = [r for r in items if _truthy(r["is_cold"])]
        gap = statistics.median(_gap_ms(r) for r in warm) if warm else 0.0
        measured[memory] = Population(
            tuple(Obs(float(r["provider_time"]) / 1000) for r in warm),
            tuple(Obs(float(r["provider_time"]) / 1000, max(1.0, _gap_ms(r) - gap)) for r in cold),
        )
    return Curve(f"sebs:{path.name.removesuffix('_result.csv')}", "x86_64", _non_empty(measured, path))


def _gap_ms(row: dict[str, str]) -> float:
    return (float(row["client_time"]) - float(row["provider_time"])) / 1000


def load_mbwilding(path: Path, runtime: str | None = None, arch: str | None = None) -> list[Curve]:
    """One curve per runtime and architecture of the mbwilding JSON (all, or those named)."""
    data = json.loads(path.read_text())
    if runtime is not None and runtime not in data:
        raise SystemExit(f"{path.name} has no runtime {runtime!r}; it has {', '.join(sorted(data))}")
    curves = []
    for name in sorted(data) if runtime is None else [runtime]:
        archs = data[name]
        if arch is not None and arch not in archs:
            raise SystemExit(
                f"{path.name} has no architecture {arch!r} for {name}; it has {', '.join(archs)}"
            )
        for architecture in sorted(archs) if arch is None else [arch]:
            measured = {
                int(memory): Population(
                    tuple(Obs(float(s["duration"]), float(s.get("init_duration", 0.0))) for s in samples)
                )
                for memory, samples in archs[architecture].items()
            }
            curves.append(Curve(f"mbwilding:{name}/{architecture}", architecture, _non_empty(measured, path)))
    return curves


def load_plain(path: Path) -> Curve:
    """Plain CSV rows `memory_mb,duration_ms[,is_cold[,init_ms]]`; a header line is skipped."""
    steady: dict[int, list[Obs]] = {}
    first: dict[int, list[Obs]] = {}
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().startswith("#"):
                continue
            try:
                memory, duration = int(row[0]), float(row[1])
            except (ValueError, IndexError):
                if number == 1:
                    continue  # header
                raise SystemExit(
                    f"{path}:{number}: expected memory_mb,duration_ms[,is_cold[,init_ms]]"
                ) from None
            cold = len(row) > 2 and _truthy(row[2])
            init = float(row[3]) if len(row) > 3 and row[3].strip() else 0.0
            (first if cold else steady).setdefault(memory, []).append(Obs(duration, init))
    measured = {
        m: Population(tuple(steady.get(m) or first[m]), tuple(first.get(m, ())) if steady.get(m) else ())
        for m in set(steady) | set(first)
    }
    return Curve(f"csv:{path.stem}", "x86_64", _non_empty(measured, path))


def load_summary(path: Path) -> Curve:
    """A summary CSV, one row per size `memory_mb,n,mean_ms,median_ms,p5_ms,p95_ms`: a lognormal each.

    The lognormal is fitted to the median and the p95 (mu = ln median, sigma = ln(p95 / median) /
    z_0.95), the figures that describe the body and the tail the race trims; the population is its
    SUMMARY_POINTS evenly spaced quantiles, so a run draws from it like from measured rows. The mean
    and p5 check the fit: a miss of more than 10% (a tail heavier or lighter than lognormal, or a
    skew to the left) is reported on stderr. A summary has no cold start: none is simulated.
    """
    z95 = NormalDist().inv_cdf(0.95)
    quantiles = [NormalDist().inv_cdf((i + 0.5) / SUMMARY_POINTS) for i in range(SUMMARY_POINTS)]
    measured = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in SUMMARY_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise SystemExit(f"{path}: a summary curve needs the columns {','.join(SUMMARY_COLUMNS)}")
        for number, row in enumerate(reader, start=2):
            try:
                memory = int(row["memory_mb"])
                mean, median, p5, p95 = (float(row[c]) for c in SUMMARY_COLUMNS[2:])
            except (ValueError, TypeError):
                raise SystemExit(f"{path}:{number}: expected {','.join(SUMMARY_COLUMNS)}") from None
            if not 0 < p5 <= median <= p95:
                raise SystemExit(f"{path}:{number}: needs 0 < p5_ms <= median_ms <= p95_ms")
            sigma = math.log(p95 / median) / z95
            for name, fitted, given in (
                ("mean", median * math.exp(sigma**2 / 2), mean),
                ("p5", median * math.exp(-z95 * sigma), p5),
            ):
                if given > 0 and abs(fitted / given - 1) > SUMMARY_CHECK:
                    print(
                        f"{path}:{number}: {memory} MB: the lognormal fitted to median and p95 has "
                        f"{name} {fitted:.1f} ms, measured {given:.1f} ms",
                        file=sys.stderr,
                    )
            measured[memory] = Population(
                tuple(Obs(round(median * math.exp(sigma * z), 2)) for z in quantiles)
            )
    return Curve(f"summary:{path.stem}", "x86_64", _non_empty(measured, path))


def _truthy(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "cold")


def _non_empty(measured: dict[int, Population], path: Path) -> dict[int, Population]:
    if len(measured) < 2:
        raise SystemExit(f"{path}: a curve needs at least two memory sizes, found {sorted(measured)}")
    return measured


def load_curves(spec: str) -> list[Curve]:
    """Curves named by `FILE`, `FILE#runtime` or `FILE#runtime/arch` (by the file's format)."""
    file, _, selector = spec.partition("#")
    path = Path(file)
    if not path.is_file():
        raise SystemExit(f"--curve {spec}: no such file")
    if path.suffix == ".json":
        runtime, _, arch = selector.partition("/")
        return load_mbwilding(path, runtime or None, arch or None)
    if selector:
        raise SystemExit(f"--curve {spec}: only JSON curves take #runtime/arch")
    with path.open() as handle:
        header = handle.readline()
    if "provider_time" in header:
        return [load_sebs(path)]
    return [load_summary(path) if "median_ms" in header else load_plain(path)]


def default_curve_specs() -> list[str]:
    """Every curve file in ../shared/data (beside the repository)."""
    files = sorted(DATA.glob("**/*result.csv")) + sorted(DATA.glob("*.json"))
    if not files:
        raise SystemExit(f"no curves found in {DATA}; name them with --curve FILE")
    return [str(f) for f in files]
