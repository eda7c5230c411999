"""The function's AWS services: moto in server mode in its own process, behind the latency model."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import boto3
import pytest

from powertuning.local import fixtures, service_latency
from powertuning.local.services import LocalServices, RealAws

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def services():
    with LocalServices("eu-west-1") as running:
        yield running


def client_at(services: LocalServices, service: str, memory_mb: int):
    env = services.environment(memory_mb)
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_the_function_environment_points_at_a_local_endpoint_per_memory_size(services):
    small, large = services.environment(128), services.environment(1024)
    assert small["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert small["AWS_ENDPOINT_URL"] != large["AWS_ENDPOINT_URL"]
    assert services.environment(128) == small  # one endpoint per size, reused
    assert small["AWS_ACCESS_KEY_ID"] == "testing"
    assert small["AWS_DEFAULT_REGION"] == small["AWS_REGION"] == "eu-west-1"
    assert small["AWS_EC2_METADATA_DISABLED"] == "true"


def test_fixtures_are_seeded_and_read_back_through_the_endpoint(services, tmp_path):
    # GIVEN fixtures with an object and items, seeded straight into moto
    (tmp_path / "s3" / "seeded-bucket" / "dir").mkdir(parents=True)
    (tmp_path / "s3" / "seeded-bucket" / "dir" / "a.txt").write_text("hello")
    (tmp_path / "dynamodb").mkdir()
    (tmp_path / "dynamodb" / "things.jsonl").write_text('{"id": "t1", "n": 3}\n')
    (tmp_path / "ssm").mkdir()
    (tmp_path / "ssm" / "parameters.json").write_text('{"/app/flag": "on"}')
    fixtures.seed(fixtures.load(tmp_path), services.client)
    # WHEN a function-side client reads them through its endpoint
    s3 = client_at(services, "s3", 512)
    assert s3.get_object(Bucket="seeded-bucket", Key="dir/a.txt")["Body"].read() == b"hello"
    item = client_at(services, "dynamodb", 512).get_item(TableName="things", Key={"id": {"S": "t1"}})["Item"]
    assert item["n"] == {"N": "3"}
    assert client_at(services, "ssm", 512).get_parameter(Name="/app/flag")["Parameter"]["Value"] == "on"
    assert services.calls.get("s3", 0) >= 1
    assert services.calls.get("dynamodb", 0) >= 1


def test_each_call_lasts_the_modelled_latency_and_a_transfer_at_the_sizes_bandwidth(services):
    # GIVEN a 2 MB object
    seed = services.client("s3")
    seed.create_bucket(Bucket="big-objects", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    body = b"x" * 2_000_000
    seed.put_object(Bucket="big-objects", Key="blob", Body=body)
    small, large = client_at(services, "s3", 128), client_at(services, "s3", 1769)
    small.head_object(Bucket="big-objects", Key="blob")  # connections opened
    large.head_object(Bucket="big-objects", Key="blob")

    # WHEN it is read at 128 MB and at one vCPU's 1,769 MB
    def read(client):
        return client.get_object(Bucket="big-objects", Key="blob")["Body"].read()

    _, at_small = timed(lambda: read(small))
    _, at_large = timed(lambda: read(large))
    _, head = timed(lambda: large.head_object(Bucket="big-objects", Key="blob"))
    # THEN each lasts at least the model's time: 128 MB is bandwidth-bound (~0.39 s), 1,769 MB is not
    assert at_small >= service_latency.call_s("s3", None, 128, len(body)) * 0.98
    assert at_large >= service_latency.call_s("s3", None, 1769, len(body)) * 0.98
    assert at_large < at_small / 3
    assert 0.025 <= head < 0.5  # a request with no body: the latency


def test_closing_stops_the_moto_process_and_the_endpoints():
    services = LocalServices()
    services.start()
    proc = services._proc
    endpoint = services.environment(256)["AWS_ENDPOINT_URL"]
    services.close()
    assert proc is not None
    assert proc.poll() is not None
    host, port = endpoint.removeprefix("http://").split(":")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=1):
        pass
    services.close()  # idempotent


def test_real_aws_hands_over_the_credentials_it_was_given_and_no_endpoint():
    environ = {"AWS_PROFILE": "dev", "AWS_REGION": "eu-west-1", "HOME": str(Path.home()), "OTHER": "x"}
    env = RealAws(environ).environment(1024)
    assert env == {"AWS_PROFILE": "dev", "AWS_REGION": "eu-west-1", "HOME": str(Path.home())}
    assert "AWS_ENDPOINT_URL" not in env
