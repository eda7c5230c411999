"""The report package: reading execution outputs, the inline SVG chart, the HTML page, the PNG."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from powertuning.analysis import recommend
from powertuning.models import SizeResult
from powertuning.report import (
    ResultFormatError,
    TuningResult,
    render_chart,
    render_html,
    write_html,
    write_png,
)
from powertuning.report.scale import Linear, decimals_for, label_every, nice_ticks
from powertuning.visualization import decode


def size(value: int, duration: float, price: float) -> SizeResult:
    """A measured size with percentiles around its average."""
    return SizeResult(
        value=value,
        average_price=price,
        average_duration=duration,
        total_cost=price * 10,
        p50=duration * 0.98,
        p90=duration * 1.1,
        p99=duration * 1.3,
        invocations=10,
        cold_starts=1,
        errors=0,
    )


RESULTS = [
    size(128, 1400.0, 3.1e-6),
    size(256, 700.0, 3.0e-6),
    size(512, 360.0, 3.2e-6),
    size(1024, 190.0, 3.4e-6),
    size(2048, 120.0, 4.1e-6),
]


def output(include_stats: bool = True, skipped: tuple[SizeResult, ...] = ()) -> dict[str, Any]:
    """An execution output made by the core's own `recommend`."""
    return recommend(
        [*RESULTS, *skipped],
        strategy="cost",
        balanced_weight=0.5,
        region="us-east-1",
        transitions=30,
        include_stats=include_stats,
    ).to_dict()


OOM = SizeResult(value=64, skipped=True, reason="Runtime.OutOfMemory: <killed> & gone")


# -- reading outputs ---------------------------------------------------------------------------
def test_result_reads_stats_and_skipped_sizes():
    result = TuningResult.from_output(output(skipped=(OOM,)))
    assert (result.power, result.detailed) == (256, True)
    assert [s.value for s in result.sizes] == [128, 256, 512, 1024, 2048]
    assert result.skipped == ((64, "Runtime.OutOfMemory: <killed> & gone"),)
    assert result.recommended is not None
    assert result.recommended.p99 == pytest.approx(910.0)
    assert result.total_cost == pytest.approx(result.execution_cost + result.lambda_cost)


def test_result_without_stats_decodes_the_visualization_link():
    result = TuningResult.from_output(output(include_stats=False))
    assert result.detailed is False
    assert [(s.value, s.average_duration) for s in result.sizes] == [
        (s.value, s.average_duration) for s in RESULTS
    ]
    assert [s.average_price for s in result.sizes] == pytest.approx(
        [s.average_price for s in RESULTS], rel=1e-6
    )


def test_result_from_a_describe_execution_document():
    document = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:tuner:run-1",
        "status": "SUCCEEDED",
        "input": json.dumps({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:checkout"}),
        "output": json.dumps(output()),
    }
    result = TuningResult.from_document(document, label="x")
    assert result.function_name == "checkout"
    assert dict(result.meta) == {
        "Function": "arn:aws:lambda:us-east-1:123456789012:function:checkout",
        "Strategy": "cost",
        "Execution": document["executionArn"],
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "an execution output is a JSON object, got list"),
        ({"power": 128}, "missing cost, duration, stateMachine"),
        ({"power": 1, "cost": 1, "duration": 1, "stateMachine": 3}, "stateMachine must be an object"),
        ({**output(), "stats": [{"value": "big"}]}, "malformed execution output"),
        ({"status": "FAILED", "output": None, "error": "E", "cause": "C"}, "the execution is FAILED: E C"),
    ],
)
def test_result_rejects_what_is_not_an_output(document, message):
    with pytest.raises(ResultFormatError, match=re.escape(message)):
        TuningResult.from_document(document)


# -- axes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 1400, [0, 500, 1000, 1500]),
        (0, 97, [0, 20, 40, 60, 80, 100]),
        (3.08, 5.1, [3.0, 3.5, 4.0, 4.5, 5.0, 5.5]),
        (0.3, 0.3, [0.26, 0.28, 0.3, 0.32, 0.34]),  # a flat series gets +-10% around it
        (0, 0, [-1.0, -0.5, 0.0, 0.5, 1.0]),
    ],
)
def test_nice_ticks_cover_the_range_with_round_steps(low, high, expected):
    assert nice_ticks(low, high) == pytest.approx(expected)


def test_nice_ticks_reject_infinite_bounds():
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, float("inf"))


def test_decimals_linear_and_label_thinning():
    assert decimals_for([0, 500, 1000]) == 0
    assert decimals_for([3.0, 3.5]) == 1
    assert decimals_for([0.25, 0.5]) == 2
    y = Linear(0, 100, 300, 100)  # y axes grow upwards
    assert (y(0), y(50), y(100)) == (300, 200, 100)
    assert (label_every(6), label_every(46)) == (1, 4)


# -- chart and page ----------------------------------------------------------------------------
def test_chart_has_a_point_per_size_the_recommendation_and_skipped_sizes():
    svg = render_chart([TuningResult.from_output(output(skipped=(OOM,)))])
    assert svg.startswith('<svg class="chart" xmlns="http://www.w3.org/2000/svg"')
    assert svg.count('class="point-duration"') == 5
    assert svg.count('class="point-cost"') == 5
    assert svg.count('class="p-range"') == 5
    assert 'class="recommended-band"' in svg
    assert "recommended 256 MB" in svg
    assert "64 MB skipped: Runtime.OutOfMemory: &lt;killed&gt; &amp; gone" in svg
    # Every polyline has one vertex per measured size.
    for points in re.findall(r'<polyline class="line-\w+" points="([^"]+)"', svg):
        assert len(points.split()) == 5


def test_chart_without_any_measurement_says_so():
    result = TuningResult.from_output({**output(include_stats=False), "stateMachine": {"visualization": ""}})
    assert "No memory size was measured" in render_chart([result])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_page_is_self_contained_and_escapes_what_it_is_given():
    # GIVEN labels and reasons that look like markup
    hostile = TuningResult.from_output(output(skipped=(OOM,)), label='<script>alert("x")</script>')
    page = render_html([hostile, TuningResult.from_output(output(), label="arm64")])

    parser = _Tags()
    parser.feed(page)
    tags = {tag for tag, _ in parser.tags}
    # THEN nothing is loaded: no script, stylesheet link, image or frame, and a CSP that forbids loads
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    csp = next(a for t, a in parser.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp["content"] is not None
    assert csp["content"].startswith("default-src 'none'")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # AND the only remote addresses are links to the reference tool's visualization
    hrefs = [a["href"] for t, a in parser.tags if t == "a"]
    assert hrefs
    assert all(str(h).startswith("https://lambda-power-tuning.show/#") for h in hrefs)


def test_page_links_the_same_data_as_the_reference_visualization(tmp_path):
    result = TuningResult.from_output(output())
    path = tmp_path / "r.html"
    assert write_html(path, [result]) == path.stat().st_size
    href = re.search(r'<a href="([^"]+)"', path.read_text())
    assert href is not None
    points = decode(href[1].split("#", 1)[1])
    assert [p.power for p in points] == [s.value for s in RESULTS]


def test_render_html_needs_a_result():
    with pytest.raises(ValueError, match="at least one result"):
        render_html([])


def test_png_is_a_valid_image(tmp_path):
    from matplotlib import image

    path = tmp_path / "chart.png"
    written = write_png(path, [TuningResult.from_output(output(), label="x86_64")], title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written == path.stat().st_size
    height, width, _ = image.imread(path).shape
    assert (width, height) == (1080, 552)  # 9 x 4.6 inches at 120 dpi
