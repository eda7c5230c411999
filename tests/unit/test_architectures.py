"""Input `architectures`: the pure parts (order, naming, wire forms, the choice across architectures)."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest

from powertuning.analysis import choose, recommend
from powertuning.architectures import HashingFile, check, ordered
from powertuning.errors import ArchitectureError
from powertuning.models import (
    RUN_ALIAS,
    RUN_VERSION_MARKER,
    OriginalCode,
    PublishState,
    RunState,
    SizeResult,
    TuningRequest,
)
from powertuning.pricing import lambda_price
from powertuning.report.result import TuningResult
from powertuning.versions import alias_names

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
RUN = "0123456789ab"


def request(**extra: object) -> TuningRequest:
    return TuningRequest.from_dict({"lambdaARN": ARN, **extra})


def config(**overrides: object) -> RunState:
    settings: dict[str, object] = {
        "function_arn": ARN,
        "power_values": (128, 512),
        "run_id": RUN,
        "original_memory": 1024,
        "original_description": "mine",
        "architecture": "x86_64",
        "architectures": ("x86_64", "arm64"),
        "original_code": OriginalCode("abc=", f"s3://staging-bucket/{RUN}/f.zip"),
    }
    return RunState(**{**settings, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "own", "expected"),
    [
        (None, "x86_64", ()),
        (["x86_64"], "x86_64", ()),
        (["arm64", "x86_64"], "x86_64", ("x86_64", "arm64")),
        (["arm64"], "x86_64", ("arm64",)),
        (["x86_64", "arm64"], "arm64", ("arm64", "x86_64")),
    ],
)
def test_the_functions_own_architecture_is_measured_first_and_alone_means_the_default(
    given: list[str] | None, own: str, expected: tuple[str, ...]
) -> None:
    extra = {} if given is None else {"architectures": given}
    assert ordered(request(**extra), own) == expected


def code_sha256(package: bytes) -> str:
    sink = HashingFile(io.BytesIO())
    for i in range(0, len(package), 7):
        sink.write(package[i : i + 7])
    assert sink.file.getvalue() == package
    return sink.code_sha256


def test_code_sha256_is_lambdas_base64_of_the_packages_sha256_written_in_chunks() -> None:
    package = b"PK\x05\x06" + b"\x00" * 18
    assert code_sha256(package) == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert code_sha256(package) != code_sha256(package + b"\x00")


def test_the_functions_own_architecture_keeps_ram_size_and_the_other_is_suffixed() -> None:
    run = config()
    assert run.marker(512) == f"powertuning {RUN} RAM512"
    assert run.marker(512, "arm64") == f"powertuning {RUN} RAM512-arm64"
    assert alias_names(512, request(), run.arch_suffix("x86_64")) == ["RAM512"]
    assert alias_names(512, request(), run.arch_suffix("arm64")) == ["RAM512-arm64"]
    cold = request(onlyColdStarts=True, num=5)
    assert alias_names(512, cold, "-arm64")[:2] == ["RAM512-arm64-0", "RAM512-arm64-1"]
    # every name and marker a run makes is recognised as the run's (cleanup, powertune clean)
    for name in ("RAM512", "RAM512-3", "RAM512-arm64", "RAM512-arm64-3", "RAM512-x86_64"):
        assert RUN_ALIAS.match(name), name
    for name in ("RAM512-arm", "RAM512-arm64x", "RAM512-3-arm64"):
        assert not RUN_ALIAS.match(name), name
    match = RUN_VERSION_MARKER.match(run.marker(512, "arm64") + "-2")
    assert match is not None
    assert (match["run"], match["power"], match["arch"]) == (RUN, "512", "arm64")


def test_the_run_config_round_trips_with_what_restores_the_code() -> None:
    run = config()
    wire = run.to_dict()
    assert wire["original"]["code"] == {"codeSha256": "abc=", "staged": f"s3://staging-bucket/{RUN}/f.zip"}
    assert wire["architectures"] == ["x86_64", "arm64"]
    assert [(t["architecture"], t["value"]) for t in wire["targets"]] == [
        ("x86_64", 128),
        ("x86_64", 512),
        ("arm64", 128),
        ("arm64", 512),
    ]
    assert RunState.from_dict(wire) == run


@pytest.mark.parametrize("staged", ["https://example.com/code.zip", "s3://x/", ""])
def test_a_recorded_code_location_must_be_an_s3_uri(staged: str) -> None:
    wire = config().to_dict()
    wire["original"]["code"]["staged"] = staged
    with pytest.raises(ValueError, match="not an s3:// location"):
        RunState.from_dict(wire)


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64


def test_an_image_is_recorded_by_its_uri_and_round_trips_without_a_staged_copy() -> None:
    run = config(original_code=OriginalCode("a" * 64, image_uri=IMAGE))
    wire = run.to_dict()
    assert wire["original"]["code"] == {"codeSha256": "a" * 64, "imageUri": IMAGE}
    assert RunState.from_dict(wire) == run


@pytest.mark.parametrize(
    "code",
    [
        {"codeSha256": "x"},
        {"codeSha256": "x", "imageUri": IMAGE, "staged": "s3://staging-bucket/k.zip"},
        {"codeSha256": "x", "imageUri": "docker.io/library/python:3.13"},
    ],
    ids=["neither", "both", "not-ecr"],
)
def test_a_recorded_original_is_one_staged_copy_or_one_ecr_image(code: dict[str, str]) -> None:
    wire = config().to_dict()
    wire["original"]["code"] = code
    with pytest.raises(ValueError, match=r"original code needs one of|not an ECR image URI"):
        RunState.from_dict(wire)


def test_imageuris_round_trips_and_is_left_out_when_not_given() -> None:
    given = request(architectures=["x86_64", "arm64"], imageUris={"arm64": IMAGE})
    assert given.image_uris == {"arm64": IMAGE}
    assert given.to_dict()["imageUris"] == {"arm64": IMAGE}
    assert TuningRequest.from_dict(given.to_dict()) == given
    assert "imageUris" not in request(architectures=["x86_64", "arm64"]).to_dict()


def test_the_publisher_goes_through_every_size_on_each_architecture() -> None:
    state = PublishState(power_values=(128, 512), architectures=("x86_64", "arm64"))
    assert state.slots == [("x86_64", 128), ("x86_64", 512), ("arm64", 128), ("arm64", 512)]
    assert not PublishState(power_values=(128, 512), architectures=("x86_64", "arm64"), index=3).done
    assert PublishState(power_values=(128, 512), architectures=("x86_64", "arm64"), index=4).done
    assert PublishState.from_dict(state.to_dict()) == state


def result(arch: str, value: int, duration: float) -> SizeResult:
    price = lambda_price("us-east-1", arch).invocation_cost(round(duration), value)
    return SizeResult(
        value=value, average_duration=duration, average_price=price, invocations=5, architecture=arch
    )


def test_the_choice_is_across_architectures_each_at_its_own_price() -> None:
    # GIVEN the same durations on both: arm64 costs 20% less per GB-second
    same = [result(a, m, 100.0) for a in ("x86_64", "arm64") for m in (512, 1024)]
    assert (choose(same, "cost").architecture, choose(same, "cost").value) == ("arm64", 512)
    # GIVEN arm64 30% slower: 0.8 x 1.3 = 1.04, x86_64 is cheaper
    slower = [result("x86_64", 512, 100.0), result("arm64", 512, 130.0)]
    assert choose(slower, "cost").architecture == "x86_64"
    assert choose(slower, "speed").architecture == "x86_64"


def test_the_output_names_the_architecture_and_links_each_curve() -> None:
    results = [
        result(a, m, 100.0 if a == "x86_64" else 90.0) for a in ("x86_64", "arm64") for m in (512, 1024)
    ]
    out = recommend(
        results,
        strategy="cost",
        balanced_weight=0.5,
        region="us-east-1",
        transitions=20,
        include_stats=True,
    ).to_dict()
    assert (out["architecture"], out["power"]) == ("arm64", 512)
    links = out["stateMachine"]["visualizations"]
    assert set(links) == {"x86_64", "arm64"}
    assert links["x86_64"] != links["arm64"]
    assert out["stateMachine"]["visualization"] == links["arm64"]
    assert {(s["architecture"], s["value"]) for s in out["stats"]} == {
        (a, m) for a in ("x86_64", "arm64") for m in (512, 1024)
    }


def test_without_architectures_the_output_keeps_the_reference_shape() -> None:
    plain = [
        SizeResult(value=m, average_duration=100.0, average_price=1e-6 * m, invocations=5)
        for m in (512, 1024)
    ]
    out = recommend(
        plain, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=20, include_stats=False
    ).to_dict()
    assert set(out) == {"power", "cost", "duration", "stateMachine"}
    assert set(out["stateMachine"]) == {"executionCost", "lambdaCost", "visualization"}


def test_the_report_draws_one_curve_per_architecture_and_marks_the_pick_once() -> None:
    from powertuning.cli.output import format_table
    from powertuning.report.html import render_html

    results = [
        result(a, m, 100.0 if a == "x86_64" else 90.0) for a in ("x86_64", "arm64") for m in (512, 1024)
    ]
    output = recommend(
        results, strategy="cost", balanced_weight=0.5, region="us-east-1", transitions=20, include_stats=True
    ).to_dict()
    report = TuningResult.from_dict(output)
    # one curve per architecture, only the pick's marked
    curves = report.by_architecture()
    assert [(c.label, c.recommended is not None) for c in curves] == [("arm64", True), ("x86_64", False)]
    html = render_html([report])
    assert html.count('class="line-duration"') == 2
    assert html.count('<circle class="recommended"') == 1
    assert "512 MB arm64</p>" in html
    # one table: a row per pair, the pick marked
    table = format_table(output)
    marked = [line for line in table.splitlines() if line.startswith("*  ")]
    assert len(marked) == 1
    assert "512 MB  arm64" in marked[0]
    assert sum(" MB  " in line for line in table.splitlines()) == 4


def test_the_html_report_has_one_table_of_every_pair_in_the_clis_order_with_the_pick_marked() -> None:
    import re

    from powertuning.cli.output import format_table
    from powertuning.report.html import render_html

    # GIVEN a run on both architectures, with arm64 1,024 MB skipped
    results = [
        result(a, m, 100.0 if a == "x86_64" else 90.0) for a in ("x86_64", "arm64") for m in (512, 1024)
    ]
    output = recommend(
        results[:3],
        strategy="cost",
        balanced_weight=0.5,
        region="us-east-1",
        transitions=20,
        include_stats=True,
    ).to_dict()
    output["skipped"] = [{"value": 1024, "architecture": "arm64", "reason": "at 1024 MB on arm64: boom"}]
    report = TuningResult.from_dict(output)
    # WHEN the page is rendered
    html = render_html([report])
    # THEN there is one table under the chart, with an Architecture column
    assert html.count("<table") == 1
    assert "<h3>" not in html
    assert "<th>Memory</th><th>Architecture</th>" in html
    # AND its rows are the CLI table's pairs, in the CLI's order
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    rows = re.findall(r"<tr[^>]*><td>(\d+) MB(?: ★)?</td><td>(\w+)</td>", body)
    cli = [
        tuple(line.lstrip("* ").split()[0:3:2])
        for line in format_table(output).splitlines()
        if " MB  " in line
    ]
    assert rows == [("512", "arm64"), ("512", "x86_64"), ("1024", "arm64"), ("1024", "x86_64")]
    assert rows == cli
    # AND the pick, and only the pick, is marked; the skipped pair says why
    marked = re.findall(r'<tr class="recommended"><td>(\d+) MB ★</td><td>(\w+)</td>', body)
    assert marked == [(str(report.power), str(report.architecture))]
    assert body.count("★") == 1
    assert "skipped: at 1024 MB on arm64: boom" in body


def _report(durations: dict[str, float], strategy: str, label: str = "") -> TuningResult:
    from powertuning.report.metadata import RunMetadata

    measured = [result(a, m, d) for a, d in durations.items() for m in (512, 1024)]
    output = recommend(
        measured,
        strategy=strategy,
        balanced_weight=0.5,
        region="us-east-1",
        transitions=20,
        include_stats=True,
    ).to_dict()
    return TuningResult.from_dict(output, label=label, metadata=RunMetadata(strategy=strategy))


def test_the_explanation_names_the_architecture_of_the_pick_and_of_the_other_architectures_best() -> None:
    from powertuning.report.explain import explain

    # GIVEN arm64 much faster than x86_64: arm64 512 MB is the cheapest, arm64 1,024 MB next
    explanation = explain(_report({"x86_64": 300.0, "arm64": 90.0}, "cost"))
    assert explanation is not None
    text = " ".join(explanation.sentences)
    # THEN the pick and the runner-up are named with their architecture, and x86_64's best is named
    assert "Strategy cost: 512 MB on arm64 has the lowest average cost per invocation." in text
    assert "The next cheapest is 1024 MB on arm64 (" in text
    assert "The cheapest on x86_64 is 512 MB (" in text


def test_a_runner_up_on_the_other_architecture_is_named_with_it() -> None:
    from powertuning.report.explain import explain

    # GIVEN x86_64 only slightly slower: arm64 512 MB is the cheapest, x86_64 512 MB next
    explanation = explain(_report({"x86_64": 100.0, "arm64": 90.0}, "cost"))
    assert explanation is not None
    text = " ".join(explanation.sentences)
    assert "512 MB on arm64 has the lowest average cost" in text
    assert "The next cheapest is 512 MB on x86_64 (" in text
    # (the runner-up already is the other architecture's best: not said twice)
    assert "The cheapest on x86_64" not in text


def test_compare_puts_each_architecture_of_each_result_in_its_own_columns() -> None:
    from powertuning.cli.output import format_comparison
    from powertuning.report.html import render_html

    # GIVEN two runs on both architectures (before and after a change)
    before = _report({"x86_64": 300.0, "arm64": 90.0}, "cost", label="before")
    after = _report({"x86_64": 100.0, "arm64": 200.0}, "cost", label="after")
    table = format_comparison([before, after])
    header = table.splitlines()[0]
    # THEN there is a column pair per (result, architecture), and each result's pick is marked once
    for column in ("before arm64 avg", "before x86_64 avg", "after arm64 avg", "after x86_64 avg"):
        assert column in header
    assert table.count(" *") == 2
    assert "* before: 512 MB on arm64 (" in table
    assert "* after: 512 MB on x86_64 (" in table
    assert "before at 512 MB on arm64 costs" in table
    # AND the page says which architecture each pick is on
    html = render_html([before, after])
    assert "<th>before arm64 average</th>" in html
    assert "Strategy cost: 512 MB on x86_64 has the lowest average cost per invocation." in html


class _Layers:
    """A Lambda client that answers GetLayerVersion for this account's layers and records each call."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def get_layer_version(self, LayerName: str, VersionNumber: int) -> dict[str, object]:  # noqa: N803
        self.read.append(f"{LayerName}:{VersionNumber}")
        return {"CompatibleArchitectures": ["x86_64"]}


def test_only_the_functions_own_accounts_layers_are_read_and_checked() -> None:
    own = "arn:aws:lambda:us-east-1:123456789012:layer:mine:3"
    public = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:7"
    client = _Layers()
    latest = {"Architectures": ["x86_64"], "PackageType": "Zip", "Layers": [{"Arn": public}]}
    both = request(architectures=["x86_64", "arm64"])
    # GIVEN only another account's layer (GetLayerVersion is granted on this account's only)
    # THEN it is not read (a layer that cannot run on arm64 fails those measurements instead)
    assert check(both, latest, client, staging_bucket="b", stack_region="us-east-1") == ("x86_64", "arm64")
    assert client.read == []
    # AND this account's layer is read, and refused when it declares x86_64 only
    latest["Layers"] = [{"Arn": public}, {"Arn": own}]
    with pytest.raises(ArchitectureError, match="compatible with x86_64 only"):
        check(both, latest, client, staging_bucket="b", stack_region="us-east-1")
    assert client.read == [own]
