"""The pure guards: which input needs the deploy option, which images an execution may name."""

from __future__ import annotations

from typing import Any

import pytest

from powertuning import deployment, guards
from powertuning.deployment import TUNER_TAG, CodeChanges
from powertuning.errors import (
    CodeChangeDisabledError,
    ImageNotAllowedError,
    InvalidInputError,
    SelfTargetError,
)
from powertuning.models import TuningRequest

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32
CURRENT = f"{HOST}/team/app@sha256:{'01' * 32}"
OWN_DIGEST = f"{HOST}/team/app@{DIGEST}"


def request(**extra: Any) -> TuningRequest:
    return TuningRequest.from_dict({"lambdaARN": ARN, **extra})


# -- the deploy option --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "own"),
    [
        ({"architectures": ["x86_64", "arm64"]}, "x86_64"),
        ({"architectures": ["arm64"]}, "x86_64"),
        ({"architectures": ["x86_64"]}, "arm64"),
        ({"architectures": ["x86_64", "arm64"], "imageUris": {"arm64": OWN_DIGEST}}, "x86_64"),
    ],
)
def test_input_that_changes_code_is_refused_without_the_option_naming_it(extra: Any, own: str) -> None:
    with pytest.raises(CodeChangeDisabledError, match=r"cdk deploy -c architectures=true") as raised:
        guards.check_code_changes(request(**extra), own, CodeChanges(enabled=False))
    # the message names the key that asked for it
    assert ("imageUris" if "imageUris" in extra else "architectures") in str(raised.value)


@pytest.mark.parametrize("extra", [{}, {"architectures": ["x86_64"]}])
def test_input_on_the_functions_own_architecture_needs_no_option(extra: Any) -> None:
    guards.check_code_changes(request(**extra), "x86_64", CodeChanges(enabled=False))
    assert guards.code_change_refusal(request(**extra).architectures, None, "x86_64") is None


def test_with_the_option_the_same_input_passes() -> None:
    guards.check_code_changes(request(architectures=["x86_64", "arm64"]), "x86_64", CodeChanges(enabled=True))


def test_unknown_own_architecture_counts_every_listed_one() -> None:
    # `powertune run` may not know the function's architecture: any listed one may change code
    assert guards.code_change_refusal(["x86_64"], None, None) is not None


def test_code_changes_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = CodeChanges(enabled=True, image_repositories=(f"{HOST}/other",))
    for name, value in wanted.to_env().items():
        monkeypatch.setenv(name, value)
    assert deployment.code_changes() == wanted
    for name in wanted.to_env():
        monkeypatch.delenv(name)
    # absent (a deploy without the option): off
    assert deployment.code_changes() == CodeChanges(enabled=False)


# -- images --------------------------------------------------------------------------------------


def test_an_image_by_digest_from_the_functions_own_repository_is_allowed() -> None:
    guards.check_images({"arm64": OWN_DIGEST}, CURRENT)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"{HOST}/team/app:v1-arm64", "by digest"),
        (f"210987654321.dkr.ecr.us-east-1.amazonaws.com/team/app@{DIGEST}", "not in a repository"),
        (f"{HOST}/team/other@{DIGEST}", "not in a repository"),
        (f"{HOST}/team@{DIGEST}", "not in a repository"),
        (f"{HOST}/team/app/sub@{DIGEST}", "not in a repository"),
        (f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app@{DIGEST}", "not in a repository"),
    ],
    ids=["tag", "other-account", "other-repository", "parent-path", "child-path", "other-region"],
)
def test_any_other_image_is_refused_naming_imageuris_and_what_is_allowed(uri: str, message: str) -> None:
    with pytest.raises(ImageNotAllowedError, match=message) as raised:
        guards.check_images({"arm64": uri}, CURRENT)
    text = str(raised.value)
    assert "imageUris.arm64" in text
    assert (f"{HOST}/team/app" in text) or ("@sha256:<64 hex digits>" in text)


def test_a_listed_repository_is_allowed_and_named_in_refusals() -> None:
    other = "210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/base"
    guards.check_images({"arm64": f"{other}@{DIGEST}"}, CURRENT, (other,))
    with pytest.raises(ImageNotAllowedError, match=f"{HOST}/team/app or {other}"):
        guards.check_images({"arm64": f"{HOST}/elsewhere@{DIGEST}"}, CURRENT, (other,))


@pytest.mark.parametrize(
    "uri",
    [
        f"{HOST}/team/app @{DIGEST}",
        f"{HOST}/team/app@{DIGEST}\n",
        f"{HOST}/team/app\n@{DIGEST}",
        f"{HOST}/team/app@{DIGEST} ",
        f"{HOST}/Team/app@{DIGEST}",
        f"{HOST}/team//app@{DIGEST}",
        f"{HOST}/team/app/@{DIGEST}",
        f"{HOST}/team/app@sha256:{'AB' * 32}",
        f"{HOST}/team/app:v1;rm",
        "١٢٣٤٥٦٧٨٩٠١٢.dkr.ecr.us-east-1.amazonaws.com/team/app:v1",
        f"123456789012.dkr.ecr.us east-1.amazonaws.com/team/app@{DIGEST}",
        f"{HOST}/{'a' * 257}@{DIGEST}",
    ],
    ids=[
        "space",
        "trailing-newline",
        "inner-newline",
        "trailing-space",
        "uppercase",
        "empty-component",
        "trailing-slash",
        "uppercase-digest",
        "odd-character",
        "non-ascii-digits",
        "space-in-region",
        "repository-too-long",
    ],
)
def test_input_validation_refuses_an_image_uri_of_any_other_shape(uri: str) -> None:
    with pytest.raises(InvalidInputError, match=r"imageUris\.arm64 must be an Amazon ECR image URI"):
        request(architectures=["x86_64", "arm64"], imageUris={"arm64": uri})


def test_repository_of_reads_host_and_name() -> None:
    assert guards.repository_of(OWN_DIGEST) == f"{HOST}/team/app"
    assert guards.repository_of(f"{HOST}/team/app:v1") == f"{HOST}/team/app"
    assert guards.repository_of(f"{HOST}/team/app") == f"{HOST}/team/app"
    assert guards.repository_of("docker.io/library/python:3.13") is None


# -- another tuner's functions -------------------------------------------------------------------


def test_a_target_tagged_as_a_tuners_own_is_refused() -> None:
    tags = {ARN: {TUNER_TAG: "OtherTuner"}}
    with pytest.raises(SelfTargetError, match=r"postProcessorARN names .*'OtherTuner'"):
        guards.check_not_tagged({"lambdaARN": ARN[:-1] + "g", "postProcessorARN": ARN}, tags.get)
    guards.check_not_tagged({"lambdaARN": ARN[:-1] + "g"}, tags.get)
