"""What an execution may make a function run: the deployment's limits on targets, code and images.

Whoever may start an execution chooses its input, so these checks bound what that permission is
worth. They run in the Initializer before anything changes (and `powertune run` repeats the first
one before it starts anything):

- no target, pre- or post-processor may be a power tuner's own function: the tuner's own ARNs
  (check_not_tuner), and every function tagged TUNER_TAG, which each tuner stack puts on
  its functions, so a second tuner stack in the account is refused too;
- input that changes a function's code (`architectures` naming another architecture than the
  function's own, `imageUris`) needs the deploy option `architectures` (CodeChanges.enabled);
- an `imageUris` image must name a digest, in the same registry account, region and repository as
  the image the function runs now, or in a repository the deploy lists (`imageRepositories`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from botocore.exceptions import ClientError

from powertuning import lambda_api
from powertuning.arns import IMAGE_URI, REPOSITORY_URI, FunctionRef
from powertuning.aws import error_code, function_code
from powertuning.deployment import TUNER_TAG, CodeChanges
from powertuning.errors import CodeChangeDisabledError, ImageNotAllowedError, SelfTargetError
from powertuning.inputs import TuningRequest

DEPLOY_OPTION: Final = "cdk deploy -c architectures=true"
REPOSITORY_EXAMPLE: Final = "<account>.dkr.ecr.<region>.amazonaws.com/<repository>"
DIGEST_EXAMPLE: Final = f"{REPOSITORY_EXAMPLE}@sha256:<64 hex digits>"


def repository_of(uri: str) -> str | None:
    """`<account>.dkr.ecr.<region>.amazonaws.com/<repository>` of an image URI or repository; None
    when it is neither."""
    match = IMAGE_URI.match(uri) or REPOSITORY_URI.match(uri)
    if match is None:
        return None
    host = uri.split("/", 1)[0]
    return f"{host}/{match['repository']}"


def code_change_refusal(
    architectures: Sequence[str] | None, image_uris: Mapping[str, str] | None, own: str | None
) -> str | None:
    """Why input that would change the function's code is refused without the deploy option; None if
    it changes none. `own` is the function's architecture (None: unknown, any listed counts)."""
    others = [a for a in architectures or () if a != own]
    if not image_uris and not others:
        return None
    if image_uris:
        what = "imageUris runs another image on the function"
    else:
        listed = json.dumps(list(architectures or ()))
        what = f"architectures {listed} measures the function on {', '.join(others)}"
    return (
        f"{what}, which changes its code, and this deployment of the tuner does not allow changing any "
        f"function's code. Leave out architectures and imageUris (or list only the function's own "
        f"architecture{'' if own is None else f', {own}'}), or redeploy the tuner with `{DEPLOY_OPTION}` "
        "(see docs/safety.md: it lets whoever may start an execution change the code of the functions it "
        "may tune)"
    )


def check_code_changes(request: TuningRequest, own: str, changes: CodeChanges) -> None:
    """Refuse input that would change the function's code when the deployment does not allow it."""
    if changes.enabled:
        return
    problem = code_change_refusal(request.architectures, request.image_uris, own)
    if problem:
        raise CodeChangeDisabledError(problem)


def check_images(image_uris: Mapping[str, str], current_image: str, repositories: Sequence[str] = ()) -> None:
    """Each image by digest, from the function's own repository or one of `repositories`."""
    own = repository_of(current_image)
    allowed = list(dict.fromkeys([*([own] if own else []), *repositories]))
    listing = " or ".join(allowed) or "(none)"
    more = (
        "the function's own and those the deploy option imageRepositories lists"
        if repositories
        else "the function's own; the deployer may allow more with "
        f"`cdk deploy -c imageRepositories={REPOSITORY_EXAMPLE},...`"
    )
    for architecture, uri in image_uris.items():
        match = IMAGE_URI.match(uri)
        if match is None or match["digest"] is None:
            raise ImageNotAllowedError(
                f"imageUris.{architecture} must name its image by digest ({DIGEST_EXAMPLE}), not by tag: "
                f"a tag can be moved to other code after the check; got {json.dumps(uri)}"
            )
        if repository_of(uri) not in allowed:
            raise ImageNotAllowedError(
                f"imageUris.{architecture}, {uri}, is not in a repository this deployment allows: images "
                f"may come only from {listing} ({more}), same registry account, region and repository"
            )


def check_not_tagged(arns: Mapping[str, str], tags_of: Callable[[str], Mapping[str, str] | None]) -> None:
    """Refuse any input ARN (key -> ARN) naming a function tagged as a power tuner's own."""
    for key, arn in arns.items():
        tags = tags_of(FunctionRef.parse(arn).unqualified) or {}
        if TUNER_TAG in tags:
            raise SelfTargetError(
                f"{key} names {arn}, a function of the power tuner {tags[TUNER_TAG]!r} (tagged {TUNER_TAG}), "
                "which no tuner ever acts on"
            )


def check_request(
    request: TuningRequest,
    lambda_client_for: Callable[[str], Any],
    *,
    tuner_functions: Sequence[str],
    changes: CodeChanges,
) -> None:
    """Every guard above, before anything changes (reads only: tags, configuration, the image)."""
    check_not_tuner(request, tuner_functions)
    named = {
        key: arn
        for key, arn in (
            ("lambdaARN", request.lambda_arn),
            ("preProcessorARN", request.pre_processor_arn),
            ("postProcessorARN", request.post_processor_arn),
        )
        if arn
    }
    check_not_tagged(named, lambda arn: _tags(lambda_client_for(FunctionRef.parse(arn).region), arn))
    if request.architectures is None and request.image_uris is None:
        return
    client = lambda_client_for(request.function.region)
    if not changes.enabled:
        latest = lambda_api.get_configuration(client, request.function.unqualified)
        check_code_changes(request, str((latest.get("Architectures") or ["x86_64"])[0]), changes)
        return
    if request.image_uris:
        found = function_code.get_function(client, request.function.unqualified)
        if found["Configuration"].get("PackageType") != "Image":
            return  # architectures.check refuses imageUris for a zip package, saying so
        code = found.get("Code") or {}
        current = str(code.get("ResolvedImageUri") or code.get("ImageUri") or "")
        check_images(request.image_uris, current, changes.image_repositories)


def _tags(client: Any, function_arn: str) -> dict[str, str] | None:
    try:
        return lambda_api.list_tags(client, function_arn)
    except ClientError as exc:
        # A function that does not exist or is outside lambdaResource: the next checks refuse it
        # (the target) or the tuner cannot call it (a processor) anyway.
        if error_code(exc) in ("ResourceNotFoundException", "AccessDeniedException"):
            return None
        raise


def _same_function(a: FunctionRef, b: FunctionRef) -> bool:
    return (a.partition, a.region, a.account, a.name) == (b.partition, b.region, b.account, b.name)


def check_not_tuner(request: TuningRequest, tuner_functions: Sequence[str]) -> None:
    """Refuse every input ARN that names one of the tuner's own functions."""
    own = [FunctionRef.parse(arn) for arn in tuner_functions]
    for key, arn in (
        ("lambdaARN", request.lambda_arn),
        ("preProcessorARN", request.pre_processor_arn),
        ("postProcessorARN", request.post_processor_arn),
    ):
        if arn and any(_same_function(FunctionRef.parse(arn), mine) for mine in own):
            raise SelfTargetError(
                f"{key} names {arn}, one of this tuner's own functions, which it never acts on"
            )
