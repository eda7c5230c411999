"""The report package: reading execution outputs, the inline SVG chart, the HTML page, the PNG."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from powertuning.analysis import LatencyTarget, recommend
from powertuning.report import (
    ResultFormatError,
    RunMetadata,
    TuningResult,
    render_chart,
    render_html,
    write_html,
    write_png,
)
from powertuning.report.scale import Linear, decimals_for, duration_reach, label_every, nice_ticks
from powertuning.size_result import SizeResult
from powertuning.size_stats import SizeStats
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
    result = TuningResult.from_dict(output(skipped=(OOM,)))
    assert (result.power, result.detailed) == (256, True)
    assert [s.value for s in result.sizes] == [128, 256, 512, 1024, 2048]
    assert result.skipped == ((64, "Runtime.OutOfMemory: <killed> & gone"),)
    assert result.recommended is not None
    assert result.recommended.p99 == pytest.approx(910.0)
    assert result.total_cost == pytest.approx(result.execution_cost + result.lambda_cost)


def test_result_without_stats_decodes_the_visualization_link():
    result = TuningResult.from_dict(output(include_stats=False))
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
    assert result.metadata == RunMetadata(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:checkout",
        strategy="cost",
        sampling="fixed",
        execution_arn=document["executionArn"],
    )


def test_metadata_from_a_description_and_what_the_caller_adds():
    # GIVEN a saved describe-execution answer of a balanced, adaptive run
    document = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:tuner:run-2",
        "startDate": "2026-11-23T07:54:34.123000+00:00",
        "input": json.dumps({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f",
                             "strategy": "balanced", "balancedWeight": 0.3, "sampling": "adaptive",
                             "num": 40}),
        "output": json.dumps(output()),
    }  # fmt: skip
    # WHEN the caller adds what only it knows
    result = TuningResult.from_document(
        document, metadata=RunMetadata(measured_on="aws", latency_target_ms=250.0)
    )
    # THEN both are there
    meta = result.metadata
    assert (meta.strategy, meta.balanced_weight, meta.sampling, meta.num) == ("balanced", 0.3, "adaptive", 40)
    assert meta.started == datetime(2026, 11, 23, 7, 54, 34, 123000, tzinfo=UTC)
    assert (meta.measured_on, meta.latency_target_ms) == ("aws", 250.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measured_on": "mars"}, "measured_on must be one of aws, local"),
        ({"measured_on": "aws", "cpu_mode": "cgroup-v1"}, "cpu_mode describes the local runtime"),
        ({"started": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_metadata_rejects_what_cannot_be_true(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunMetadata(**kwargs)


# What aws-lambda-power-tuning's own output carries per size: three keys, nothing else.
REFERENCE_OUTPUT = {
    "power": 512,
    "cost": 3.2e-6,
    "duration": 360.0,
    "stateMachine": {"executionCost": 0.0003, "lambdaCost": 0.0001, "visualization": ""},
    "stats": [
        {"value": 128, "averagePrice": 3.1e-6, "averageDuration": 1400.0},
        {"value": 512, "averagePrice": 3.2e-6, "averageDuration": 360.0},
        {"value": 2048, "averagePrice": 4.1e-6, "averageDuration": 120.0},
    ],
}


def test_reference_tool_output_leaves_what_it_lacks_unknown():
    result = TuningResult.from_dict(REFERENCE_OUTPUT)
    s = result.sizes[0]
    assert (s.value, s.average_duration, s.average_price) == (128, 1400.0, 3.1e-6)
    assert (s.p50, s.p90, s.p99, s.invocations, s.cold_starts, s.errors) == (None,) * 6
    assert result.detailed is False


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
    svg = render_chart([TuningResult.from_dict(output(skipped=(OOM,)))])
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
    result = TuningResult.from_dict({**output(include_stats=False), "stateMachine": {"visualization": ""}})
    assert "No memory size was measured" in render_chart([result])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_page_is_self_contained_and_escapes_what_it_is_given():
    # GIVEN labels and reasons that look like markup
    hostile = TuningResult.from_dict(output(skipped=(OOM,)), label='<script>alert("x")</script>')
    page = render_html([hostile, TuningResult.from_dict(output(), label="arm64")])

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
    result = TuningResult.from_dict(output())
    path = tmp_path / "r.html"
    assert write_html(path, [result]) == path.stat().st_size
    href = re.search(r'<a href="([^"]+)"', path.read_text())
    assert href is not None
    points = decode(href[1].split("#", 1)[1])
    assert [p.power for p in points] == [s.value for s in RESULTS]


def _cells(page: str, table: str) -> list[list[str]]:
    body = page.split(f'<table class="{table}">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1])
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def test_page_shows_a_dash_never_a_zero_for_what_the_reference_output_lacks():
    page = render_html([TuningResult.from_dict(REFERENCE_OUTPUT)])
    rows = _cells(page, "sizes")
    # Memory, Average, p50, p90, p99, Cost/invocation, Cost/1M, Invocations, Cold starts, Errors
    assert rows[0] == ["128 MB", "1,400.00 ms", "—", "—", "—", "$0.000003100", "$3.10", "—", "—", "—"]
    assert 'class="p-range"' not in page
    # AND the header says "—" for what nobody told it
    assert '<dt>Strategy</dt><dd class="unknown">—</dd>' in page
    assert '<dt>Measured on</dt><dd class="unknown">—</dd>' in page


def test_page_shows_invocations_and_errors_of_a_detailed_result():
    rows = _cells(render_html([TuningResult.from_dict(output())]), "sizes")
    assert rows[1][7:] == ["10", "1", "0"]


def test_page_header_says_what_when_and_how_it_was_measured():
    # GIVEN a local balanced run whose caller says what only it knows
    meta = RunMetadata(
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:primes",
        started=datetime(2026, 11, 23, 7, 54, 34, tzinfo=UTC),
        strategy="balanced",
        balanced_weight=0.25,
        latency_target_ms=500.0,
        sampling="fixed",
        num=20,
    )
    result = TuningResult.from_dict(output(), metadata=meta)
    # WHEN it is rendered with the local runtime's keyword
    page = render_html([result], metadata=RunMetadata(measured_on="local", cpu_mode="cpu-time-model"))
    # THEN every item is in the header
    header = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", page))
    assert header == {
        "Function": "arn:aws:lambda:us-east-1:123456789012:function:primes",
        "Measured": "2026-11-23 07:54:34 UTC",
        "Measured on": "this machine (powertune local, CPU mode cpu-time-model)",
        "Strategy": "balanced (balancedWeight 0.25: 0 = fastest, 1 = cheapest)",
        "Sampling": "fixed, 20 invocations per size",
        "Latency target": "at most 500.00 ms average",
    }
    assert "<title>Power tuning report: primes</title>" in page


def test_why_balanced_names_the_cheapest_and_the_fastest_with_their_figures():
    # GIVEN a balanced recommendation made by the Analyzer's own code
    balanced = recommend(
        RESULTS, strategy="balanced", balanced_weight=0.5, region="us-east-1", transitions=30,
        include_stats=True,
    ).to_dict()  # fmt: skip
    result = TuningResult.from_dict(balanced, metadata=RunMetadata(strategy="balanced", balanced_weight=0.5))
    # WHEN it is rendered
    why = render_html([result]).split('<section class="why">', 1)[1].split("</section>", 1)[0]
    # THEN it names the pick's score, and the cheapest and the fastest beside it with their figures
    assert "<h2>Why 1024 MB</h2>" in why
    assert "balancedWeight 0.5" in why
    assert "1024 MB scores 0.482." in why
    assert "The cheapest size is 256 MB ($0.000003000 per invocation, 700.00 ms), score 0.616." in why
    assert "The fastest size is 2048 MB ($0.000004100 per invocation, 120.00 ms), score 0.543." in why


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("cost", "The next cheapest is 128 MB ($0.000003100 per invocation, 1,400.00 ms), +3.3% in cost."),
        (None, "The result does not say which strategy chose it."),
    ],
)
def test_why_says_what_the_strategy_compared(strategy, expected):
    result = TuningResult.from_dict(output(), metadata=RunMetadata(strategy=strategy))
    assert expected in render_html([result])


def test_render_html_needs_a_result():
    with pytest.raises(ValueError, match="at least one result"):
        render_html([])


def test_png_is_a_valid_image(tmp_path):
    from matplotlib import image

    path = tmp_path / "chart.png"
    written = write_png(path, [TuningResult.from_dict(output(), label="x86_64")], title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written == path.stat().st_size
    height, width, _ = image.imread(path).shape
    assert (width, height) == (1080, 552)  # 9 x 4.6 inches at 120 dpi


def test_chart_cost_axis_starts_at_zero():
    # GIVEN costs between $3.00 and $4.10 per 1M, which a tight axis would stretch over the whole plot
    svg = render_chart([TuningResult.from_dict(output())])
    # THEN the cost axis's first tick is 0, at the bottom of the plot like the duration axis's 0
    cost_ticks = re.findall(
        r'<text x="\d+" y="([\d.]+)">([\d.,]+)</text>', svg.split('class="axis y-cost"')[1]
    )
    duration = re.findall(
        r'<text x="\d+" y="([\d.]+)">([\d.,]+)</text>', svg.split('class="axis y-duration"')[1]
    )
    assert float(cost_ticks[0][1]) == 0
    assert cost_ticks[0][0] == duration[0][0]


def test_png_of_the_reference_output(tmp_path):
    path = tmp_path / "reference.png"
    assert write_png(path, [TuningResult.from_dict(REFERENCE_OUTPUT)]) > 0


def test_an_inputs_latency_target_and_the_outputs_constraint_are_read():
    # GIVEN a run with maxDurationMs on p90 whose output says the target was not met
    document = {
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:tuner:run-3",
        "input": json.dumps({"lambdaARN": "arn:aws:lambda:us-east-1:123456789012:function:f", "num": 20,
                             "maxDurationMs": 120, "durationStatistic": "p90"}),
        "output": json.dumps({**output(), "constraint": {"met": False, "statistic": "p90",
                              "maxDurationMs": 120.0, "value": 150.5, "sizesMeetingTarget": []}}),
    }  # fmt: skip
    # WHEN it is read
    result = TuningResult.from_document(document)
    # THEN the report knows the target and its statistic, and whether it was met
    assert (result.metadata.latency_target_ms, result.metadata.latency_statistic) == (120.0, "p90")
    assert result.constraint is not None
    assert (result.constraint.met, result.constraint.value) == (False, 150.5)
    header = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", render_html([result])))
    assert header["Latency target"] == "at most 120.00 ms p90"


def test_a_malformed_constraint_is_refused():
    with pytest.raises(ResultFormatError, match="constraint"):
        TuningResult.from_dict({**output(), "constraint": {"met": "no"}})


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (
            400.0,
            "Strategy cost with a latency target (p90 at most 400.00 ms): 512 MB is the cheapest size that "
            "meets it (p90 396.00 ms).",
        ),
        (
            100.0,
            "No size met the latency target (p90 at most 100.00 ms): 2048 MB came closest, p90 132.00 ms.",
        ),
    ],
)
def test_why_says_what_the_latency_target_left(limit, expected):
    # GIVEN cost recommendations under a p90 target, one met and one not
    document = recommend(
        RESULTS, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=30,
        include_stats=True, target=LatencyTarget(limit, "p90"),
    ).to_dict()  # fmt: skip
    result = TuningResult.from_dict(document, metadata=RunMetadata(strategy="cost"))
    # THEN the page says why the pick won under the target
    assert expected in render_html([result])


def test_the_report_states_how_sure_an_adaptive_race_is_of_its_pick():
    # GIVEN an adaptive race that skipped sizes by the model, and its confidence statement in the output
    from powertuning.adaptive.outcome import confidence_statement
    from tests.adaptive_sim import noisy, race, settings

    sizes = [128, 256, 384, 512, 768, 1024, 1536, 1769, 2048, 3008]
    means = {m: 400 + 400 * 1769 / min(m, 1769) for m in sizes}
    cost = settings(strategy="cost")
    statement = confidence_statement(race(noisy(means, spread=0.03), sizes, cost), cost)
    assert statement["skippedByModel"]
    document = {**output(), "confidence": statement}
    # WHEN the report is rendered
    result = TuningResult.from_dict(document)
    why = render_html([result]).split('<section class="why">', 1)[1].split("</section>", 1)[0]
    # THEN the why section says it in the race's own words, with what the model skipped
    assert f"How sure: {statement['text']}." in why
    assert ", ".join(str(v) for v in statement["skippedByModel"]) + " MB" in why
    assert f"Cold starts spent: {statement['coldStarts']}" in why
    # AND a malformed statement is refused, not rendered
    with pytest.raises(ResultFormatError, match="confidence must be an object with a text"):
        TuningResult.from_dict({**output(), "confidence": {"pick": 1}})


def _with_cold_p99(value: int, duration: float, price: float, p99: float) -> SizeResult:
    return replace(size(value, duration, price), p99=p99)


def _duration_ticks(svg: str) -> list[float]:
    axis = svg.split('class="axis y-duration"')[1].split("</g>", maxsplit=1)[0]
    return [float(t.replace(",", "")) for t in re.findall(r">([\d.,]+)</text>", axis)]


def test_the_duration_axis_fits_the_curve_and_marks_a_cold_start_p99_above_it():
    # GIVEN 10 invocations a size, the first a cold start: p99 ~ 20x the warm averages at 1024 MB
    sizes = [size(512, 360.0, 3.2e-6), _with_cold_p99(1024, 190.0, 3.4e-6, 4000.0), size(2048, 120.0, 4.1e-6)]
    result = TuningResult.from_dict(
        recommend(
            sizes,
            strategy="cost",
            balanced_weight=0.5,
            region="us-east-1",
            transitions=20,
            include_stats=True,
        ).to_dict()
    )
    svg = render_chart([result])
    # THEN the axis reaches the highest average / p90 (396 ms), not the p99
    top = _duration_ticks(svg)[-1]
    assert 396.0 <= top < 1000.0
    # AND the p99 is marked at the top edge, with its value, and its bar stops at the axis
    (marker,) = re.findall(r'<path class="outlier"[^>]*><title>([^<]*)</title>', svg)
    assert "1024 MB" in marker
    assert "p99 4000.00 ms" in marker
    assert "above the axis" in marker
    assert "p99 above the axis" in svg.split('class="legend"')[1]
    bars = re.findall(r'class="p-range" x1="[\d.]+" x2="[\d.]+" y1="[\d.]+" y2="([\d.]+)"', svg)
    assert min(float(y) for y in bars) == pytest.approx(56.0, abs=0.1)  # TOP: cut at the axis


def test_no_outlier_marker_when_every_p99_fits():
    svg = render_chart([TuningResult.from_dict(output())])
    assert 'class="outlier"' not in svg
    assert "p99 above the axis" not in svg


def test_png_with_a_p99_above_the_axis(tmp_path):
    pytest.importorskip("matplotlib")
    sizes = [size(512, 360.0, 3.2e-6), _with_cold_p99(1024, 190.0, 3.4e-6, 4000.0)]
    out = recommend(
        sizes, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=20, include_stats=True
    )
    path = tmp_path / "chart.png"
    assert write_png(path, [TuningResult.from_dict(out.to_dict())]) == path.stat().st_size


def test_the_axis_reach_takes_a_near_p99_and_leaves_a_far_one_out():
    near = SizeStats(value=512, average_price=1e-6, average_duration=100.0, p90=110.0, p99=150.0)
    far = SizeStats(value=1024, average_price=1e-6, average_duration=60.0, p90=70.0, p99=2000.0)
    assert duration_reach([near, far]) == 150.0  # within 1.5x of the curve's 110 ms
    assert duration_reach([far]) == 70.0
    assert duration_reach([]) == 0.0
