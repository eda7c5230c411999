"""The execution input: defaults, every accepted form, and a clear message for every invalid input."""

from __future__ import annotations

import itertools

import pytest

from powertuning.arns import FunctionRef
from powertuning.errors import InvalidInputError
from powertuning.input_keys import INPUT_KEYS, INPUTS, NEW_KEYS, REFERENCE_KEYS
from powertuning.input_kinds import ALL_POWER_VALUES
from powertuning.input_rules import min_num_for
from powertuning.inputs import TuningRequest
from powertuning.markers import RUN_ALIAS, RUN_VERSION_MARKER
from powertuning.payloads import WeightedPayload
from powertuning.pricing import DEFAULT_POWER_VALUES
from powertuning.run_state import PublishState, RunState
from powertuning.size_result import SizeResult

ADAPTIVE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"
PRE = "arn:aws:lambda:us-east-1:123456789012:function:pre"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:arm64"


def weighted(*weights):
    return [{"payload": {"n": i}, "weight": w} for i, w in enumerate(weights)]


# (id, input without lambdaARN unless it is the subject, [fragments the message must contain]).
# Each message must name the field and say what is allowed.
INVALID = [
    ("typo-balanceWeight", {"balanceWeight": 0.3}, ["'balanceWeight'", "did you mean balancedWeight?"]),
    ("typo-lambdaArn", {"lambdaArn": ARN}, ["'lambdaArn'", "did you mean lambdaARN?"]),
    ("typo-powervalues", {"powervalues": [128]}, ["'powervalues'", "did you mean powerValues?"]),
    ("typo-parallelInvocations", {"parallelInvocations": True}, ["did you mean parallelInvocation?"]),
    ("unknown-key", {"colour": "blue"}, ["unknown input key 'colour'", "Valid keys: lambdaARN"]),
    ("architectures-unknown", {"architectures": ["aarch64"]}, ["architectures", "unknown", "aarch64"]),
    ("architectures-twice", {"architectures": ["arm64", "arm64"]}, ["architectures", "each once"]),
    (
        "image-uris-not-an-object",
        {"architectures": ["x86_64", "arm64"], "imageUris": "x"},
        ["imageUris", "object"],
    ),
    (
        "image-uris-unknown-architecture",
        {"architectures": ["x86_64", "arm64"], "imageUris": {"aarch64": ECR}},
        ["imageUris", "unknown", "aarch64"],
    ),
    (
        "image-uris-not-ecr",
        {"architectures": ["x86_64", "arm64"], "imageUris": {"arm64": "public.ecr.aws/lambda/python:3.13"}},
        ["imageUris.arm64", "Amazon ECR image URI"],
    ),
    ("image-uris-without-architectures", {"imageUris": {"arm64": ECR}}, ["imageUris needs architectures"]),
    (
        "image-uris-not-listed",
        {"architectures": ["x86_64"], "imageUris": {"arm64": ECR}},
        ["imageUris names arm64", "does not list"],
    ),
    ("num-4", {"num": 4}, ["num", "integer from 5 to 1000", "got 4"]),
    ("num-string", {"num": "10"}, ["num", "integer from 5 to 1000", 'got "10"']),
    ("num-float", {"num": 10.5}, ["num", "integer from 5 to 1000", "10.5"]),
    ("num-bool", {"num": True}, ["num", "integer from 5 to 1000", "got true"]),
    ("num-too-big", {"num": 1001}, ["num", "integer from 5 to 1000", "1001"]),
    ("num-null", {"num": None}, ["num", "integer from 5 to 1000", "got null"]),
    ("powerValues-100", {"powerValues": [100]}, ["powerValues", "128 to 10240", "100 is out of range"]),
    ("powerValues-10241", {"powerValues": [128, 10241]}, ["powerValues", "128 to 10240", "10241"]),
    ("powerValues-repeated", {"powerValues": [128, 128]}, ["powerValues", "must not repeat", "[128]"]),
    ("powerValues-all-lowercase", {"powerValues": "all"}, ["powerValues", '"ALL"', 'got "all"']),
    ("powerValues-number", {"powerValues": 512}, ["powerValues", "list of integers", "got 512"]),
    ("powerValues-string-item", {"powerValues": [128, "256"]}, ["powerValues", '"256" is not an integer']),
    ("powerValues-float-item", {"powerValues": [128.5]}, ["powerValues", "128.5 is not an integer"]),
    ("strategy-fastest", {"strategy": "fastest"}, ["strategy", '"cost", "speed", "balanced"', "fastest"]),
    ("strategy-capitalised", {"strategy": "Cost"}, ["strategy", '"cost", "speed", "balanced"', "Cost"]),
    ("balancedWeight-1.5", {"balancedWeight": 1.5}, ["balancedWeight", "from 0.0 to 1.0", "1.5"]),
    ("balancedWeight-negative", {"balancedWeight": -0.1}, ["balancedWeight", "from 0.0 to 1.0"]),
    ("balancedWeight-string", {"balancedWeight": "0.5"}, ["balancedWeight", "number from 0.0 to 1.0"]),
    (
        "balancedWeight-with-cost",
        {"strategy": "cost", "balancedWeight": 0.3},
        [
            "balancedWeight 0.3",
            'needs strategy: "balanced"',
            'strategy "cost" ignores',
            "only its default 0.5",
        ],
    ),
    (
        "balancedWeight-without-strategy",
        {"balancedWeight": 1.0},
        ["balancedWeight 1.0", 'needs strategy: "balanced"', 'strategy "cost" ignores'],
    ),
    (
        "balancedWeight-with-speed",
        {"strategy": "speed", "balancedWeight": 0.0},
        ["balancedWeight 0.0", 'needs strategy: "balanced"', 'strategy "speed" ignores'],
    ),
    (
        "balancedWeight-with-speed-near-default",
        {"strategy": "speed", "balancedWeight": 0.5000001},
        ["balancedWeight 0.5000001", 'strategy "speed" ignores'],
    ),
    ("confidence-1", {"sampling": "adaptive", "confidence": 1.0}, ["confidence", "from 0.5 to 0.999"]),
    ("tolerance-string", {"sampling": "adaptive", "tolerance": "0.1"}, ["tolerance", "from 0.0 to 0.5"]),
    ("discardTopBottom-0.5", {"discardTopBottom": 0.5}, ["discardTopBottom", "from 0.0 to 0.4", "0.5"]),
    ("discardTopBottom-negative", {"discardTopBottom": -0.1}, ["discardTopBottom", "from 0.0 to 0.4"]),
    ("lambdaARN-missing", {"__no_arn__": True}, ["lambdaARN is required"]),
    (
        "lambdaARN-name-only",
        {"lambdaARN": "target"},
        ["lambdaARN", "arn:aws:lambda:us-east-1:", 'got "target"'],
    ),
    (
        "lambdaARN-short-account",
        {"lambdaARN": "arn:aws:lambda:us-east-1:123:function:f"},
        ["lambdaARN", "ARN"],
    ),
    ("lambdaARN-other-service", {"lambdaARN": "arn:aws:s3:::bucket"}, ["lambdaARN", "function ARN"]),
    ("lambdaARN-no-region", {"lambdaARN": "arn:aws:lambda::123456789012:function:f"}, ["lambdaARN", "ARN"]),
    ("lambdaARN-number", {"lambdaARN": 123456789012}, ["lambdaARN", "function ARN", "got 123456789012"]),
    ("preProcessorARN-malformed", {"preProcessorARN": "pre"}, ["preProcessorARN", "function ARN", '"pre"']),
    ("postProcessorARN-number", {"postProcessorARN": 42}, ["postProcessorARN", "function ARN", "got 42"]),
    ("payloadS3-no-scheme", {"payloadS3": "bucket/key"}, ["payloadS3", "s3://bucket/key", '"bucket/key"']),
    ("payloadS3-no-key", {"payloadS3": "s3://bucket"}, ["payloadS3", "s3://bucket/key"]),
    ("payloadS3-https", {"payloadS3": "https://b.s3.amazonaws.com/k"}, ["payloadS3", "s3://bucket/key"]),
    ("payloadS3-and-payload", {"payloadS3": "s3://bucket/key", "payload": {}}, ["payload and payloadS3"]),
    ("weighted-num-too-small", {"num": 5, "payload": weighted(1, 1, 1, 1, 1, 1)}, ["num", "at least", "(6)"]),
    ("weighted-weight-negative", {"payload": weighted(1, -2)}, ["payload[1].weight", "positive number"]),
    (
        "weighted-weight-string",
        {"payload": weighted(1, "2")},
        ["payload[1].weight", "positive number", '"2"'],
    ),
    (
        "weighted-weight-gets-no-run",
        {"num": 5, "payload": weighted(1, 100)},
        ["payload[0].weight", "gets no invocation out of num 5", "at least 101"],
    ),
    ("sleep-negative", {"sleepBetweenRunsMs": -1}, ["sleepBetweenRunsMs", "integer from 0 to 60000"]),
    (
        "alias-without-autoOptimize",
        {"autoOptimizeAlias": "prod"},
        ["autoOptimizeAlias", "autoOptimize: true"],
    ),
    (
        "alias-digits-only",
        {"autoOptimize": True, "autoOptimizeAlias": "123"},
        ["autoOptimizeAlias", "not only digits", '"123"'],
    ),
    (
        "alias-bad-characters",
        {"autoOptimize": True, "autoOptimizeAlias": "prod/live"},
        ["autoOptimizeAlias", "letters, digits, - and _"],
    ),
    ("onError-ignore", {"onError": "ignore"}, ["onError", '"fail", "skip"', '"ignore"']),
    ("maxConcurrency-0", {"maxConcurrency": 0}, ["maxConcurrency", "integer from 1 to 1000", "got 0"]),
    ("maxConcurrency-string", {"maxConcurrency": "2"}, ["maxConcurrency", "integer from 1 to 1000"]),
    (
        "allowedExceptions-string",
        {"allowedExceptions": "x"},
        ["allowedExceptions", "list of error type names"],
    ),
    ("allowedExceptions-empty-name", {"allowedExceptions": [""]}, ["allowedExceptions", "(strings)"]),
    ("allowedExceptions-number", {"allowedExceptions": [1]}, ["allowedExceptions", "(strings)", "[1]"]),
    ("parallelInvocation-string", {"parallelInvocation": "true"}, ["parallelInvocation", "true or false"]),
    ("dryRun-string", {"dryRun": "false"}, ["dryRun", "true or false", 'got "false"']),
    ("autoOptimize-number", {"autoOptimize": 1}, ["autoOptimize", "true or false", "got 1"]),
    ("includeOutputResults-yes", {"includeOutputResults": "yes"}, ["includeOutputResults", "true or false"]),
    ("onlyColdStarts-zero", {"onlyColdStarts": 0}, ["onlyColdStarts", "true or false", "got 0"]),
    (
        "disablePayloadLogs-null",
        {"disablePayloadLogs": None},
        ["disablePayloadLogs", "true or false", "null"],
    ),
    ("sampling-random", {"sampling": "random"}, ["sampling", '"fixed", "adaptive"', '"random"']),
    ("maxDurationMs-0", {"maxDurationMs": 0}, ["maxDurationMs", "greater than 0", "got 0"]),
    ("maxDurationMs-negative", {"maxDurationMs": -5.5}, ["maxDurationMs", "greater than 0", "got -5.5"]),
    ("maxDurationMs-bool", {"maxDurationMs": True}, ["maxDurationMs", "number of milliseconds", "got true"]),
    ("maxDurationMs-string", {"maxDurationMs": "200"}, ["maxDurationMs", "number of milliseconds", '"200"']),
    ("maxDurationMs-nan", {"maxDurationMs": float("nan")}, ["maxDurationMs", "greater than 0", "NaN"]),
    ("maxDurationMs-inf", {"maxDurationMs": float("inf")}, ["maxDurationMs", "Infinity"]),
    ("maxDurationMs-null", {"maxDurationMs": None}, ["maxDurationMs", "got null"]),
    (
        "durationStatistic-p999",
        {"maxDurationMs": 200, "durationStatistic": "p999"},
        ["durationStatistic", '"average", "p50", "p90", "p95", "p99"', '"p999"'],
    ),
    (
        "durationStatistic-without-limit",
        {"durationStatistic": "p90"},
        ["durationStatistic needs maxDurationMs"],
    ),
    (
        "durationStatistic-p99-num-100",
        {"maxDurationMs": 200, "durationStatistic": "p99", "num": 100},
        ["durationStatistic p99", "num of at least 200", "got num 100"],
    ),
    (
        "durationStatistic-p90-default-num",
        {"maxDurationMs": 200, "durationStatistic": "p90"},
        ["durationStatistic p90", "num of at least 20", "got num 10"],
    ),
    (
        "maxDurationMs-adaptive",
        {"maxDurationMs": 200, "sampling": "adaptive"},
        ["maxDurationMs", 'sampling: "adaptive"', 'use sampling: "fixed"'],
    ),
    (
        "coldStartRate-negative",
        {"coldStartRate": -0.1},
        ["coldStartRate", "from 0 to 1", '"production"', "-0.1"],
    ),
    ("coldStartRate-above-one", {"coldStartRate": 1.5}, ["coldStartRate", "from 0 to 1", "1.5"]),
    ("coldStartRate-word", {"coldStartRate": "sometimes"}, ["coldStartRate", '"production"', '"sometimes"']),
    ("coldStartRate-bool", {"coldStartRate": True}, ["coldStartRate", "from 0 to 1", "true"]),
    (
        "coldStartRate-tolerant-misspelt",
        {"coldStartRate": "production-if-possible"},
        ["coldStartRate", '"production-if-available"', '"production-if-possible"'],
    ),
    ("coldStartRate-null", {"coldStartRate": None}, ["coldStartRate", "from 0 to 1", "null"]),
    (
        "coldStartRate-tolerant-onlyColdStarts",
        {"coldStartRate": "production-if-available", "onlyColdStarts": True},
        ["coldStartRate cannot be combined with onlyColdStarts"],
    ),
    ("coldStartRate-nan-string", {"coldStartRate": "0.1"}, ["coldStartRate", "from 0 to 1", '"0.1"']),
    (
        "coldStartRate-onlyColdStarts",
        {"coldStartRate": 0.1, "onlyColdStarts": True},
        ["coldStartRate cannot be combined with onlyColdStarts"],
    ),
    (
        "coldStartRate-adaptive",
        {"coldStartRate": 0.1, "sampling": "adaptive"},
        ["coldStartRate", 'sampling: "adaptive"'],
    ),
    ("coldStartsPerSize-without-rate", {"coldStartsPerSize": 2}, ["coldStartsPerSize needs coldStartRate"]),
    (
        "coldStartsPerSize-zero",
        {"coldStartRate": 0.1, "coldStartsPerSize": 0},
        ["coldStartsPerSize", "1 to 20"],
    ),
    (
        "coldStartsPerSize-above-half-num",
        {"coldStartRate": 0.1, "coldStartsPerSize": 6, "num": 10},
        ["coldStartsPerSize must be at most half of num", "got 6"],
    ),
    ("monthlyGbSeconds-negative", {"monthlyGbSeconds": -1}, ["monthlyGbSeconds", "at least 0", "-1"]),
    ("monthlyGbSeconds-string", {"monthlyGbSeconds": "6e9"}, ["monthlyGbSeconds", "a number", '"6e9"']),
    ("monthlyGbSeconds-null", {"monthlyGbSeconds": None}, ["monthlyGbSeconds", "a number", "null"]),
]


def test_every_input_key_has_an_invalid_case():
    # GIVEN the keys the invalid inputs above get wrong
    wrong = {key for _id, overrides, _fragments in INVALID for key in overrides}
    # THEN every declared key is among them: a new key comes with its invalid inputs
    missing = [key.name for key in INPUTS if key.name not in wrong]
    assert not missing, f"no invalid input for {missing}"
    assert len({case[0] for case in INVALID}) == len(INVALID)


@pytest.mark.parametrize(("overrides", "fragments"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_input_fails_with_a_message_naming_the_field_and_what_is_allowed(overrides, fragments):
    # GIVEN an otherwise valid input with one mistake
    data = {"lambdaARN": ARN, **overrides}
    if data.pop("__no_arn__", False):
        del data["lambdaARN"]
    # WHEN it is validated THEN it fails naming the field and the allowed values
    with pytest.raises(InvalidInputError) as caught:
        TuningRequest.from_dict(data)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("data", [[ARN], "arn", None, 42])
def test_input_that_is_not_an_object_is_rejected(data):
    with pytest.raises(InvalidInputError, match="must be a JSON object"):
        TuningRequest.from_dict(data)


def test_minimal_input_gets_the_reference_defaults():
    request = TuningRequest.from_dict({"lambdaARN": ARN})
    assert request == TuningRequest(lambda_arn=ARN)
    assert (request.num, request.strategy, request.balanced_weight, request.discard_top_bottom) == (
        10,
        "cost",
        0.5,
        0.2,
    )
    assert request.on_error == "fail"
    assert request.max_concurrency is None
    assert request.power_values is None
    assert request.resolved_power_values() == DEFAULT_POWER_VALUES


def test_reference_v4_input_is_accepted_unchanged(load_event):
    # GIVEN an input written for aws-lambda-power-tuning v4 WHEN validated THEN it is accepted as is
    data = load_event("input_reference_v4.json")
    request = TuningRequest.from_dict(data)
    assert request.num == 50
    assert request.parallel_invocation is True
    assert request.include_output_results is True
    assert request.payload == {}
    # written back with the same keys and values, plus the new keys' defaults
    out = request.to_dict()
    assert {key: out[key] for key in data} == data
    assert out["onError"] == "fail"


@pytest.mark.parametrize(
    "data",
    [
        {"strategy": "cost", "balancedWeight": 0.5},
        {"balancedWeight": 0.5},
        {"strategy": "speed", "balancedWeight": 0.5},
        {"strategy": "balanced", "balancedWeight": 0.0},
        {"strategy": "balanced", "balancedWeight": 1},
        {"strategy": "speed"},
    ],
)
def test_balanced_weight_is_accepted_with_balanced_or_at_its_default(data):
    # GIVEN the reference's documented default (inputs written from its table carry it) or "balanced"
    request = TuningRequest.from_dict({"lambdaARN": ARN, **data})
    # THEN it is accepted, and the request written back is accepted again
    assert request.balanced_weight == data.get("balancedWeight", 0.5)
    assert TuningRequest.from_dict(request.to_dict()) == request


def test_every_key_input_is_parsed(load_event):
    request = TuningRequest.from_dict(load_event("input_every_key.json"))
    assert request.function.qualifier == "live"
    assert request.weighted_payloads == (
        WeightedPayload({"path": "/small"}, 3.0),
        WeightedPayload({"path": "/large"}, 1.0),
    )
    assert request.payload is None
    assert request.auto_optimize_alias == "prod"
    assert request.pre_processor_arn == PRE
    assert request.allowed_exceptions == ("ValidationError",)
    assert (request.max_concurrency, request.on_error) == (2, "skip")
    assert (request.max_duration_ms, request.duration_statistic) == (500.0, "p50")


def test_latency_target_keys_are_new_input_keys_with_defaults():
    assert {"maxDurationMs", "durationStatistic"} <= set(NEW_KEYS)
    request = TuningRequest.from_dict({"lambdaARN": ARN})
    assert (request.max_duration_ms, request.duration_statistic) == (None, "average")
    assert "maxDurationMs" not in request.to_dict()
    assert "durationStatistic" not in request.to_dict()
    target = TuningRequest.from_dict({"lambdaARN": ARN, "maxDurationMs": 250})
    assert target.to_dict()["maxDurationMs"] == 250.0
    assert target.to_dict()["durationStatistic"] == "average"


def test_a_percentile_needs_two_invocations_expected_above_it():
    # num x (1 - q) >= 2: the largest duration (a stall, the fresh version's cold start) never sets it.
    assert {s: min_num_for(s) for s in ("average", "p50", "p90", "p95", "p99")} == {
        "average": 5,
        "p50": 5,
        "p90": 20,
        "p95": 40,
        "p99": 200,
    }
    for statistic, num in (("p90", 20), ("p95", 40), ("p99", 200)):
        data = {"lambdaARN": ARN, "maxDurationMs": 100, "durationStatistic": statistic, "num": num}
        assert TuningRequest.from_dict(data).duration_statistic == statistic
        with pytest.raises(InvalidInputError, match=f"num of at least {num}, got num {num - 1}"):
            TuningRequest.from_dict({**data, "num": num - 1})


def test_to_dict_round_trips(load_event):
    for name in ("input_minimal.json", "input_reference_v4.json", "input_every_key.json"):
        request = TuningRequest.from_dict(load_event(name))
        assert TuningRequest.from_dict(request.to_dict()) == request


def test_all_power_values_are_128_to_3008_in_64_mb_steps():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "powerValues": "ALL"})
    assert request.power_values == ALL_POWER_VALUES
    assert ALL_POWER_VALUES[0] == 128
    assert ALL_POWER_VALUES[-1] == 3008
    assert {b - a for a, b in itertools.pairwise(ALL_POWER_VALUES)} == {64}


def test_power_values_keep_their_order_and_bounds():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "powerValues": [10240, 128, 1769]})
    assert request.power_values == (10240, 128, 1769)


def test_dry_run_tests_one_size_once():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "dryRun": True, "powerValues": [512, 1024]})
    assert request.resolved_power_values() == (512,)
    assert request.invocations_per_size == 1


def test_deploy_time_default_power_values_are_used_when_missing():
    request = TuningRequest.from_dict({"lambdaARN": ARN})
    assert request.resolved_power_values((256, 2048)) == (256, 2048)


@pytest.mark.parametrize("payload", [{"a": 1}, "plain text", [1, 2, 3], [{"payload": 1}], 0, None])
def test_plain_payloads_are_passed_through(payload):
    request = TuningRequest.from_dict({"lambdaARN": ARN, "payload": payload})
    assert request.payload == payload
    assert request.weighted_payloads == ()


@pytest.mark.parametrize(
    "key", ["request", "run", "publish", "results", "adaptive", "analysis", "error", "lambdaConfigurations"]
)
def test_state_keys_in_an_input_are_refused(key):
    # The execution state is the tuner's own: an input can never set (or forge) any of its keys.
    with pytest.raises(InvalidInputError, match=f"unknown input key '{key}'"):
        TuningRequest.from_dict({"lambdaARN": ARN, key: {}})


def test_the_written_request_holds_only_input_keys(load_event):
    # `$.request` is validated again by every handler, with the same strict rules.
    for name in ("input_minimal.json", "input_reference_v4.json", "input_every_key.json"):
        written = TuningRequest.from_dict(load_event(name)).to_dict()
        assert set(written) <= set(INPUT_KEYS)
    adaptive = TuningRequest.from_dict({"lambdaARN": ARN, "sampling": "adaptive", "powerValues": "auto"})
    assert set(adaptive.to_dict()) <= set(INPUT_KEYS)
    assert TuningRequest.from_dict(adaptive.to_dict()) == adaptive


def test_the_reference_keys_are_the_keys_of_the_reference_tools_documented_inputs(load_event):
    # GIVEN every input aws-lambda-power-tuning v4's README documents
    used = {key for case in load_event("reference_v4_readme_inputs.json") for key in case["input"]}
    # THEN the keys declared as the reference's are exactly those, and the others are new
    assert set(REFERENCE_KEYS) == used
    assert not used & set(NEW_KEYS)


@pytest.mark.parametrize(
    ("arn", "qualifier"),
    [
        (ARN, None),
        (ARN + ":$LATEST", "$LATEST"),
        (ARN + ":7", "7"),
        (ARN + ":live-v2_1", "live-v2_1"),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f", None),
        ("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:my_fn-1", None),
    ],
)
def test_function_ref_parses_qualified_and_unqualified_arns(arn, qualifier):
    ref = FunctionRef.parse(arn)
    assert ref.qualifier == qualifier
    assert ref.unqualified == arn.rsplit(":", 1)[0] if qualifier else ref.unqualified == arn
    assert ref.qualified("RAM128") == ref.unqualified + ":RAM128"


def test_function_ref_parts():
    ref = FunctionRef.parse(ARN + ":live")
    assert (ref.partition, ref.region, ref.account, ref.name) == (
        "aws",
        "us-east-1",
        "123456789012",
        "target",
    )


def test_function_ref_rejects_a_name():
    with pytest.raises(InvalidInputError, match="not a Lambda function ARN"):
        FunctionRef.parse("target")


RUN = "0123456789ab"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:powertuning:x"


def tuning_config(**overrides):
    settings = {
        "function_arn": ARN,
        "power_values": (128, 256),
        "run_id": RUN,
        "original_memory": 1024,
        "original_description": "mine",
        "architecture": "arm64",
        "sampling": "fixed",
        "execution_arn": EXECUTION,
        "timeout_s": 60,
    }
    return RunState(**{**settings, **overrides})


def test_tuning_config_is_the_runs_own_bookkeeping_and_round_trips():
    config = tuning_config()
    wire = config.to_dict()
    assert wire == {
        "functionArn": ARN,
        "powerValues": [128, 256],
        "runId": RUN,
        "executionArn": EXECUTION,
        "original": {"memorySize": 1024, "description": "mine"},
        "architecture": "arm64",
        "sampling": "fixed",
        "timeoutSeconds": 60,
        "ephemeralStorageMB": 512,
        "targets": [{"value": 128, "architecture": "arm64"}, {"value": 256, "architecture": "arm64"}],
    }
    assert RunState.from_dict(wire) == config
    assert config.marker(256) == f"powertuning {RUN} RAM256"
    assert config.marker(256).startswith(config.marker_prefix)
    assert config.marker_prefix == f"powertuning {RUN} "


def test_tuning_config_always_names_the_unqualified_function():
    assert RunState.from_dict({**tuning_config().to_dict(), "functionArn": ARN + ":prod"}).function_arn == ARN


@pytest.mark.parametrize("run_id", ["run1", "0123456789AB", "0123456789abc", "", "0123456789a "])
def test_tuning_config_refuses_a_run_id_that_is_not_12_hex_digits(run_id):
    # The run id is what cleanup's ownership proof rests on: "powertuning <runId> ..." must not
    # let a short or odd id match other runs' markers.
    with pytest.raises(ValueError, match="not a run id"):
        RunState.from_dict({**tuning_config().to_dict(), "runId": run_id})


def test_run_markers_and_alias_names():
    config = tuning_config()
    assert RUN_VERSION_MARKER.match(config.marker(512))["run"] == RUN
    assert RUN_VERSION_MARKER.match(config.marker(512) + "-3")["power"] == "512"
    # the version autoOptimizeAlias keeps is marked too, but is never taken for a leftover
    assert not RUN_VERSION_MARKER.match(f"{config.marker_prefix}optimized RAM512")
    assert not RUN_VERSION_MARKER.match("powertuning notes RAM512")
    assert RUN_ALIAS.match("RAM512")
    assert RUN_ALIAS.match("RAM512-4")
    assert not RUN_ALIAS.match("RAM512x")
    assert not RUN_ALIAS.match("prod")


def test_publish_state_drives_the_publisher_loop():
    state = PublishState(power_values=(128, 256), index=1)
    wire = state.to_dict()
    assert wire == {"powerValues": [128, 256], "index": 1, "refused": [], "continue": True}
    assert PublishState.from_dict(wire) == state
    assert (state.published, state.done) == ((128,), False)
    done = PublishState(power_values=(128, 256), index=2, refused=(4096,))
    assert done.done
    assert done.published == (128, 256)
    assert done.to_dict()["continue"] is False
    assert PublishState.from_dict(done.to_dict()) == done
    assert PublishState.from_dict({"powerValues": [128], "index": 0}).refused == ()


def test_size_result_wire_form_is_camel_case_and_round_trips():
    result = SizeResult(value=512, average_price=2e-6, average_duration=12.5, invocations=10, cold_starts=1)
    wire = result.to_dict()
    assert list(wire)[:4] == ["value", "averagePrice", "averageDuration", "totalCost"]
    assert wire["coldStarts"] == 1
    assert "skipped" not in wire
    assert SizeResult.from_dict({**wire, "unknownKey": 1}) == result


def test_adaptive_samples_round_trip():
    result = SizeResult(value=512, invocations=2, samples=((10.5, 11.0, 0.0), (9.0, 10.0, 200.0)))
    wire = result.to_dict()
    assert wire["samples"] == [[10.5, 11.0, 0.0], [9.0, 10.0, 200.0]]
    assert SizeResult.from_dict(wire) == result


def test_skipped_size_result_carries_its_reason():
    skipped = SizeResult(value=128, skipped=True, reason="Runtime.OutOfMemory: killed")
    wire = skipped.to_dict()
    assert (wire["skipped"], wire["reason"]) == (True, "Runtime.OutOfMemory: killed")
    assert SizeResult.from_dict(wire) == skipped


def test_null_optional_max_concurrency_means_no_cap():
    assert TuningRequest.from_dict({"lambdaARN": ARN, "maxConcurrency": None}).max_concurrency is None


def test_empty_power_values_mean_the_deploy_time_default_as_in_the_reference():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "powerValues": []})
    assert request.power_values is None
    assert request.resolved_power_values((256, 1024)) == (256, 1024)


def test_sleep_with_parallel_invocation_is_accepted_and_has_no_effect_as_in_the_reference():
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "parallelInvocation": True, "sleepBetweenRunsMs": 100}
    )
    assert (request.parallel_invocation, request.sleep_between_runs_ms) == (True, 100)


def test_adaptive_keys_have_documented_defaults_and_round_trip():
    request = TuningRequest.from_dict({"lambdaARN": ADAPTIVE_ARN, "sampling": "adaptive"})
    assert (request.confidence, request.tolerance, request.auto_power_values) == (0.9, 0.05, False)
    auto = TuningRequest.from_dict({"lambdaARN": ADAPTIVE_ARN, "sampling": "adaptive", "powerValues": "auto"})
    assert auto.auto_power_values
    assert auto.power_values is None
    assert TuningRequest.from_dict(auto.to_dict()) == auto
    # A fixed run's input does not grow the adaptive keys
    assert "confidence" not in TuningRequest.from_dict({"lambdaARN": ADAPTIVE_ARN}).to_dict()


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"confidence": 0.95}, ["confidence", 'sampling: "adaptive"']),
        ({"tolerance": 0.01}, ["tolerance", 'sampling: "adaptive"']),
        ({"powerValues": "auto"}, ['powerValues "auto"', 'sampling: "adaptive"']),
        ({"sampling": "adaptive", "confidence": 1.0}, ["confidence", "from 0.5 to 0.999", "1.0"]),
        ({"sampling": "adaptive", "confidence": "high"}, ["confidence", "number"]),
        ({"sampling": "adaptive", "tolerance": -0.1}, ["tolerance", "from 0.0 to 0.5"]),
        ({"sampling": "adaptive", "powerValues": "Auto"}, ["powerValues", '"auto" or "ALL"']),
    ],
)
def test_invalid_adaptive_input_names_the_field(data, fragments):
    with pytest.raises(InvalidInputError) as caught:
        TuningRequest.from_dict({"lambdaARN": ADAPTIVE_ARN, **data})
    for fragment in fragments:
        assert fragment in str(caught.value)
