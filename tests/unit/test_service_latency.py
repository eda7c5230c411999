"""The latency and bandwidth an AWS call gets from a Lambda function, by memory size."""

from __future__ import annotations

import pytest

from powertuning.local import service_latency as model

SIGNED_S3 = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261207/us-east-1/s3/aws4_request, X"}
SIGNED_DDB = {
    "authorization": "AWS4-HMAC-SHA256 Credential=testing/20261207/eu-west-1/dynamodb/aws4_request, X",
    "X-Amz-Target": "DynamoDB_20120810.Query",
}


def test_the_service_comes_from_the_signature_scope_and_the_operation_from_the_target():
    assert model.service_of(SIGNED_S3) == "s3"
    assert model.service_of(SIGNED_DDB) == "dynamodb"
    assert model.operation_of(SIGNED_DDB) == "Query"
    assert model.service_of({}) == ""
    assert model.operation_of(SIGNED_S3) is None


@pytest.mark.parametrize(
    ("service", "operation", "seconds"),
    [
        ("s3", None, 0.025),
        ("s3", "GetObject", 0.025),
        ("dynamodb", "GetItem", 0.005),
        ("dynamodb", "Query", 0.010),
        ("sqs", "SendMessage", model.DEFAULT_LATENCY_S),
        ("", None, model.DEFAULT_LATENCY_S),
    ],
)
def test_latency_per_service_and_operation(service, operation, seconds):
    assert model.latency_s(service, operation) == seconds


def test_bandwidth_grows_with_memory_up_to_one_vcpu_then_stays():
    # GIVEN the model's 600 Mbit/s at 1,769 MB
    full = model.bandwidth_bytes_per_s(1769)
    assert full == pytest.approx(75e6)
    # THEN 128 MB gets 128/1769 of it, and more memory past a vCPU adds nothing
    assert model.bandwidth_bytes_per_s(128) == pytest.approx(full * 128 / 1769)
    assert model.bandwidth_bytes_per_s(10240) == full


def test_a_4_mb_download_is_network_bound_at_128_mb_and_latency_bound_at_2048():
    small = model.call_s("s3", "GetObject", 128, 4_000_000)
    large = model.call_s("s3", "GetObject", 2048, 4_000_000)
    assert small == pytest.approx(0.025 + 4e6 / (75e6 * 128 / 1769))  # ~0.76 s
    assert large == pytest.approx(0.025 + 4e6 / 75e6)  # ~0.08 s
    # a small item read costs the same at every size: latency, not bandwidth
    assert model.call_s("dynamodb", "GetItem", 128, 200) == pytest.approx(
        model.call_s("dynamodb", "GetItem", 3008, 200), rel=0.01
    )
