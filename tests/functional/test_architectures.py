"""Input `architectures` through the Initializer, Publisher and Cleaner handlers against moto.

The original code is staged and recorded before anything changes; the Publisher switches the code
to the other architecture under the run's marker and puts it back after the last size; every refusal
comes before the first change.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from lambdas import cleaner
from powertuning import deployment, lambda_api
from powertuning.aws import function_code, run_table
from powertuning.errors import ArchitectureError, StagedCodeError
from powertuning.local import aws_rules
from powertuning.local.tuner_stack import RUNS_TABLE

BUCKET = "powertuning-staging"
BOTH = {"powerValues": [128, 256], "num": 5, "architectures": ["x86_64", "arm64"]}


@pytest.fixture(autouse=True)
def code_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment with the option `architectures` (`cdk deploy -c architectures=true`)."""
    for name, value in deployment.CodeChanges(enabled=True).to_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def staging(aws: Any, s3_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The stack's staging bucket, named to the functions as the stack names it."""
    s3_client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv(deployment.STAGING_BUCKET_ENV, BUCKET)
    return s3_client


def staged(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def latest(lambda_client: Any) -> dict[str, Any]:
    found = dict(lambda_client.get_function_configuration(FunctionName="target"))
    found.pop("ResponseMetadata")
    return found


def test_the_initializer_stages_the_original_code_and_records_it_before_anything_changes(
    start_run: Callable[..., dict[str, Any]], staging: Any, lambda_client: Any, code_zip: Any
) -> None:
    before = latest(lambda_client)
    # WHEN a run on both architectures starts
    state = start_run(**BOTH)
    # THEN the copy in the staging bucket is the function's package, byte for byte
    run = state["run"]
    code = run["original"]["code"]
    assert code["codeSha256"] == before["CodeSha256"]
    (key,) = staged(staging)
    assert code["staged"] == f"s3://{BUCKET}/{key}"
    package = staging.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert base64.b64encode(hashlib.sha256(package).digest()).decode() == before["CodeSha256"]
    # the run table holds it too (what recovery and `powertune clean` restore from)
    record = run_table.get_run(lambda_api.client("dynamodb"), RUNS_TABLE, run["functionArn"])
    assert record is not None
    assert record["original"]["code"] == code
    assert record["architecture"] == "x86_64"
    # one Map item per (size, architecture), the function's own first
    assert run["targets"] == [
        {"value": 128, "architecture": "x86_64"},
        {"value": 256, "architecture": "x86_64"},
        {"value": 128, "architecture": "arm64"},
        {"value": 256, "architecture": "arm64"},
    ]
    # and the function itself is untouched
    assert latest(lambda_client) == before


def test_the_default_is_the_functions_own_architecture_and_stages_nothing(
    start_run: Callable[..., dict[str, Any]], staging: Any
) -> None:
    for execution_input in ({"powerValues": [128]}, {"powerValues": [128], "architectures": ["x86_64"]}):
        state = start_run(
            **execution_input,
            execution=f"arn:aws:states:us-east-1:123456789012:execution:m:{len(execution_input)}",
        )
        assert "code" not in state["run"]["original"]
        assert "architectures" not in state["run"]
        assert staged(staging) == []
        run_table.release_run(
            lambda_api.client("dynamodb"), RUNS_TABLE, state["run"]["functionArn"], state["run"]["runId"]
        )


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"
# imageUris names an image by digest, in the function's own repository.
ARM64_IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{'a1' * 32}"


@pytest.fixture
def image_function(make_function: Callable[..., Any]) -> str:
    """A container image function on x86_64 (1,024 MB); returns its ARN."""
    ref = make_function("image", PackageType="Image", Code={"ImageUri": IMAGE}, MemorySize=1024)
    return str(ref.arn)


def code_of(lambda_client: Any, name: str = "image") -> dict[str, Any]:
    found = lambda_client.get_function(FunctionName=name)
    config = found["Configuration"]
    return {
        "imageUri": found["Code"]["ImageUri"],
        "architectures": config["Architectures"],
        "codeSha256": config["CodeSha256"],
        "memory": config["MemorySize"],
        "description": config["Description"],
    }


def test_an_image_with_imageuris_is_measured_on_that_image_and_restored_by_digest(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    lambda_client: Any,
    image_function: str,
) -> None:
    # GIVEN an x86_64 image function, and an arm64 image for it
    before = code_of(lambda_client)
    resolved = lambda_client.get_function(FunctionName="image")["Code"]["ResolvedImageUri"]
    # WHEN a run on both architectures starts
    state = start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": ARM64_IMAGE})
    # THEN the original image is recorded by digest, with the digest the run itself deploys on
    # arm64 (its own code, not somebody's deploy), and nothing is staged
    assert state["run"]["original"]["code"] == {
        "codeSha256": before["codeSha256"],
        "imageUri": resolved,
        "switchedCodeSha256": ["a1" * 32],
    }
    assert staged(staging) == []
    # WHEN x86_64's sizes and arm64's first are published
    state = publish(state, times=3)
    # THEN $LATEST runs the arm64 image on arm64
    now = code_of(lambda_client)
    assert (now["imageUri"], now["architectures"]) == (ARM64_IMAGE, ["arm64"])
    # WHEN the last size is published THEN the original image (by digest) and x86_64 are back
    publish(state)
    after = code_of(lambda_client)
    assert after["imageUri"] == resolved
    assert {k: v for k, v in after.items() if k != "imageUri"} == {
        k: v for k, v in before.items() if k != "imageUri"
    }
    report = cleaner.handler(state, None)
    assert sorted(report["deletedAliases"]) == ["RAM128", "RAM128-arm64", "RAM256", "RAM256-arm64"]


def test_an_image_without_an_image_for_the_other_architecture_is_refused_up_front(
    start_run: Callable[..., dict[str, Any]], staging: Any, lambda_client: Any, image_function: str
) -> None:
    # GIVEN an image function and no imageUris (its own image is built for x86_64 only: Lambda does
    # not run multi-architecture images)
    before = code_of(lambda_client)
    # WHEN a run on both architectures starts THEN it is refused, saying what to give
    with pytest.raises(ArchitectureError, match=r"container image.*give it in imageUris"):
        start_run(lambdaARN=image_function, **BOTH)
    assert code_of(lambda_client) == before


def test_an_image_in_another_region_is_refused_up_front_even_from_a_listed_repository(
    start_run: Callable[..., dict[str, Any]],
    staging: Any,
    image_function: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a deploy that allows a repository in another region (imageRepositories)
    elsewhere = ARM64_IMAGE.replace("us-east-1", "eu-west-1")
    listed = deployment.CodeChanges(enabled=True, image_repositories=(elsewhere.split("@")[0],))
    monkeypatch.setenv(deployment.IMAGE_REPOSITORIES_ENV, listed.to_env()[deployment.IMAGE_REPOSITORIES_ENV])
    # THEN Lambda's own rule still refuses it: images only from the function's region
    with pytest.raises(ArchitectureError, match="is not in us-east-1"):
        start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": elsewhere})


def test_an_image_lambda_refuses_fails_saying_what_to_give_and_nothing_changes(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    lambda_client: Any,
    image_function: str,
) -> None:
    # GIVEN imageUris naming a multi-architecture index (Lambda refuses it)
    aws_rules.image_index(ARM64_IMAGE)
    before = code_of(lambda_client)
    state = publish(start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": ARM64_IMAGE}), times=2)
    # WHEN the Publisher switches to arm64 THEN Lambda's refusal is an ArchitectureError saying what to do
    with pytest.raises(
        ArchitectureError, match=r"Lambda refused the image imageUris gives for arm64.*built for"
    ):
        publish(state)
    # AND the Cleaner puts back the rest: the code never changed
    cleaner.handler(state, None)
    assert code_of(lambda_client) == before


def test_the_recovery_event_restores_the_original_image(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    lambda_client: Any,
    image_function: str,
    *,
    stop: Callable[[str], None],
) -> None:
    before = code_of(lambda_client)
    state = start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": ARM64_IMAGE})
    publish(state, times=3)
    assert code_of(lambda_client)["imageUri"] == ARM64_IMAGE
    stop(state["run"]["executionArn"])
    event = {
        "source": "aws.states",
        "detail": {"executionArn": state["run"]["executionArn"], "status": "ABORTED"},
    }
    (recovered,) = cleaner.handler(event, None)["recovered"]
    assert recovered["restoredLatest"] is True
    after = code_of(lambda_client)
    assert (after["architectures"], after["codeSha256"]) == (before["architectures"], before["codeSha256"])
    assert lambda_client.list_aliases(FunctionName="image")["Aliases"] == []


def test_imageuris_for_a_zip_function_is_refused(
    start_run: Callable[..., dict[str, Any]], staging: Any
) -> None:
    with pytest.raises(ArchitectureError, match=r"zip package.*leave imageUris out"):
        start_run(**BOTH, imageUris={"arm64": ARM64_IMAGE})
    assert staged(staging) == []


def test_imageuris_for_the_functions_own_architecture_is_refused(
    start_run: Callable[..., dict[str, Any]], staging: Any, lambda_client: Any, image_function: str
) -> None:
    before = code_of(lambda_client)
    with pytest.raises(ArchitectureError, match="leave x86_64 out of imageUris"):
        start_run(lambdaARN=image_function, **BOTH, imageUris={"x86_64": ARM64_IMAGE})
    assert code_of(lambda_client) == before


def test_without_a_staging_bucket_the_run_is_refused(
    start_run: Callable[..., dict[str, Any]], aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(deployment.STAGING_BUCKET_ENV, raising=False)
    with pytest.raises(ArchitectureError, match=r"staging bucket.*redeploy the stack"):
        start_run(**BOTH)


def test_a_staging_bucket_in_another_region_is_refused(
    start_run: Callable[..., dict[str, Any]], staging: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with pytest.raises(ArchitectureError, match="staging bucket is in eu-west-1"):
        start_run(**BOTH)
    assert staged(staging) == []


def test_the_publisher_switches_under_the_marker_and_restores_the_code_after_the_last_size(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    lambda_client: Any,
) -> None:
    before = latest(lambda_client)
    state = start_run(**BOTH)
    # WHEN the Publisher has published x86_64's two sizes and arm64's first
    state = publish(state, times=3)
    # THEN $LATEST runs arm64 under the run's marker, and the arm64 version is arm64
    now = latest(lambda_client)
    assert now["Architectures"] == ["arm64"]
    assert now["Description"] == f"powertuning {state['run']['runId']} RAM128-arm64"
    alias = lambda_client.get_alias(FunctionName="target", Name="RAM128-arm64")
    version = lambda_client.get_function_configuration(
        FunctionName="target", Qualifier=alias["FunctionVersion"]
    )
    assert version["Architectures"] == ["arm64"]
    own = lambda_client.get_alias(FunctionName="target", Name="RAM128")
    assert lambda_client.get_function_configuration(FunctionName="target", Qualifier=own["FunctionVersion"])[
        "Architectures"
    ] == ["x86_64"]
    # WHEN the last size is published
    state = publish(state)
    # THEN the original architecture, code, memory and description are back
    after = latest(lambda_client)
    for key in ("Architectures", "CodeSha256", "MemorySize", "Description"):
        assert after[key] == before[key], key
    # AND the Cleaner removes the versions and the staged copy
    report = cleaner.handler(state, None)
    assert sorted(report["deletedAliases"]) == ["RAM128", "RAM128-arm64", "RAM256", "RAM256-arm64"]
    assert staged(staging) == []


def test_a_restore_from_a_copy_that_does_not_match_is_refused_before_it_is_deployed(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    code_zip: Any,
    lambda_client: Any,
) -> None:
    # GIVEN a run on arm64 whose staged copy is then replaced
    before = latest(lambda_client)
    state = start_run(**BOTH)
    state = publish(state, times=3)
    key = staged(staging)[0]
    staging.put_object(Bucket=BUCKET, Key=key, Body=code_zip("def handler(e, c):\n    return 'other'\n"))
    # WHEN the Publisher would put the original back from it THEN the copy is hashed first and refused
    with pytest.raises(StagedCodeError, match=r"not the original .* replaced .* never deployed"):
        publish(state)
    # AND it never ran on $LATEST, which still runs the original package (on arm64), while memory
    # and description are back regardless; the copy is kept for the record
    after = latest(lambda_client)
    assert after["CodeSha256"] == before["CodeSha256"]
    assert after["Architectures"] == ["arm64"]
    assert (after["MemorySize"], after["Description"]) == (before["MemorySize"], before["Description"])
    assert staged(staging) == [key]


def test_a_switch_from_a_copy_that_does_not_match_is_refused_before_it_is_deployed(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    code_zip: Any,
    lambda_client: Any,
) -> None:
    # GIVEN a staged copy replaced before the run switches to arm64
    before = latest(lambda_client)
    state = start_run(**BOTH)
    state = publish(state, times=2)
    key = staged(staging)[0]
    staging.put_object(Bucket=BUCKET, Key=key, Body=code_zip("def handler(e, c):\n    return 'other'\n"))
    # WHEN the Publisher switches THEN the copy is refused and $LATEST keeps its original code
    with pytest.raises(StagedCodeError, match="never deployed"):
        publish(state)
    after = latest(lambda_client)
    assert (after["CodeSha256"], after["Architectures"]) == (before["CodeSha256"], before["Architectures"])


def test_the_recovery_event_restores_architecture_and_code_from_the_run_table(
    start_run: Callable[..., dict[str, Any]],
    publish: Callable[..., dict[str, Any]],
    staging: Any,
    lambda_client: Any,
    stop: Callable[[str], None],
) -> None:
    before = latest(lambda_client)
    state = start_run(**BOTH)
    publish(state, times=3)
    assert latest(lambda_client)["Architectures"] == ["arm64"]
    stop(state["run"]["executionArn"])
    # WHEN the execution ends badly and EventBridge sends it to the Cleaner
    event = {
        "source": "aws.states",
        "detail": {"executionArn": state["run"]["executionArn"], "status": "ABORTED"},
    }
    (recovered,) = cleaner.handler(event, None)["recovered"]
    # THEN everything is back, verified, and nothing is left
    assert recovered["restoredLatest"] is True
    after = latest(lambda_client)
    for key in ("Architectures", "CodeSha256", "MemorySize", "Description"):
        assert after[key] == before[key], key
    assert staged(staging) == []
    assert lambda_client.list_aliases(FunctionName="target")["Aliases"] == []
    assert (
        json.dumps(run_table.get_run(lambda_api.client("dynamodb"), RUNS_TABLE, state["run"]["functionArn"]))
        == "null"
    )


def test_a_download_that_does_not_match_the_functions_codesha256_stages_nothing(
    start_run: Callable[..., dict[str, Any]], staging: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the package downloaded is not the one $LATEST runs (deployed between the two reads)
    monkeypatch.setattr(function_code, "open_url", lambda _url, _timeout: io.BytesIO(b"another package"))
    with pytest.raises(ArchitectureError, match="does not match its CodeSha256"):
        start_run(**BOTH)
    assert staged(staging) == []
    assert (
        run_table.get_run(
            lambda_api.client("dynamodb"), RUNS_TABLE, "arn:aws:lambda:us-east-1:123456789012:function:target"
        )
        is None
    )


def test_a_layer_that_declares_no_architectures_is_not_refused(
    start_run: Callable[..., dict[str, Any]], staging: Any, lambda_client: Any, code_zip: Any
) -> None:
    # GIVEN a layer that declares its compatible architectures, and one that declares none (Lambda
    # attaches either to any function: only a declared list can be checked before anything changes)
    declared = lambda_client.publish_layer_version(
        LayerName="both", Content={"ZipFile": code_zip()}, CompatibleArchitectures=["x86_64", "arm64"]
    )["LayerVersionArn"]
    undeclared = lambda_client.publish_layer_version(LayerName="any", Content={"ZipFile": code_zip()})[
        "LayerVersionArn"
    ]
    lambda_client.update_function_configuration(FunctionName="target", Layers=[declared, undeclared])
    # WHEN a run on both architectures starts THEN it is accepted
    state = start_run(**BOTH)
    assert state["run"]["architectures"] == ["x86_64", "arm64"]
