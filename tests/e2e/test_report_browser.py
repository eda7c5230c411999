"""The HTML report rendered by a real browser: headless Chromium draws the inline SVG chart.

Skips, saying why, where no Chromium is installed (`.ci/run` installs Debian's chromium package).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from powertuning.analysis import recommend
from powertuning.report import RunMetadata, TuningResult, write_html
from powertuning.report.html import CSP
from powertuning.report.svg import PALETTE
from powertuning.size_result import SizeResult

# Each test starts a browser process.
pytestmark = pytest.mark.slow

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Root in a container needs --no-sandbox; the others keep Chromium from calling home at start.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--hide-scrollbars",
)
SIZES = (128, 256, 512, 1024, 1536, 3008)


@pytest.fixture(scope="module")
def browser() -> str:
    """The Chromium executable, or a skip with the reason."""
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium): the report was not rendered")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of a six-size tuning result."""
    results = [
        SizeResult(
            value=v,
            average_duration=100 * 1769 / min(v, 1769),
            average_price=(v / 1024) * 1.6e-6 * 1769 / min(v, 1769),
            p50=90 * 1769 / min(v, 1769),
            p90=120 * 1769 / min(v, 1769),
            p99=150 * 1769 / min(v, 1769),
            invocations=10,
        )
        for v in SIZES
    ]
    output = recommend(
        results,
        strategy="balanced",
        balanced_weight=0.5,
        region="us-east-1",
        transitions=40,
        include_stats=True,
    ).to_dict()
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(path, [TuningResult.from_dict(output)])
    return path


def _chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_browser_parses_the_chart_into_svg_elements(browser, report, tmp_path):
    # WHEN Chromium loads the report and dumps the DOM it built
    done = _chromium(browser, tmp_path / "profile", "--dump-dom", report.as_uri())

    # THEN the chart is an SVG element with a line and a point per memory size for both metrics
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert '<svg class="chart"' in dom
    assert dom.count('class="point-duration"') == len(SIZES)
    assert dom.count('class="point-cost"') == len(SIZES)
    assert 'class="line-duration"' in dom
    assert 'class="line-cost"' in dom
    assert "Recommended memory" in dom


def _matches(pixels: Any, hex_color: str, tolerance: float = 12 / 255) -> Any:
    rgb = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return (abs(pixels[:, :, :3] - rgb) <= tolerance).all(axis=2)


def test_screenshot_shows_both_lines_across_the_chart(browser, report, tmp_path):
    from matplotlib import image

    # WHEN Chromium renders the report to a PNG
    shot = tmp_path / "shot.png"
    done = _chromium(
        browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,1200", report.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists(), done.stderr[-2000:]

    # THEN the duration and cost colours are painted, spread across the plot's width
    pixels = image.imread(shot)
    duration_color, cost_color = PALETTE[0]
    for color in (duration_color, cost_color):
        mask = _matches(pixels, color)
        columns = mask.any(axis=0).nonzero()[0]
        assert mask.sum() > 500, f"{color}: {mask.sum()} pixels"
        assert columns.max() - columns.min() > 500, f"{color} spans {columns.min()}..{columns.max()}"
    # AND the recommended size's column is highlighted
    assert _matches(pixels, "#fff3bf", tolerance=4 / 255).sum() > 5000


# aws-lambda-power-tuning's own output: per size only value, averagePrice and averageDuration.
REFERENCE_OUTPUT = {
    "power": 512,
    "cost": 3.2e-6,
    "duration": 360.0,
    "stateMachine": {"executionCost": 0.0003, "lambdaCost": 0.0001, "visualization": ""},
    "stats": [
        {"value": v, "averagePrice": p, "averageDuration": d}
        for v, p, d in (
            (128, 3.1e-6, 1400.0),
            (512, 3.2e-6, 360.0),
            (1024, 3.4e-6, 190.0),
            (3008, 6.2e-6, 121.0),
        )
    ],
}
# Reads the layout the browser computed into the DOM, for --dump-dom to carry out. Only the test's
# copy of the page runs it: the report itself has no script and a CSP that forbids any.
MEASURE = """
<script>
const root = document.documentElement;
const box = (el) => el.getBoundingClientRect();
const plot = box(document.querySelector("svg.chart > rect"));
const costTicks = [...document.querySelectorAll("g.y-cost text")].filter((t) => !t.hasAttribute("transform"));
const zero = costTicks.find((t) => parseFloat(t.textContent) === 0);
const out = {
  scrollWidth: root.scrollWidth,
  clientWidth: root.clientWidth,
  innerWidth: window.innerWidth,
  overflowingBoxes: [...document.querySelectorAll(".table-box, .chart-box")]
    .filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.className),
  costTicks: costTicks.map((t) => t.textContent),
  zeroTickCentre: zero ? (box(zero).top + box(zero).bottom) / 2 : null,
  plotBottom: plot.bottom,
  header: [...document.querySelectorAll("dl.meta dt")]
    .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]),
  sizeRows: [...document.querySelectorAll("table.sizes tbody tr")]
    .map((tr) => [...tr.cells].map((td) => td.innerText)),
};
const pre = document.createElement("pre");
pre.id = "measured";
pre.textContent = JSON.stringify(out);
document.body.append(pre);
</script>
"""


def _measured(browser: str, page: Path, tmp_path: Path, width: int) -> dict[str, Any]:
    html = page.read_text(encoding="utf-8")
    assert CSP in html
    probe = tmp_path / "probe.html"
    probe.write_text(
        html.replace(
            CSP, "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
        ).replace("</body>", MEASURE + "</body>"),
        encoding="utf-8",
    )
    done = _chromium(
        browser, tmp_path / "profile", f"--window-size={width},900", "--dump-dom", probe.as_uri()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-2000:]
    return dict(json.loads(found[1].replace("&quot;", '"').replace("&amp;", "&")))


@pytest.fixture(scope="module")
def reference_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a reference-tool output, with a long function name, measured locally."""
    meta = RunMetadata(
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:" + "checkout-service-" * 3 + "handler",
        started=datetime(2026, 11, 23, 7, 54, 34, tzinfo=UTC),
        strategy="balanced",
        balanced_weight=0.4,
        sampling="fixed",
        num=50,
        measured_on="local",
        cpu_mode="cgroup-v1",
    )
    path = tmp_path_factory.mktemp("reference") / "report.html"
    write_html(path, [TuningResult.from_dict(REFERENCE_OUTPUT)], metadata=meta)
    return path


def test_reference_output_renders_metadata_and_dashes_without_overflow(browser, reference_report, tmp_path):
    # WHEN Chromium lays the page out in a 1,280 px wide window
    measured = _measured(browser, reference_report, tmp_path, 1280)

    # THEN nothing is wider than the window: no horizontal scrollbar, none inside the page either
    assert measured["innerWidth"] == 1280
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert measured["overflowingBoxes"] == []
    # AND the header says which function, when, which strategy, how many, and where it was measured
    header = dict(measured["header"])
    assert header["Function"].endswith(":function:checkout-service-checkout-service-checkout-service-handler")
    assert header["Measured"] == "2026-11-23 07:54:34 UTC"
    assert header["Strategy"].startswith("balanced (balancedWeight 0.4")
    assert header["Sampling"] == "fixed, 50 invocations per size"
    assert header["Measured on"] == "this machine (powertune local, CPU mode cgroup-v1)"
    # AND what the reference output lacks is "—", never 0
    first = measured["sizeRows"][0]
    assert first[0] == "128 MB"
    assert first[2:5] == ["—", "—", "—"]  # p50, p90, p99
    assert first[7:] == ["—", "—", "—"]  # invocations, cold starts, errors
    # AND the cost axis starts at 0, drawn at the bottom of the plot
    assert float(measured["costTicks"][0]) == 0
    assert measured["zeroTickCentre"] == pytest.approx(measured["plotBottom"], abs=6)


def test_detailed_report_fits_1280_px(browser, report, tmp_path):
    measured = _measured(browser, report, tmp_path, 1280)
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert measured["overflowingBoxes"] == []
    # A saved output says nothing of the run: the header shows "—" rather than guessing.
    assert dict(measured["header"])["Measured on"] == "—"
