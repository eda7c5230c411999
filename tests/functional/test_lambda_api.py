"""Every AWS call: retries with backoff on throttling and transient errors, waiting on conflicts,
clear errors. The run table's calls: test_run_table.py.

Most tests use a small in-memory fake client that answers each operation from a script; the
Lambda and S3 behaviour that matters end to end (qualified invoke, pagination, S3 reads) runs
against moto.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, WaiterError

from powertuning import aws as seam
from powertuning import lambda_api
from powertuning.errors import FunctionNotFoundError, PayloadError, ProcessorError, ThrottledError


def client_error(code: str, operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, operation)


class FakeWaiter:
    def __init__(self, client: FakeClient, name: str) -> None:
        self.client = client
        self.name = name

    def wait(self, **kwargs: Any) -> None:
        self.client.calls.append(("wait", kwargs))
        self.client.waiters.append(self.name)
        if self.client.waiter_error:
            raise WaiterError(name=self.name, reason="Max attempts exceeded", last_response={})


class FakeClient:
    """Answers each operation with the next scripted outcome (the last one repeats); records calls."""

    def __init__(self, **script: Any) -> None:
        self.script = {op: list(v) if isinstance(v, list) else [v] for op, v in script.items()}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.waiter_error = False
        self.waiters: list[str] = []

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**kwargs: Any) -> Any:
            self.calls.append((operation, kwargs))
            outcomes = self.script[operation]
            outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return call

    def get_waiter(self, name: str) -> FakeWaiter:
        return FakeWaiter(self, name)

    def attempts(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def waits(self) -> list[dict[str, Any]]:
        return [kwargs for op, kwargs in self.calls if op == "wait"]


# boto3's waiters on LastUpdateStatus (GetFunctionConfiguration and GetFunction based).
UPDATE_WAITERS = {"function_updated", "function_updated_v2"}


def payload(body: Any) -> io.BytesIO:
    return io.BytesIO(body if isinstance(body, bytes) else json.dumps(body).encode())


# -- call: retries, backoff, conflicts --------------------------------------------------------------


def test_call_returns_the_response_without_sleeping(no_backoff):
    client = FakeClient(get_alias={"Name": "RAM128"})
    assert seam.call(client, "get_alias", FunctionName="f", Name="RAM128") == {"Name": "RAM128"}
    assert client.calls == [("get_alias", {"FunctionName": "f", "Name": "RAM128"})]
    assert no_backoff == []


def test_throttling_is_retried_with_backoff_until_it_succeeds(no_backoff):
    # GIVEN an API that throttles twice, then answers
    client = FakeClient(publish_version=[client_error("TooManyRequestsException")] * 2 + [{"Version": "3"}])
    # WHEN called THEN the third attempt's answer comes back after two sleeps
    assert seam.call(client, "publish_version", FunctionName="f")["Version"] == "3"
    assert client.attempts("publish_version") == 3
    assert len(no_backoff) == 2
    assert 0 <= no_backoff[0] <= seam.BASE_DELAY_S
    assert 0 <= no_backoff[1] <= seam.BASE_DELAY_S * 2


@pytest.mark.parametrize(
    "code", ["TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"]
)
def test_every_throttling_code_is_retried(no_backoff, code):
    client = FakeClient(invoke=[client_error(code), {"ok": True}])
    assert seam.call(client, "invoke", FunctionName="f") == {"ok": True}
    assert client.attempts("invoke") == 2


def test_throttled_error_after_the_last_attempt(no_backoff):
    # GIVEN an API that always throttles
    client = FakeClient(update_alias=client_error("TooManyRequestsException"))
    # WHEN called THEN it gives up after MAX_ATTEMPTS with ThrottledError naming the operation
    with pytest.raises(
        ThrottledError,
        match=f"update_alias still failing with TooManyRequestsException after {seam.MAX_ATTEMPTS}",
    ) as caught:
        seam.call(client, "update_alias", FunctionName="f", Name="a", FunctionVersion="1")
    assert client.attempts("update_alias") == seam.MAX_ATTEMPTS
    assert len(no_backoff) == seam.MAX_ATTEMPTS - 1
    assert isinstance(caught.value.__cause__, ClientError)


def test_backoff_grows_exponentially_up_to_the_cap(monkeypatch):
    # GIVEN jitter that always draws the upper bound WHEN computing delays THEN they double to the cap
    monkeypatch.setattr(seam.random, "uniform", lambda low, high: high)
    delays = [seam.backoff_delay(a) for a in range(10)]
    assert delays[:4] == pytest.approx([0.2, 0.4, 0.8, 1.6])
    assert max(delays) == seam.MAX_DELAY_S
    assert delays == sorted(delays)


def test_backoff_has_full_jitter(monkeypatch):
    monkeypatch.setattr(seam.random, "uniform", lambda low, high: low)
    assert seam.backoff_delay(5) == 0


def test_throttled_delays_stay_under_the_exponential_bounds(no_backoff):
    client = FakeClient(get_function=client_error("TooManyRequestsException"))
    with pytest.raises(ThrottledError):
        seam.call(client, "get_function", FunctionName="f")
    for attempt, delay in enumerate(no_backoff):
        assert 0 <= delay <= min(seam.MAX_DELAY_S, seam.BASE_DELAY_S * 2**attempt)


def test_resource_conflict_waits_for_the_update_then_retries(no_backoff):
    # GIVEN an update that conflicts with one still in progress
    client = FakeClient(
        update_function_configuration=[client_error("ResourceConflictException"), {"MemorySize": 512}]
    )
    # WHEN called THEN it waits on the LastUpdateStatus waiter (no blind sleep) and retries
    result = seam.call(client, "update_function_configuration", FunctionName="f", MemorySize=512)
    assert result == {"MemorySize": 512}
    assert [op for op, _ in client.calls] == [
        "update_function_configuration",
        "wait",
        "update_function_configuration",
    ]
    assert client.waits()[0]["FunctionName"] == "f"
    assert no_backoff == []


def test_resource_conflict_that_never_clears_raises_the_conflict(no_backoff):
    client = FakeClient(publish_version=client_error("ResourceConflictException"))
    with pytest.raises(ClientError, match="ResourceConflictException"):
        seam.call(client, "publish_version", FunctionName="f")
    assert client.attempts("publish_version") == seam.MAX_ATTEMPTS


def test_resource_conflict_without_a_function_name_is_not_retried():
    client = FakeClient(get_object=client_error("ResourceConflictException"))
    with pytest.raises(ClientError):
        seam.call(client, "get_object", Bucket="b", Key="k")
    assert client.attempts("get_object") == 1


@pytest.mark.parametrize(
    "code",
    [
        "ServiceException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    ],
)
def test_transient_service_errors_are_retried_like_throttling(no_backoff, code):
    client = FakeClient(create_alias=[client_error(code), client_error(code), {"AliasArn": "a"}])
    assert seam.call(client, "create_alias", FunctionName="f", Name="a") == {"AliasArn": "a"}
    assert client.attempts("create_alias") == 3
    assert len(no_backoff) == 2


def test_a_transient_error_that_persists_is_a_throttled_error(no_backoff):
    client = FakeClient(publish_version=client_error("ServiceException"))
    with pytest.raises(
        ThrottledError,
        match=f"publish_version still failing with ServiceException after {seam.MAX_ATTEMPTS} attempts",
    ) as caught:
        seam.call(client, "publish_version", FunctionName="f")
    assert client.attempts("publish_version") == seam.MAX_ATTEMPTS
    assert len(no_backoff) == seam.MAX_ATTEMPTS - 1
    assert isinstance(caught.value.__cause__, ClientError)


@pytest.mark.parametrize(
    "code", ["AccessDeniedException", "InvalidParameterValueException", "ResourceNotFoundException"]
)
def test_other_errors_are_raised_at_once(no_backoff, code):
    client = FakeClient(create_alias=client_error(code))
    with pytest.raises(ClientError, match=code):
        seam.call(client, "create_alias", FunctionName="f", Name="a", FunctionVersion="1")
    assert client.attempts("create_alias") == 1
    assert no_backoff == []


def test_tuner_clients_leave_retries_to_call():
    # botocore's max_attempts counts retries (1 means two calls); total_max_attempts counts calls
    client = lambda_api.client("lambda", "us-east-1")
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.read_timeout >= 900
    assert client.meta.region_name == "us-east-1"


# -- waiting and configuration ---------------------------------------------------------------------


def test_wait_until_updated_uses_the_boto3_waiter_with_the_qualifier():
    client = FakeClient()
    seam.wait_until_updated(client, "f", "RAM128")
    assert client.calls[0][0] == "wait"
    assert client.waiters[0] in UPDATE_WAITERS
    assert client.waits()[0]["FunctionName"] == "f"
    assert client.waits()[0]["Qualifier"] == "RAM128"


def test_the_waiter_used_exists_in_boto3_and_watches_last_update_status():
    client = FakeClient()
    seam.wait_until_updated(client, "f")
    real = lambda_api.client("lambda", "us-east-1")
    assert client.waiters[0] in real.waiter_names
    assert client.waiters[0] in UPDATE_WAITERS


def test_waiter_failure_is_a_clear_error():
    client = FakeClient()
    client.waiter_error = True
    with pytest.raises(FunctionNotFoundError, match="f did not finish updating"):
        seam.wait_until_updated(client, "f")


def test_update_configuration_waits_before_and_after():
    client = FakeClient(update_function_configuration={})
    lambda_api.update_configuration(client, "f", MemorySize=256, Description="d")
    assert [op for op, _ in client.calls] == [
        "wait",
        "update_function_configuration",
        "wait",
    ]
    assert client.calls[1][1] == {"FunctionName": "f", "MemorySize": 256, "Description": "d"}


def test_publish_version_waits_then_returns_the_version_as_text():
    client = FakeClient(publish_version={"Version": 7})
    assert lambda_api.publish_version(client, "f", "marker") == "7"
    assert [op for op, _ in client.calls] == ["wait", "publish_version"]
    assert client.calls[1][1] == {"FunctionName": "f", "Description": "marker"}


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException"])
def test_get_configuration_of_a_missing_function_names_it(code):
    client = FakeClient(get_function_configuration=client_error(code))
    with pytest.raises(FunctionNotFoundError, match="cannot read function f:live"):
        lambda_api.get_configuration(client, "f", "live")


def test_get_configuration_passes_the_qualifier_only_when_given():
    client = FakeClient(get_function_configuration={"MemorySize": 128})
    lambda_api.get_configuration(client, "f")
    lambda_api.get_configuration(client, "f", "3")
    assert [kwargs for _, kwargs in client.calls] == [
        {"FunctionName": "f"},
        {"FunctionName": "f", "Qualifier": "3"},
    ]


def test_get_configuration_lets_other_errors_through():
    client = FakeClient(get_function_configuration=client_error("InvalidParameterValueException"))
    with pytest.raises(ClientError):
        lambda_api.get_configuration(client, "f")


# -- aliases and versions --------------------------------------------------------------------------


def test_get_alias_is_none_when_missing():
    assert (
        lambda_api.get_alias(FakeClient(get_alias=client_error("ResourceNotFoundException")), "f", "a")
        is None
    )


def test_create_or_update_alias_creates_a_missing_alias():
    client = FakeClient(get_alias=client_error("ResourceNotFoundException"), create_alias={})
    lambda_api.create_or_update_alias(client, "f", "RAM128", "3")
    assert client.calls[-1] == (
        "create_alias",
        {"FunctionName": "f", "Name": "RAM128", "FunctionVersion": "3"},
    )


def test_create_or_update_alias_updates_an_existing_alias():
    client = FakeClient(get_alias={"Name": "prod", "FunctionVersion": "1"}, update_alias={})
    lambda_api.create_or_update_alias(client, "f", "prod", "4")
    assert client.calls[-1] == ("update_alias", {"FunctionName": "f", "Name": "prod", "FunctionVersion": "4"})


def test_deletes_report_whether_something_was_deleted():
    gone = client_error("ResourceNotFoundException")
    assert lambda_api.delete_alias(FakeClient(delete_alias={}), "f", "a") is True
    assert lambda_api.delete_alias(FakeClient(delete_alias=gone), "f", "a") is False
    assert lambda_api.delete_version(FakeClient(delete_function={}), "f", "3") is True
    assert lambda_api.delete_version(FakeClient(delete_function=gone), "f", "3") is False


def test_delete_version_deletes_only_that_version():
    client = FakeClient(delete_function={})
    lambda_api.delete_version(client, "f", "12")
    assert client.calls == [("delete_function", {"FunctionName": "f", "Qualifier": "12"})]


@pytest.mark.parametrize("version", ["$LATEST", "RAM128", ""])
def test_delete_version_refuses_anything_but_a_version_number(version):
    # GIVEN a qualifier that is not a published version WHEN asked to delete it
    # THEN nothing is called: deleting without a number would delete the whole function
    client = FakeClient(delete_function={})
    with pytest.raises(ValueError, match="not a published version"):
        lambda_api.delete_version(client, "f", version)
    assert client.calls == []


def test_delete_errors_other_than_not_found_propagate():
    with pytest.raises(ClientError):
        lambda_api.delete_alias(FakeClient(delete_alias=client_error("AccessDeniedException")), "f", "a")


def test_list_calls_follow_every_page_and_pass_the_full_arn(no_backoff):
    # A bare name would read a same-named function in the caller's own account.
    client = FakeClient(
        list_aliases=[
            {"Aliases": [{"Name": "a"}], "NextMarker": "page2"},
            client_error("TooManyRequestsException"),
            {"Aliases": [{"Name": "b"}]},
        ],
        list_versions_by_function={"Versions": [{"Version": "$LATEST"}]},
    )
    arn = "arn:aws:lambda:us-east-1:123456789012:function:target"
    assert [a["Name"] for a in lambda_api.list_aliases(client, arn)] == ["a", "b"]
    # every page is a call of its own, retried like any other
    assert [kwargs for op, kwargs in client.calls if op == "list_aliases"] == [
        {"FunctionName": arn},
        {"FunctionName": arn, "Marker": "page2"},
        {"FunctionName": arn, "Marker": "page2"},
    ]
    assert lambda_api.list_versions(client, arn) == [{"Version": "$LATEST"}]
    assert client.calls[-1] == ("list_versions_by_function", {"FunctionName": arn})


# -- invoke and processors -------------------------------------------------------------------------


def test_invoke_qualifies_through_the_name_and_asks_for_the_log_tail():
    client = FakeClient(invoke={"Payload": payload({"ok": 1}), "LogResult": "UkVQT1JU"})
    result = lambda_api.invoke(client, "arn:aws:lambda:us-east-1:123456789012:function:f", "RAM512", b"{}")
    _, kwargs = client.calls[0]
    assert kwargs["FunctionName"].endswith("function:f:RAM512")
    assert "Qualifier" not in kwargs
    assert (kwargs["LogType"], kwargs["InvocationType"]) == ("Tail", "RequestResponse")
    assert result == lambda_api.Invocation('{"ok": 1}', None, "UkVQT1JU")


def test_invoke_returns_the_function_error():
    client = FakeClient(
        invoke={"Payload": payload({"errorType": "X"}), "FunctionError": "Unhandled", "LogResult": ""}
    )
    assert lambda_api.invoke(client, "f", "RAM128", b"{}").function_error == "Unhandled"


def test_invoke_processor_returns_its_json_result():
    client = FakeClient(invoke={"Payload": payload({"n": 2})})
    assert lambda_api.invoke_processor(client, "pre", {"n": 1}) == {"n": 2}
    assert json.loads(client.calls[0][1]["Payload"]) == {"n": 1}


def test_invoke_processor_with_an_empty_result_returns_none():
    assert lambda_api.invoke_processor(FakeClient(invoke={"Payload": payload(b"")}), "post", {}) is None


def test_failing_processor_is_a_processor_error():
    client = FakeClient(invoke={"Payload": payload({"errorMessage": "boom"}), "FunctionError": "Unhandled"})
    with pytest.raises(ProcessorError, match=r'^processor pre failed with payload \{"n": 1\}: .*boom'):
        lambda_api.invoke_processor(client, "pre", {"n": 1})


def test_a_private_processor_error_leaves_its_body_out():
    # disablePayloadLogs: a processor's error often echoes the event it was given
    body = {"errorMessage": "bad event {'password': 'hunter2'}"}
    client = FakeClient(invoke={"Payload": payload(body), "FunctionError": "Unhandled"})
    with pytest.raises(ProcessorError) as caught:
        lambda_api.invoke_processor(
            client, "pre", {"password": "hunter2"}, private=True, role="preProcessorARN"
        )
    assert (
        str(caught.value)
        == "preProcessorARN pre failed: Unhandled error (details hidden: disablePayloadLogs)"
    )


def test_invoking_an_alias_runs_that_alias_memory(target_runtime, lambda_client, target_function):
    # GIVEN a version at 512 MB behind alias RAM512 while $LATEST stays at 1,024 MB
    name = target_function.name
    lambda_api.update_configuration(lambda_client, name, MemorySize=512)
    version = lambda_api.publish_version(lambda_client, name, "at 512")
    lambda_api.create_or_update_alias(lambda_client, name, "RAM512", version)
    lambda_api.update_configuration(lambda_client, name, MemorySize=1024)
    # WHEN the alias is invoked (moto ignores a separate Qualifier; the name carries it)
    result = lambda_api.invoke(lambda_client, target_function.arn, "RAM512", b'{"n": 1}')
    # THEN the function ran with the alias's memory and the REPORT line comes back
    assert target_runtime.memories() == [512]
    assert result.function_error is None
    assert "Memory Size: 512 MB" in base64.b64decode(result.log_result).decode()


def test_list_calls_against_moto(lambda_client, target_function):
    version = lambda_api.publish_version(lambda_client, target_function.name, "v")
    lambda_api.create_or_update_alias(lambda_client, target_function.name, "live", version)
    assert [a["Name"] for a in lambda_api.list_aliases(lambda_client, target_function.arn)] == ["live"]
    assert [v["Version"] for v in lambda_api.list_versions(lambda_client, target_function.arn)] == [
        "$LATEST",
        "1",
    ]


# -- S3 ----------------------------------------------------------------------------------------------


def test_read_s3_text(s3_client):
    s3_client.create_bucket(Bucket="payloads")
    s3_client.put_object(Bucket="payloads", Key="big/event.json", Body=json.dumps({"items": [1, 2]}))
    assert lambda_api.read_s3_text(s3_client, "s3://payloads/big/event.json", 1024) == '{"items": [1, 2]}'


def test_missing_s3_object_is_a_payload_error_naming_payload_s3(s3_client):
    s3_client.create_bucket(Bucket="payloads")
    with pytest.raises(PayloadError, match=r"^payloadS3 s3://payloads/missing\.json cannot be read: "):
        lambda_api.read_s3_text(s3_client, "s3://payloads/missing.json", 1024)


def test_s3_object_larger_than_the_limit_is_refused_before_it_is_read(s3_client, monkeypatch):
    s3_client.create_bucket(Bucket="payloads")
    body = json.dumps({"x": "y" * 2000})
    s3_client.put_object(Bucket="payloads", Key="huge.json", Body=body)
    monkeypatch.setattr(s3_client, "get_object", lambda **_: pytest.fail("read a too large object"))
    expected = rf"payloadS3 s3://payloads/huge\.json has {len(body)} bytes; .* at most 1024"
    with pytest.raises(PayloadError, match=expected):
        lambda_api.read_s3_text(s3_client, "s3://payloads/huge.json", 1024)


def test_an_object_that_grew_after_its_head_is_still_refused():
    # HeadObject said small; the body read is bounded all the same.
    client = FakeClient(
        head_object={"ContentLength": 10}, get_object={"Body": io.BytesIO(b'{"x": "' + b"y" * 100 + b'"}')}
    )
    with pytest.raises(PayloadError, match=r"s3://payloads/k\.json is larger than 50 bytes"):
        lambda_api.read_s3_text(client, "s3://payloads/k.json", 50)


def test_s3_object_that_is_not_utf8_is_a_payload_error(s3_client):
    s3_client.create_bucket(Bucket="payloads")
    s3_client.put_object(Bucket="payloads", Key="event.bin", Body=b"\xff\xfe")
    with pytest.raises(PayloadError, match=r"payloadS3 s3://payloads/event\.bin is not UTF-8 text"):
        lambda_api.read_s3_text(s3_client, "s3://payloads/event.bin", 1024)


def test_malformed_s3_uri_is_a_payload_error():
    with pytest.raises(PayloadError, match="s3://bucket/key"):
        lambda_api.read_s3_text(FakeClient(), "payloads/event.json", 1024)
    assert FakeClient().calls == []
