"""`powertune report` and `powertune compare` in-process, on executions of the local engine."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from powertuning.cli import main
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime, cpu_bound

# Each test runs whole executions of the state machine.
pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Outcome:
    """What one CLI call returned and printed."""

    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Executions:
    """ARNs of the executions this module reports on."""

    detailed: str  # includeOutputResults: true
    averages_only: str  # includeOutputResults: false
    failed: str


@pytest.fixture(scope="module")
def engine(start_engine: Callable[[SimulatedRuntime], LocalEngine]) -> LocalEngine:
    """One moto world with the tuner deployed; the function fails at 640 MB."""
    return start_engine(
        SimulatedRuntime(cpu_bound(100), min_memory_mb=200, fail_with={640: ("ValueError", "boom")})
    )


@pytest.fixture(scope="module")
def executions(engine: LocalEngine) -> Executions:
    """A detailed run with a skipped size, a run without stats, and a failed run."""
    arn = engine.create_target(name="report-target", handler="app.handler", code_dir=None, memory_mb=256)
    sizes = [128, 256, 512, 1024, 2048]
    detailed = engine.run(
        {"lambdaARN": arn, "num": 5, "powerValues": sizes, "includeOutputResults": True, "onError": "skip"}
    )
    averages = engine.run({"lambdaARN": arn, "num": 5, "powerValues": sizes[1:]})
    failed = engine.run({"lambdaARN": arn, "num": 5, "powerValues": [256, 640]})
    assert (detailed.status, averages.status, failed.status) == ("SUCCEEDED", "SUCCEEDED", "FAILED")
    return Executions(detailed.execution_arn, averages.execution_arn, failed.execution_arn)


@pytest.fixture
def powertune(engine: LocalEngine, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Runs `powertune ARGS` in-process; returns code and output."""

    def call(*args: str) -> Outcome:
        code = main(list(args))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


class _Loads(HTMLParser):
    """Collects every URL the page would load by itself (links to click are not loads)."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "srcset", "data", "poster", "action", "xlink:href") or (
                name == "href" and tag != "a"
            ):
                self.loads.append(value or "")


def remote_loads(html: str) -> list[str]:
    """Every http(s) or protocol-relative address the page would fetch on its own."""
    parser = _Loads()
    parser.feed(html)
    css = re.findall(r"url\(([^)]*)\)|@import\s+([^;]+)", html)
    candidates = parser.loads + [a or b for a, b in css]
    return [c for c in candidates if re.match(r"""^\s*['"]?\s*(https?:)?//""", c)]


def assert_valid_png(path: Path) -> None:
    """The file is a PNG that matplotlib decodes into a picture of a sensible size."""
    from matplotlib import image

    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = image.imread(path)
    assert pixels.shape[0] > 200
    assert pixels.shape[1] > 400
    assert pixels.std() > 0.05  # not a blank canvas


def test_report_from_an_execution_arn(powertune, executions, tmp_path):
    html, png = tmp_path / "report.html", tmp_path / "chart.png"

    result = powertune("report", executions.detailed, "--html", str(html), "--png", str(png))

    assert result.code == 0, result.err
    # stdout: the table with the recommendation marked, and the reference tool's link
    assert "* recommended: 1024 MB" in result.out
    assert "Visualization: https://lambda-power-tuning.show/#" in result.out
    assert f"wrote {html}" in result.err
    assert f"wrote {png}" in result.err
    page = html.read_text()
    assert remote_loads(page) == []
    assert "<script" not in page
    assert "default-src 'none'" in page  # the browser would refuse any load anyway
    # The chart is inline SVG with one point per measured size; the percentile table is there.
    assert page.count('class="point-duration"') == 4
    assert page.count('class="p-range"') == 4
    assert "skipped: Runtime.OutOfMemory" in page
    assert "<th>p50</th><th>p90</th><th>p99</th>" in page
    assert "Power tuning report: report-target" in page
    # The header says what the execution's description says, and that Step Functions ran it
    assert "<dt>Measured on</dt><dd>AWS Lambda</dd>" in page
    assert "<dt>Strategy</dt><dd>cost</dd>" in page
    assert "<dt>Sampling</dt><dd>fixed, 5 invocations per size</dd>" in page
    assert_valid_png(png)


def test_report_from_a_saved_output_file(powertune, engine, executions, tmp_path):
    saved = tmp_path / "result.json"
    output = engine.sfn_client.describe_execution(executionArn=executions.detailed)["output"]
    saved.write_text(output)

    result = powertune("report", str(saved), "-o", str(tmp_path / "out.html"))

    assert result.code == 0, result.err
    assert "* recommended: 1024 MB" in result.out
    assert (tmp_path / "out.html").stat().st_size > 2000


def test_report_from_stdin(powertune, engine, executions, tmp_path, monkeypatch):
    output = engine.sfn_client.describe_execution(executionArn=executions.detailed)["output"]
    monkeypatch.setattr("sys.stdin", io.StringIO(output))

    result = powertune("report", "-", "--html", str(tmp_path / "stdin.html"))

    assert result.code == 0, result.err
    assert (tmp_path / "stdin.html").exists()


def test_report_without_stats_reads_the_visualization_link(powertune, executions, tmp_path):
    html = tmp_path / "averages.html"
    result = powertune("report", executions.averages_only, "--html", str(html))

    assert result.code == 0, result.err
    page = html.read_text()
    assert page.count('class="point-duration"') == 4
    assert 'class="p-range"' not in page  # no percentiles to draw
    assert "read from the visualization link" in page


def test_report_of_a_failed_execution_exits_1_with_its_cause(powertune, executions, tmp_path):
    result = powertune("report", executions.failed, "--html", str(tmp_path / "x.html"))

    assert result.code == 1
    assert "Error: TargetFunctionError" in result.err
    assert "Cause: at 640 MB the function failed with ValueError: boom" in result.err
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("not json", "is not JSON"),
        (json.dumps({"hello": 1}), "not an execution output: missing power, cost, duration, stateMachine"),
        (json.dumps([1, 2]), "an execution output is a JSON object"),
    ],
    ids=["missing", "not-json", "not-an-output", "not-an-object"],
)
def test_unreadable_result_exits_2(powertune, tmp_path, content, message):
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content)

    result = powertune("report", str(path), "--html", str(tmp_path / "x.html"))

    assert result.code == 2
    assert message in result.err


def test_compare_overlays_two_results(powertune, engine, executions, tmp_path):
    # GIVEN one result saved to a file and another read by ARN
    saved = tmp_path / "x86_64.json"
    saved.write_text(engine.sfn_client.describe_execution(executionArn=executions.detailed)["output"])
    html, png = tmp_path / "compare.html", tmp_path / "compare.png"

    # WHEN they are compared
    result = powertune(
        "compare", str(saved), executions.averages_only, "--label", "x86_64", "--label", "arm64",
        "--html", str(html), "--png", str(png),
    )  # fmt: skip

    # THEN a side-by-side table and one report with both series
    assert result.code == 0, result.err
    header = result.out.splitlines()[0].split()
    assert header[:3] == ["Memory", "x86_64", "avg"]
    assert "arm64" in header
    assert "* x86_64: 1024 MB" in result.out
    assert "* arm64: 1024 MB" in result.out
    page = html.read_text()
    assert remote_loads(page) == []
    assert page.count('<g class="series"') == 2
    assert 'data-label="x86_64"' in page
    assert 'data-label="arm64"' in page
    assert "Power tuning comparison: x86_64 vs arm64" in page
    assert_valid_png(png)


def test_compare_tells_apart_results_with_the_same_name(powertune, engine, executions, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "result.json").write_text(
            engine.sfn_client.describe_execution(executionArn=executions.detailed)["output"]
        )

    result = powertune(
        "compare", str(tmp_path / "a/result.json"), str(tmp_path / "b/result.json"),
        "--html", str(tmp_path / "c.html"),
    )  # fmt: skip

    assert result.code == 0, result.err
    assert "* A (result): 1024 MB" in result.out
    assert "* B (result): 1024 MB" in result.out


def test_compare_with_a_failed_execution_exits_1(powertune, executions, tmp_path):
    result = powertune("compare", executions.detailed, executions.failed, "--html", str(tmp_path / "c.html"))
    assert result.code == 1
    assert "Cause: at 640 MB" in result.err


def test_compare_rejects_a_third_label(powertune, executions):
    result = powertune("compare", "a.json", "b.json", "--label", "1", "--label", "2", "--label", "3")
    assert result.code == 2
