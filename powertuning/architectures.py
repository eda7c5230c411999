"""Input `architectures`: measure the function on an architecture other than its own, then put it back.

Lambda publishes versions from $LATEST, so to measure arm64 on an x86_64 function the run sets
$LATEST's code to the same package on arm64 (UpdateFunctionCode with Architectures), publishes that
architecture's sizes, and afterwards restores the original architecture and code, verified by
CodeSha256. The original package is copied to the stack's staging bucket before anything changes,
and the copy's location is recorded in the run table: GetFunction's download link expires after 10
minutes, and a recovery after a crash must still find the original to put back. The copy is always
staged (not only past the 50 MB an inline UpdateFunctionCode takes), so there is one way to restore.

A container image is not copied: the run records the image's URI by digest (ResolvedImageUri), which
names exactly the image the function runs, and puts $LATEST on the other architecture with the
image input `imageUris` gives for it. Lambda runs only images built for one architecture (it refuses
a multi-architecture index), so the function's own image can never serve the other architecture:
an image function without an image for it is refused up front. For images, CodeSha256 is the
image's digest, so the restore is verified the same way.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Mapping
from typing import Any, Final

from botocore.exceptions import ClientError

from powertuning import code_ownership, lambda_api
from powertuning.arns import S3_URI
from powertuning.aws import error_code, function_code
from powertuning.code_ownership import MAX_PACKAGE_BYTES
from powertuning.errors import ArchitectureError, CodeRestoreError
from powertuning.inputs import TuningRequest
from powertuning.run_state import OriginalCode, RunState

IMAGE_EXAMPLE: Final = "<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>"


def ordered(request: TuningRequest, own: str) -> tuple[str, ...]:
    """The architectures to measure, the function's own first (it needs no code change); () for
    the default (its own only)."""
    if request.architectures is None or tuple(request.architectures) == (own,):
        return ()
    wanted = tuple(request.architectures)
    return ((own,) if own in wanted else ()) + tuple(a for a in wanted if a != own)


def check(
    request: TuningRequest,
    latest: dict[str, Any],
    client: Any,
    *,
    staging_bucket: str | None,
    stack_region: str | None,
) -> tuple[str, ...]:
    """Refuse, before anything changes, what cannot be measured on the other architecture."""
    own = str((latest.get("Architectures") or ["x86_64"])[0])
    architectures = ordered(request, own)
    others = [a for a in architectures if a != own]
    if not others:
        return architectures
    name = request.function.name
    images = dict(request.image_uris or {})
    if latest.get("PackageType") == "Image":
        if own in images:
            raise ArchitectureError(
                f"{name} runs its own image on {own}, which is what is measured there: leave {own} out "
                "of imageUris (give an image only for the other architecture)"
            )
        missing = [a for a in others if a not in images]
        if missing:
            # Its own image is built for its own architecture: on another, Lambda would accept it
            # and every invocation would fail to start (exec format error).
            raise ArchitectureError(
                f"{name} is a container image, and Lambda runs an image only on the architecture it "
                f"was built for (not multi-architecture images): build and push the image for "
                f"{', '.join(missing)} and give it in imageUris, e.g. "
                f'{{"imageUris": {{"{missing[0]}": "{IMAGE_EXAMPLE}"}}}}'
            )
        elsewhere = {a: u for a, u in images.items() if _image_region(u) != request.function.region}
        if elsewhere:
            arch, uri = next(iter(elsewhere.items()))
            raise ArchitectureError(
                f"the image imageUris gives for {arch}, {uri}, is not in {request.function.region}: Lambda "
                "runs only images from a repository in the function's region; push it there"
            )
        # No staging: the image stays in ECR, and its digest is what the restore puts back.
        return architectures
    if images:
        raise ArchitectureError(
            f"{name} is a zip package, not a container image: leave imageUris out (the tuner moves the "
            "same package to the other architecture itself)"
        )
    for layer in latest.get("Layers") or []:
        declared = _layer_architectures(client, str(layer["Arn"]), request.function.account)
        missing = [a for a in others if declared and a not in declared]
        if missing:
            raise ArchitectureError(
                f"{name} uses layer {layer['Arn']}, which is compatible with {', '.join(declared)} only, "
                f"not {', '.join(missing)}: publish a layer version for {', '.join(missing)} (with "
                "CompatibleArchitectures) and attach it, or leave that architecture out of architectures"
            )
    if not staging_bucket:
        raise ArchitectureError(
            "architectures needs the stack's staging bucket, which this deployment does not have: "
            "redeploy the stack (it creates the bucket), or leave architectures out"
        )
    if stack_region and stack_region != request.function.region:
        raise ArchitectureError(
            f"{name} is in {request.function.region}, but the staging bucket is in {stack_region}; Lambda "
            "reads code only from a bucket in the function's region: deploy the tuner there"
        )
    return architectures


def _layer_architectures(client: Any, layer_arn: str, account: str) -> tuple[str, ...]:
    """What a layer of the function's own account declares; () (unchecked) for another account's
    layer, which the tuner may not read (GetLayerVersion is granted on this account's layers only):
    a layer that cannot run there fails the measurements on that architecture, and the run restores
    the function as after any failure."""
    if layer_arn.split(":")[4] != account:
        return ()
    try:
        return function_code.layer_architectures(client, layer_arn)
    except ClientError as exc:
        if error_code(exc) != "AccessDeniedException":
            raise
        return ()


def _image_region(uri: str) -> str:
    # <account>.dkr.ecr.<region>.amazonaws.com/...: IMAGE_URI checked the shape.
    return uri.split(".")[3]


def staged_location(bucket: str, config: RunState) -> str:
    """Where a run keeps the copy of its function's code: one object per run."""
    return f"s3://{bucket}/{config.run_id}/{config.function_arn.split(':')[6]}.zip"


class HashingFile:
    """A file that hashes what is written to it (the package is copied through /tmp, not memory)."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self._sha256 = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        """Write a chunk, hashing it."""
        self._sha256.update(chunk)
        return int(self.file.write(chunk))

    @property
    def code_sha256(self) -> str:
        """Lambda's CodeSha256 of what was written: base64 of its SHA-256."""
        return base64.b64encode(self._sha256.digest()).decode()


def stage(config: RunState, client: Any, storage: Any, bucket: str | None) -> OriginalCode:
    """Record the original code: a zip is copied to the staging bucket, checked against its
    CodeSha256; an image is recorded by its URI (by digest when Lambda resolved one)."""
    found = function_code.get_function(client, config.function_arn)
    expected = str(found["Configuration"]["CodeSha256"])
    if found["Configuration"].get("PackageType") == "Image":
        code = found.get("Code") or {}
        image = str(code.get("ResolvedImageUri") or code["ImageUri"])
        return OriginalCode(code_sha256=expected, image_uri=image)
    assert bucket is not None, "check() refuses a zip function without a staging bucket"
    with tempfile.TemporaryFile() as package:
        sink = HashingFile(package)
        function_code.download_code(str(found["Code"]["Location"]), sink, MAX_PACKAGE_BYTES)
        if sink.code_sha256 != expected:
            # $LATEST changed between the check and the download: nothing to rely on.
            raise ArchitectureError(
                f"the code downloaded from {config.function_arn} does not match its CodeSha256 {expected} "
                "(was it deployed meanwhile?); nothing was changed, start the run again"
            )
        location = staged_location(bucket, config)
        match = S3_URI.match(location)
        assert match is not None
        package.seek(0)
        lambda_api.put_object(storage, match["bucket"], match["key"], package)
    return OriginalCode(code_sha256=expected, staged=location)


def switch(
    config: RunState,
    client: Any,
    architecture: str,
    image_uris: Mapping[str, str] | None = None,
    storage: Any = None,
) -> None:
    """Put the same code on `architecture` in $LATEST, unless it is there already (an image: the
    one `image_uris` names for it, which check() made sure of).

    First, whatever the architecture: $LATEST must run the original code or the run's own (else
    ForeignCodeError, a deploy made during the run), and a staged copy must hash to the original's.
    """
    code = _code(config)
    latest = lambda_api.get_configuration(client, config.function_arn)
    code_ownership.check_not_foreign(config, latest)
    if list(latest.get("Architectures") or ["x86_64"]) == [architecture]:
        return
    if code.image_uri is None:
        code_ownership.verify_staged(config, storage)
        match = S3_URI.match(str(code.staged))
        assert match is not None
        function_code.update_code(client, config.function_arn, match["bucket"], match["key"], architecture)
        return
    image = (image_uris or {})[architecture]
    try:
        function_code.update_image(client, config.function_arn, image, architecture)
    except ClientError as exc:
        if error_code(exc) != "InvalidParameterValueException":
            raise
        # Lambda reads the image before it takes the update: nothing has changed.
        raise ArchitectureError(
            f"Lambda refused the image imageUris gives for {architecture}, {image}: "
            f"{exc.response.get('Error', {}).get('Message', exc)} Give the URI of an image built for "
            f"{architecture} only, in the function's region (Lambda does not run multi-architecture "
            f"images: for an image index, give the digest of its {architecture} manifest)"
        ) from exc


def restore(config: RunState, client: Any, storage: Any = None) -> bool:
    """Put back the original architecture and code if they are not there; verify by CodeSha256.

    Returns whether the code was changed. Called only while the run owns $LATEST (its marker is on
    it, or the run is still registered). Code that is neither the original nor the run's own is a
    deploy made during the run and is kept (ForeignCodeError); a staged copy is hashed before it is
    deployed (StagedCodeError).
    """
    if config.original_code is None:
        return False
    latest = lambda_api.get_configuration(client, config.function_arn)
    changed = False
    if (
        list(latest.get("Architectures") or ["x86_64"]) != [config.architecture]
        or latest.get("CodeSha256") != config.original_code.code_sha256
    ):
        code_ownership.check_not_foreign(config, latest)
        code_ownership.verify_staged(config, storage, restoring=True)
        _put_back(config, client, config.original_code)
        latest = lambda_api.get_configuration(client, config.function_arn)
        changed = True
        if latest.get("CodeSha256") != config.original_code.code_sha256:
            # The run deployed it: say so on $LATEST, so a later cleanup takes it for the run's own
            # (to put the original back over it) rather than for somebody's deploy.
            lambda_api.update_configuration(
                client, config.function_arn, Description=code_ownership.restoring_marker(config, latest)
            )
            raise CodeRestoreError(
                f"{config.function_arn} was set back to {config.architecture} from "
                f"{config.original_code.location}, but its CodeSha256 is {latest.get('CodeSha256')}, not the "
                f"original {config.original_code.code_sha256}: the run stays registered, and its recovery "
                "or powertune clean puts the original back"
            )
    if list(latest.get("Architectures") or ["x86_64"]) != [config.architecture]:
        raise CodeRestoreError(
            f"{config.function_arn} still runs on {latest.get('Architectures')}, not {config.architecture}"
        )
    return changed


def _put_back(config: RunState, client: Any, code: OriginalCode) -> None:
    if code.image_uri is not None:
        function_code.update_image(client, config.function_arn, code.image_uri, config.architecture)
        return
    match = S3_URI.match(str(code.staged))
    assert match is not None
    function_code.update_code(client, config.function_arn, match["bucket"], match["key"], config.architecture)


def discard(config: RunState, storage: Any) -> None:
    """Delete the staged copy (once the original is back and verified); an image has none."""
    if config.original_code is None or config.original_code.staged is None or storage is None:
        return
    match = S3_URI.match(config.original_code.staged)
    assert match is not None
    lambda_api.delete_object(storage, match["bucket"], match["key"])


def _code(config: RunState) -> OriginalCode:
    if config.original_code is None:
        raise ArchitectureError(f"run {config.run_id} recorded no original code to switch architectures with")
    return config.original_code
