"""The Initializer's guards on moto: the deploy option `architectures`, the images `imageUris` may
name, and any tuner stack's functions (by tag) — each refused before anything changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from powertuning import deployment, lambda_api
from powertuning.aws import run_table
from powertuning.errors import CodeChangeDisabledError, ImageNotAllowedError, SelfTargetError
from powertuning.local.tuner_stack import RUNS_TABLE

BOTH = {"powerValues": [128], "num": 5, "architectures": ["x86_64", "arm64"]}
HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
IMAGE = f"{HOST}/app:v1"
DIGEST = "sha256:" + "c3" * 32
SHARED = "210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/base"
BUCKET = "powertuning-staging"


def deploy(monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
    """The Initializer's environment as a stack deployed with these options sets it."""
    for name, value in deployment.CodeChanges(**settings).to_env().items():
        monkeypatch.setenv(name, value)


def snapshot(lambda_client: Any, name: str) -> dict[str, Any]:
    found = lambda_client.get_function(FunctionName=name)
    config = found["Configuration"]
    return {
        "code": {k: v for k, v in found["Code"].items() if k != "Location"},
        "settings": {k: config.get(k) for k in ("CodeSha256", "Architectures", "MemorySize", "Description")},
        "aliases": lambda_client.list_aliases(FunctionName=name)["Aliases"],
        "versions": len(lambda_client.list_versions_by_function(FunctionName=name)["Versions"]),
        "registered": run_table.get_run(
            lambda_api.client("dynamodb"), RUNS_TABLE, str(config["FunctionArn"])
        ),
    }


@pytest.fixture
def image_function(make_function: Callable[..., Any]) -> str:
    ref = make_function("image", PackageType="Image", Code={"ImageUri": IMAGE}, MemorySize=1024)
    return str(ref.arn)


@pytest.mark.parametrize(
    "execution_input",
    [BOTH, {**BOTH, "architectures": ["arm64"]}],
    ids=["both", "the-other-only"],
)
def test_without_the_deploy_option_another_architecture_is_refused_naming_it(
    start_run: Callable[..., dict[str, Any]],
    lambda_client: Any,
    target_function: Any,
    monkeypatch: pytest.MonkeyPatch,
    execution_input: dict[str, Any],
) -> None:
    # GIVEN a tuner deployed without `-c architectures=true`
    deploy(monkeypatch, enabled=False)
    before = snapshot(lambda_client, "target")
    # WHEN an input asks for arm64 on an x86_64 function THEN it is refused naming the option
    with pytest.raises(CodeChangeDisabledError, match=r"cdk deploy -c architectures=true"):
        start_run(**execution_input)
    # AND nothing changed, nothing was registered
    assert snapshot(lambda_client, "target") == before
    assert before["registered"] is None


def test_without_the_deploy_option_imageuris_is_refused(
    start_run: Callable[..., dict[str, Any]],
    lambda_client: Any,
    image_function: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    deploy(monkeypatch, enabled=False)
    before = snapshot(lambda_client, "image")
    with pytest.raises(CodeChangeDisabledError, match=r"imageUris runs another image"):
        start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": f"{HOST}/app@{DIGEST}"})
    assert snapshot(lambda_client, "image") == before


def test_without_the_deploy_option_the_functions_own_architecture_is_tuned(
    start_run: Callable[..., dict[str, Any]], target_function: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(monkeypatch, enabled=False)
    state = start_run(powerValues=[128], architectures=["x86_64"])
    assert "architectures" not in state["run"]


@pytest.mark.parametrize(
    "uri",
    [f"{SHARED}@{DIGEST}", f"{HOST}/other@{DIGEST}", f"{HOST}/app:v2"],
    ids=["other-account", "other-repository", "tag"],
)
def test_with_the_option_only_the_functions_own_repository_by_digest(
    start_run: Callable[..., dict[str, Any]],
    lambda_client: Any,
    image_function: str,
    monkeypatch: pytest.MonkeyPatch,
    uri: str,
) -> None:
    deploy(monkeypatch, enabled=True)
    before = snapshot(lambda_client, "image")
    with pytest.raises(ImageNotAllowedError, match=r"imageUris\.arm64") as raised:
        start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": uri})
    assert f"{HOST}/app" in str(raised.value)
    assert snapshot(lambda_client, "image") == before


def test_a_repository_the_deploy_lists_is_allowed_by_digest(
    start_run: Callable[..., dict[str, Any]],
    lambda_client: Any,
    image_function: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN `-c architectures=true -c imageRepositories=<a shared repository>`
    deploy(monkeypatch, enabled=True, image_repositories=(SHARED,))
    # WHEN imageUris names an image of it by digest THEN the run is registered with it
    state = start_run(lambdaARN=image_function, **BOTH, imageUris={"arm64": f"{SHARED}@{DIGEST}"})
    assert state["request"]["imageUris"] == {"arm64": f"{SHARED}@{DIGEST}"}
    assert state["run"]["architectures"] == ["x86_64", "arm64"]


@pytest.mark.parametrize("key", ["lambdaARN", "preProcessorARN", "postProcessorARN"])
def test_a_function_of_another_tuner_stack_is_refused_as_any_target(
    start_run: Callable[..., dict[str, Any]],
    lambda_client: Any,
    make_function: Callable[..., Any],
    target_function: Any,
    key: str,
) -> None:
    # GIVEN a function another tuner stack in the account deployed (tagged as every tuner tags its own)
    other = make_function("other-tuner-initializer", Tags={deployment.TUNER_TAG: "SecondTuner"})
    before = snapshot(lambda_client, "target")
    # WHEN an input names it THEN it is refused, before anything changes
    with pytest.raises(SelfTargetError, match=rf"{key} names .*'SecondTuner'"):
        start_run(**{key: str(other.arn)})
    assert snapshot(lambda_client, "target") == before
