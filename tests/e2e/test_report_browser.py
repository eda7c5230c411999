"""The HTML report rendered by a real browser: headless Chromium draws the inline SVG chart.

Skips, saying why, where no Chromium is installed (`.ci/run` installs Debian's chromium package).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from powertuning.analysis import recommend
from powertuning.models import SizeResult
from powertuning.report import TuningResult, write_html
from powertuning.report.svg import PALETTE

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
    write_html(path, [TuningResult.from_output(output)])
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
