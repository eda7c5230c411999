"""`powertune run` in-process against the local engine: moto's interpreter runs the real state machine.

The CLI builds its own boto3 clients; the in-process moto mock answers them. The target function is
answered by a SimulatedRuntime whose durations make 512 MB the cheapest size.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from powertuning.cli import main
from powertuning.deployment import ARCHITECTURES_TAG
from powertuning.errors import InvalidInputError
from powertuning.inputs import TuningRequest
from powertuning.local.engine import LocalEngine
from powertuning.local.simulated import SimulatedRuntime

# Each test runs whole executions of the state machine.
pytestmark = pytest.mark.slow

FAILING_SIZE = 640
SIZES = "256,512,1024"
_names = itertools.count()


def memory_hungry(memory_mb: int, _n: int) -> float:
    """CPU-bound work that also pages below 512 MB: 512 MB is the cheapest size."""
    base = 20.0 + 100.0 * 1769 / min(memory_mb, 1769)
    return base * 4 if memory_mb < 512 else base


@dataclass(frozen=True)
class Outcome:
    """What one CLI call returned and printed."""

    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def engine(start_engine: Callable[[SimulatedRuntime], LocalEngine]) -> LocalEngine:
    """One moto world with the tuner deployed, shared by this module's tests."""
    return start_engine(SimulatedRuntime(memory_hungry, fail_with={FAILING_SIZE: ("ValueError", "boom")}))


@pytest.fixture
def target(engine: LocalEngine) -> str:
    """A fresh 256 MB function to tune; returns its ARN."""
    return engine.create_target(
        name=f"cli-target-{next(_names)}", handler="app.handler", code_dir=None, memory_mb=256
    )


@pytest.fixture
def powertune(engine: LocalEngine, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Runs `powertune run ARGS` in-process on the engine's state machine; returns code and output."""

    def call(*args: str, state_machine: bool = True) -> Outcome:
        argv = ["run", *args, "--poll-interval", "0.02"]
        if state_machine:
            argv += ["--state-machine-arn", engine.state_machine_arn]
        code = main(argv)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


def leftovers(engine: LocalEngine, arn: str) -> dict[str, Any]:
    """Aliases, versions and memory of a function after a run."""
    client, name = engine.lambda_client, arn.split(":")[6]
    return {
        "aliases": [a["Name"] for a in client.list_aliases(FunctionName=name)["Aliases"]],
        "versions": [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]],
        "memory": client.get_function_configuration(FunctionName=name)["MemorySize"],
    }


def table_rows(text: str) -> dict[int, str]:
    """The table's rows by memory size."""
    rows = (re.match(r"^\*?\s+(\d+) MB ", line) for line in text.splitlines())
    return {int(m[1]): m.string for m in rows if m}


def executions(engine: LocalEngine) -> list[dict[str, Any]]:
    """Every execution of the tuner so far."""
    return list(engine.sfn_client.list_executions(stateMachineArn=engine.state_machine_arn)["executions"])


def last_input(engine: LocalEngine) -> dict[str, Any]:
    """The input of the most recent execution."""
    latest = max(executions(engine), key=lambda e: e["startDate"])
    description = engine.sfn_client.describe_execution(executionArn=latest["executionArn"])
    return dict(json.loads(description["input"]))


def test_run_prints_progress_and_a_table_marking_the_recommendation(powertune, engine, target):
    # GIVEN a 256 MB function whose cheapest size is 512 MB
    # WHEN it is tuned from the CLI
    result = powertune("--function", target, "--power-values", SIZES, "--num", "5")

    # THEN it succeeds, the table marks 512 MB and says the function has 256 MB now
    assert result.code == 0, result.err
    rows = table_rows(result.out)
    assert rows[512].startswith("*")
    assert not rows[256].startswith("*")
    assert rows[256].endswith("current")
    assert "Avg duration" in result.out
    assert "Cost/1M invocations" in result.out
    assert "* recommended: 512 MB" in result.out
    assert "Tuning cost: $" in result.out
    assert "Step Functions" in result.out
    assert "Visualization: https://lambda-power-tuning.show/#" in result.out
    # AND progress went to stderr: states done and sizes being measured
    for line in (
        "execution started",
        "Initializer done: 3 memory sizes",
        "measuring 512 MB",
        "512 MB measured:",
    ):
        assert line in result.err
    assert "Cleaner     done" in result.err
    assert "execution succeeded" in result.err
    # AND nothing of the run is left on the function
    assert leftovers(engine, target) == {"aliases": [], "versions": ["$LATEST"], "memory": 256}


def test_adaptive_rounds_and_dropped_sizes_show_in_progress(powertune, target):
    # GIVEN adaptive sampling over four sizes, where the slow ones cannot win
    # WHEN the run is followed (stderr is not a terminal here: plain lines)
    result = powertune(
        "--function", target, "--power-values", "256,512,1024,3008", "--num", "20", "--sampling", "adaptive"
    )  # fmt: skip

    # THEN every decision is told, with the sizes it dropped, and the race's end
    assert result.code == 0, result.err
    decisions = [line for line in result.err.splitlines() if "AdaptiveDecision" in line]
    assert "round 1 next: 4 sizes left (256, 512, 1024, 3008 MB), 3 invocations each" in decisions[0]
    assert any("dropped" in line for line in decisions), result.err
    assert "race over after" in decisions[-1]
    assert "Executor    measuring" not in result.err  # per-size lines give way to the rounds


def test_report_of_a_run_says_what_was_measured_where_and_why(powertune, target, tmp_path):
    html = tmp_path / "run.html"
    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--strategy", "balanced",
        "--balanced-weight", "0.3", "--max-duration-ms", "5000", "--report", str(html), "--quiet",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err == ""  # --quiet: not even the "wrote" line
    header = dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", html.read_text()))
    assert header["Function"] == target
    assert header["Measured on"] == "AWS Lambda"
    assert header["Strategy"].startswith("balanced (balancedWeight 0.3")
    assert header["Sampling"] == "fixed, 5 invocations per size"
    assert header["Latency target"] == "at most 5,000.00 ms average"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", header["Measured"])
    assert "<h2>Why " in html.read_text()


def test_output_json_prints_only_the_execution_output(powertune, target):
    result = powertune("--function", target, "--power-values", SIZES, "--num", "5", "--output", "json")

    assert result.code == 0, result.err
    output = json.loads(result.out)  # nothing but the JSON on stdout
    assert output["power"] == 512
    assert set(output["stateMachine"]) == {"executionCost", "lambdaCost", "visualization"}
    # includeOutputResults is forced on so the table (and this output) have per-size stats.
    assert [s["value"] for s in output["stats"]] == [256, 512, 1024]


def test_include_output_results_false_is_respected(powertune, target):
    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--no-include-output-results", "--quiet"
    )

    assert result.code == 0, result.err
    assert result.err == ""  # --quiet
    # Averages come from the visualization link; the p90 column has no data.
    row_512 = table_rows(result.out)[512]
    assert row_512.startswith("*")
    assert " - " in row_512


def test_input_file_is_merged_with_flags_which_win(powertune, engine, target, tmp_path):
    # GIVEN an input file with several keys
    path = tmp_path / "input.json"
    path.write_text(
        json.dumps({"lambdaARN": target, "num": 6, "powerValues": [128, 3008], "strategy": "speed"})
    )

    # WHEN flags override one of them
    result = powertune("--input-file", str(path), "--power-values", "512,1024", "--output", "json")

    # THEN the execution got the file's keys, the flag's powerValues and includeOutputResults
    assert result.code == 0, result.err
    assert last_input(engine) == {
        "lambdaARN": target,
        "num": 6,
        "powerValues": [512, 1024],
        "strategy": "speed",
        "includeOutputResults": True,
    }
    assert json.loads(result.out)["power"] == 1024  # speed


@pytest.mark.parametrize(
    "case",
    [
        ({"num": 2}, "num must be an integer from 5 to 1000, got 2"),
        ({"strategy": "fastest"}, 'strategy must be one of "cost", "speed", "balanced", got "fastest"'),
        ({"powerValues": [64]}, "powerValues must be a list of integers from 128 to 10240"),
        ({"nmu": 10}, "unknown input key 'nmu'; did you mean num?"),
    ],
    ids=["num", "strategy", "powerValues", "unknown-key"],
)
def test_invalid_input_exits_2_with_the_initializers_message(powertune, engine, target, tmp_path, case):
    # GIVEN an input file with one bad key
    document, message = case
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    before = len(executions(engine))

    # WHEN the CLI is given it
    result = powertune("--function", target, "--input-file", str(path))

    # THEN it exits 2 before starting anything, with the validator's message
    assert result.code == 2
    assert message in result.err
    assert len(executions(engine)) == before
    # AND the Initializer fails the same input with the same message
    with pytest.raises(InvalidInputError) as raised:
        TuningRequest.from_dict({**document, "lambdaARN": target})
    outcome = engine.run({**document, "lambdaARN": target})
    assert outcome.status == "FAILED"
    assert outcome.cause == str(raised.value)
    assert str(raised.value) in result.err


def test_bad_flag_value_exits_2_before_starting(powertune, engine, target):
    before = len(executions(engine))
    result = powertune("--function", target, "--num", "3")
    assert (result.code, len(executions(engine))) == (2, before)
    assert "powertune: error: num must be an integer from 5 to 1000, got 3" in result.err


def test_missing_function_exits_2(powertune):
    result = powertune("--num", "5")
    assert result.code == 2
    assert "lambdaARN is required" in result.err


def test_argparse_usage_errors_exit_2(powertune, target, capsys):
    with pytest.raises(SystemExit) as raised:
        powertune("--function", target, "--strategy", "fastest")
    assert raised.value.code == 2
    assert "invalid choice: 'fastest'" in capsys.readouterr().err


def test_no_wait_cannot_be_combined_with_gates(powertune, target, tmp_path):
    result = powertune(
        "--function", target, "--no-wait", "--expect-current", "--report", str(tmp_path / "r.html")
    )
    assert result.code == 2
    assert "--no-wait cannot be combined with --report, --expect-current" in result.err


def test_failed_execution_exits_1_with_error_and_cause(powertune, engine, target):
    # GIVEN a function that fails at 640 MB
    result = powertune("--function", target, "--power-values", f"512,{FAILING_SIZE}", "--num", "5")

    # THEN the CLI exits 1 and prints the execution's Error and Cause
    assert result.code == 1
    assert "powertune: error: the execution FAILED" in result.err
    assert "Error: TargetFunctionError" in result.err
    assert f"Cause: at {FAILING_SIZE} MB the function failed with ValueError: boom" in result.err
    assert "tuning failed: cleaning up" in result.err  # progress saw the error path
    assert result.out == ""
    # AND cleanup restored the function
    assert leftovers(engine, target) == {"aliases": [], "versions": ["$LATEST"], "memory": 256}


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (
            ["--max-cost-per-invocation", "0.000001"],
            "cost per invocation $0.000003250 at 512 MB is above --max-cost-per-invocation $0.000001000",
        ),
        (["--max-duration-ms", "100"], "average duration 365.51 ms at 512 MB is above --max-duration-ms 100"),
        (["--expect-current"], "the function has 256 MB but 512 MB is recommended (--expect-current)"),
    ],
    ids=["cost", "duration", "current"],
)
def test_each_gate_fails_with_exit_3(powertune, target, tmp_path, gate, message):
    report = tmp_path / "report.html"
    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--report", str(report), *gate
    )

    assert result.code == 3
    assert f"powertune: gate failed: {message}" in result.err
    assert "* recommended: 512 MB" in result.out  # the table is printed all the same
    assert report.exists()  # and the report written, for the pipeline's artifacts


def test_gates_that_hold_exit_0(powertune, engine):
    # GIVEN a function already at its recommended size
    target = engine.create_target(
        name=f"cli-target-{next(_names)}", handler="app.handler", code_dir=None, memory_mb=512
    )

    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--quiet",
        "--max-cost-per-invocation", "0.00001", "--max-duration-ms", "400", "--expect-current",
    )  # fmt: skip

    assert result.code == 0, result.err
    assert "current memory: 512 MB (same as recommended)" in result.out


def test_latency_target_flag_sets_max_duration_ms_and_limits_the_choice(powertune, engine, target):
    # GIVEN 512 MB is the cheapest size but takes 365 ms on average; 1024 MB takes 193 ms
    # WHEN it is tuned with a 300 ms latency target (--latency-target-ms: --max-duration-ms is the gate)
    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--latency-target-ms", "300"
    )

    # THEN the cheapest size within the target is recommended, the table says the target is met
    assert result.code == 0, result.err
    assert "* recommended: 1024 MB" in result.out
    assert "latency target average <= 300 ms met (1024 MB: average 192.75 ms)" in result.out
    assert (last_input(engine)["maxDurationMs"], last_input(engine).get("durationStatistic")) == (300.0, None)


def test_architectures_flag_measures_both_and_prints_one_table_with_the_pair_marked(
    powertune, engine, target
):
    # WHEN a function is tuned on both architectures from the terminal
    result = powertune(
        "--function", target, "--power-values", "512,1024", "--num", "5", "--architectures", "x86_64,arm64"
    )
    # THEN the input names both, and the table has a row per (size, architecture), the pick marked
    assert result.code == 0, result.err
    assert last_input(engine)["architectures"] == ["x86_64", "arm64"]
    pairs = re.findall(r"^(\*?)\s+(\d+) MB\s+(x86_64|arm64)\s", result.out, flags=re.MULTILINE)
    assert sorted((int(v), a) for _, v, a in pairs) == [
        (512, "arm64"),
        (512, "x86_64"),
        (1024, "arm64"),
        (1024, "x86_64"),
    ]
    (picked,) = [(int(v), a) for mark, v, a in pairs if mark]
    assert f"* recommended: {picked[0]} MB on {picked[1]}" in result.out
    assert "Visualization (arm64): " in result.out
    assert "Visualization (x86_64): " in result.out
    assert leftovers(engine, target)["aliases"] == []


IMAGE_BY_DIGEST = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{'0' * 64}"


@pytest.fixture
def deployed_without_code_changes(engine):
    """The state machine tagged as a deploy without `-c architectures=true`, for one test."""
    arn = engine.state_machine_arn
    engine.sfn_client.tag_resource(resourceArn=arn, tags=[{"key": ARCHITECTURES_TAG, "value": "false"}])
    yield
    engine.sfn_client.tag_resource(resourceArn=arn, tags=[{"key": ARCHITECTURES_TAG, "value": "true"}])


@pytest.mark.parametrize(
    "flags",
    [
        ("--architectures", "x86_64,arm64"),
        ("--architectures", "arm64"),
        ("--architectures", "x86_64,arm64", "--image-uris", f"arm64={IMAGE_BY_DIGEST}"),
    ],
    ids=["both", "the-other", "images"],
)
def test_architectures_on_a_deploy_without_the_option_exits_2_before_starting(
    powertune, engine, target, deployed_without_code_changes, flags
):
    # GIVEN a tuner deployed without code changes (its state machine's tag says so)
    before = len(executions(engine))
    # WHEN the terminal asks for another architecture
    result = powertune("--function", target, "--power-values", "512", "--num", "5", *flags)
    # THEN it says which deploy option that needs, and starts nothing
    assert result.code == 2, result.err
    assert "nothing was started" in result.err
    assert "cdk deploy -c architectures=true" in result.err
    assert len(executions(engine)) == before
    assert leftovers(engine, target) == {"aliases": [], "versions": ["$LATEST"], "memory": 256}


def test_the_functions_own_architecture_needs_no_option(
    powertune, engine, target, deployed_without_code_changes
):
    result = powertune(
        "--function", target, "--power-values", "512", "--num", "5", "--architectures", "x86_64"
    )
    assert result.code == 0, result.err


def test_unmet_latency_target_exits_3_with_the_closest_size(powertune, engine, target):
    # GIVEN no size has a p50 of 100 ms or less
    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--output", "json",
        "--latency-target-ms", "100", "--duration-statistic", "p50",
    )  # fmt: skip

    # THEN the execution succeeded with its measurements, the closest size is recommended, and the
    # CLI exits 3 like a failed gate, saying so in one line
    assert result.code == 3
    output = json.loads(result.out)
    assert output["power"] == 1024
    assert list(output)[:5] == ["power", "cost", "duration", "stateMachine", "constraint"]
    assert output["constraint"] == {
        "met": False,
        "statistic": "p50",
        "maxDurationMs": 100.0,
        "value": pytest.approx(192.75),
        "sizesMeetingTarget": [],
    }
    assert (
        "powertune: gate failed: latency target not met: no size has p50 <= 100 ms "
        "(maxDurationMs, --latency-target-ms); the closest, 1024 MB, has p50 192.75 ms"
    ) in result.err
    assert leftovers(engine, target) == {"aliases": [], "versions": ["$LATEST"], "memory": 256}


def test_duration_statistic_without_a_target_exits_2(powertune, engine, target):
    before = len(executions(engine))
    result = powertune("--function", target, "--duration-statistic", "p90")
    assert (result.code, len(executions(engine))) == (2, before)
    assert "durationStatistic needs maxDurationMs" in result.err


def test_no_wait_prints_the_execution_arn(powertune, engine, target):
    result = powertune("--function", target, "--power-values", SIZES, "--num", "5", "--no-wait")

    assert result.code == 0, result.err
    arn = result.out.strip()
    assert arn.startswith("arn:aws:states:")
    assert ":execution:" in arn
    assert engine.wait(arn, poll_s=0.02).status == "SUCCEEDED"


def test_stack_name_reads_the_state_machine_from_the_stack_outputs(powertune, engine, target):
    # GIVEN a stack with outputs like the CDK app's
    cloudformation = _cloudformation(engine)
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "StateMachineConsoleUrl": {"Value": "https://console.example/states"},
            "StateMachineArn": {"Value": engine.state_machine_arn},
        },
    }
    cloudformation.create_stack(StackName="TunerUnderTest", TemplateBody=json.dumps(template))

    result = powertune(
        "--function", target, "--power-values", SIZES, "--num", "5", "--stack-name", "TunerUnderTest",
        state_machine=False,
    )  # fmt: skip

    assert result.code == 0, result.err
    assert f"execution {engine.state_machine_arn.replace(':stateMachine:', ':execution:')}:" in result.err


def test_stack_without_a_state_machine_output_exits_2(powertune, engine, target):
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Other": {"Value": "x"}}}
    _cloudformation(engine).create_stack(StackName="NotTheTuner", TemplateBody=json.dumps(template))

    result = powertune("--function", target, "--stack-name", "NotTheTuner", state_machine=False)

    assert result.code == 2
    assert "stack NotTheTuner has no output named like StateMachineArn (outputs: Other)" in result.err


def test_default_stack_that_does_not_exist_exits_2(powertune, target):
    result = powertune("--function", target, state_machine=False)
    assert result.code == 2
    assert "nothing was started" in result.err
    assert "PowerTuning" in result.err


def test_unknown_profile_exits_2(powertune, target):
    result = powertune("--function", target, "--profile", "no-such-profile")
    assert result.code == 2
    assert "no-such-profile" in result.err


def test_unknown_state_machine_exits_2(powertune, target):
    missing = "arn:aws:states:us-east-1:123456789012:stateMachine:missing"
    result = powertune("--function", target, "--state-machine-arn", missing, state_machine=False)
    assert result.code == 2
    assert "nothing was started" in result.err


def _cloudformation(engine: LocalEngine) -> Any:
    import boto3

    return boto3.client("cloudformation", region_name=engine.region)


def test_an_unwritable_report_path_exits_2_before_starting(powertune, engine, target, tmp_path):
    before = len(executions(engine))
    result = powertune("--function", target, "--report", str(tmp_path / "missing" / "r.html"))
    assert (result.code, len(executions(engine))) == (2, before)
    assert f"--report {tmp_path / 'missing' / 'r.html'}: there is no folder" in result.err
