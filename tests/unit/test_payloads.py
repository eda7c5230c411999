"""Payloads: the reference tool's rule for a weighted list, its rounding, and payloads read from S3."""

from __future__ import annotations

import math

import pytest

from powertuning.errors import InvalidInputError, PayloadError
from powertuning.models import TuningRequest, WeightedPayload
from powertuning.payloads import (
    check_finite,
    decode_s3_payload,
    is_weighted,
    js_truthy,
    parse_weighted,
    weighted_counts,
    with_s3_payload,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:target"


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        *[(None, False), (False, False), (0, False), (0.0, False), ("", False), (float("nan"), False)],
        *[(True, True), (1, True), (-1, True), ("0", True), ({}, True), ([], True), ({"a": 1}, True)],
    ],
)
def test_javascript_truthiness_of_json_values(value, truthy):
    assert js_truthy(value) is truthy


@pytest.mark.parametrize(
    ("payload", "weighted"),
    [
        # the reference's own example shape
        ([{"payload": {"a": 1}, "weight": 5}, {"payload": {"b": 2}, "weight": 15}], True),
        # an empty object and an empty list are truthy in JavaScript: still weighted
        ([{"payload": {}, "weight": 1}, {"payload": [], "weight": 1}], True),
        # extra keys are ignored, as in the reference
        ([{"payload": "x", "weight": 2, "comment": "mostly small orders"}], True),
        # objects carrying a weight but no payload: an ordinary array payload
        ([{"sku": "A", "weight": 3}], False),
        ([{"sku": "A", "weight": 3}, {"sku": "B", "weight": 1}], False),
        # one item without a truthy payload or weight makes the whole list a plain payload
        ([{"payload": {"a": 1}, "weight": 1}, {"payload": {"b": 2}, "weight": 0}], False),
        ([{"payload": 0, "weight": 1}], False),
        ([{"payload": "", "weight": 1}], False),
        ([{"payload": None, "weight": 1}], False),
        ([{"payload": {"a": 1}, "weight": 1}, "not an object"], False),
        ([], False),
        ({"payload": {"a": 1}, "weight": 1}, False),
        ("[]", False),
        (None, False),
    ],
)
def test_weighted_list_or_plain_payload_by_the_reference_rule(payload, weighted):
    assert is_weighted(payload) is weighted


def test_an_array_of_objects_with_a_weight_key_is_sent_as_the_payload():
    # GIVEN a list of order lines that happen to have a "weight" field (no "payload" key)
    lines = [{"sku": "A", "weight": 3}, {"sku": "B", "weight": 1}]
    # WHEN validated THEN it is the payload itself, not a weighted list
    request = TuningRequest.from_dict({"lambdaARN": ARN, "payload": lines})
    assert request.payload == lines
    assert request.weighted_payloads == ()


def test_a_zero_weight_turns_the_list_into_a_plain_payload_as_in_the_reference():
    items = [{"payload": {"a": 1}, "weight": 1}, {"payload": {"b": 2}, "weight": 0}]
    request = TuningRequest.from_dict({"lambdaARN": ARN, "payload": items})
    assert (request.payload, request.weighted_payloads) == (items, ())


@pytest.mark.parametrize(
    ("weights", "num", "expected"),
    [
        # floor(num x weight / total) each, the last payload the remainder (the reference's rounding)
        ((5, 15, 30), 50, [5, 15, 30]),
        ((5, 15, 30), 100, [10, 30, 60]),
        ((1, 1), 10, [5, 5]),
        ((3, 1), 8, [6, 2]),
        ((1, 1, 1), 5, [1, 1, 3]),
        ((1, 1, 1), 10, [3, 3, 4]),
        ((2, 1), 7, [4, 3]),
        ((1, 4), 1, [0, 1]),  # a dry run sends the last payload
    ],
)
def test_weighted_counts_follow_the_reference_rounding(weights, num, expected):
    counts = weighted_counts(tuple(WeightedPayload(i, w) for i, w in enumerate(weights)), num)
    assert counts == expected
    assert sum(counts) == num


def test_weights_that_leave_a_payload_without_an_invocation_are_refused_up_front():
    # The reference fails in the Executor ("Invalid payload weight (num is too small)"); here the
    # Initializer refuses it, naming the payload and the num that would work.
    items = [{"payload": "rare", "weight": 1}, {"payload": "common", "weight": 100}]
    with pytest.raises(InvalidInputError, match=r"payload\[0\]\.weight 1 of 101 .* at least 101"):
        parse_weighted(items, 5)
    assert [w.payload for w in parse_weighted(items, 101)] == ["rare", "common"]


@pytest.mark.parametrize("weight", [-2, "2", True])
def test_a_weight_that_is_not_a_positive_number_is_named(weight):
    with pytest.raises(InvalidInputError, match=r"payload\[1\]\.weight must be a positive number"):
        parse_weighted([{"payload": 1, "weight": 1}, {"payload": 2, "weight": weight}], 10)


def test_an_s3_object_is_its_json_and_anything_else_is_refused():
    # Kept difference: the reference sends an object that is not JSON as a string.
    assert decode_s3_payload('{"order": 42}', "s3://b/k") == {"order": 42}
    assert decode_s3_payload("[1, 2]", "s3://b/k") == [1, 2]
    assert decode_s3_payload('"id,qty"', "s3://b/k") == "id,qty"
    for text in ("id,qty\n1,2\n", '{"w": Infinity}', "NaN"):
        with pytest.raises(PayloadError, match="payloadS3 s3://b/k is not valid JSON"):
            decode_s3_payload(text, "s3://b/k")


def test_a_weighted_list_from_s3_is_weighted_like_an_inline_one():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "num": 8, "payloadS3": "s3://payloads/k.json"})
    document = [{"payload": {"size": "small"}, "weight": 3}, {"payload": {"size": "large"}, "weight": 1}]
    applied = with_s3_payload(request, document, "s3://payloads/k.json")
    inline = TuningRequest.from_dict({"lambdaARN": ARN, "num": 8, "payload": document})
    assert applied.weighted_payloads == inline.weighted_payloads
    assert applied.payload is None


def test_a_plain_s3_payload_replaces_the_payload():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "payloadS3": "s3://payloads/k.json"})
    assert with_s3_payload(request, [{"sku": "A", "weight": 3}], "s3://payloads/k.json").payload == [
        {"sku": "A", "weight": 3}
    ]


def test_a_bad_weighted_list_in_s3_is_a_payload_error_naming_the_object():
    request = TuningRequest.from_dict({"lambdaARN": ARN, "num": 5, "payloadS3": "s3://payloads/k.json"})
    document = [{"payload": 1, "weight": 1}, {"payload": 2, "weight": 100}]
    with pytest.raises(PayloadError, match=r"s3://payloads/k\.json: payload\[0\]\.weight"):
        with_s3_payload(request, document, "s3://payloads/k.json")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            [{"payload": 1, "weight": 2}, {"payload": 2, "weight": math.inf}],
            "payload[1].weight must be a positive number, got Infinity (a number such as 1e999",
        ),
        (
            [{"payload": 1, "weight": math.nan}],
            "payload must be sendable JSON (UTF-8, no NaN or Infinity): payload[0].weight is NaN",
        ),
        ({"a": {"b": [1, -math.inf]}}, "payload.a.b[1] is -Infinity (a number such as 1e999"),
        ([{"sku": "A", "weight": math.inf}], "payload[0].weight is Infinity"),
    ],
    ids=["weighted-weight", "nan-weight-not-weighted", "nested", "not-weighted"],
)
def test_a_non_finite_number_is_refused_by_its_path(payload, message):
    with pytest.raises(InvalidInputError) as caught:
        check_finite(payload)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "payload", [None, {}, [1.5, {"w": 1e308}], "Infinity", [{"payload": 1, "weight": 2}]]
)
def test_finite_payloads_pass(payload):
    check_finite(payload)
