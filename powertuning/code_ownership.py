"""Whose code $LATEST runs, checked before the tuner deploys any code (input `architectures`).

A run that measures another architecture changes $LATEST's code twice per architecture: the switch
to it and the restore. UpdateFunctionCode leaves the description, so the run's marker proves nothing
about the code: a user's own deploy made during the run would carry on under the marker and be
overwritten. So before every switch and every restore, $LATEST's CodeSha256 must be the original's
or one the run itself deploys (`OriginalCode.switched`); anything else is somebody's deploy, which the
tuner keeps (ForeignCodeError) and never overwrites. And the staged copy a zip is restored from is
hashed before it is deployed, never after: a replaced object is refused (StagedCodeError) and never
runs on $LATEST.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from powertuning import lambda_api
from powertuning.errors import ForeignCodeError, StagedCodeError
from powertuning.models import S3_URI, OriginalCode, RunState

# Lambda's largest deployment package (unzipped, so the zip is smaller).
MAX_PACKAGE_BYTES: Final = 250 * 1024 * 1024
_DIGEST: Final = "@sha256:"
_RESTORING: Final = "restoring "


def with_switched(original: OriginalCode, image_uris: Mapping[str, str] | None) -> OriginalCode:
    """The original code plus the CodeSha256s the run's own switches will deploy.

    A zip is moved as the same package (the same CodeSha256 on every architecture); an image's
    CodeSha256 is its digest, known in advance only when imageUris names it by digest.
    """
    if original.image_uri is None:
        return OriginalCode(code_sha256=original.code_sha256, staged=original.staged, switched=())
    uris = list((image_uris or {}).values())
    if not all(_DIGEST in uri for uri in uris):
        return original
    digests = tuple(uri.rpartition(_DIGEST)[2] for uri in uris)
    return OriginalCode(code_sha256=original.code_sha256, image_uri=original.image_uri, switched=digests)


def restoring_marker(config: RunState, latest: Mapping[str, Any]) -> str:
    """$LATEST's description after a restore that deployed other code than the original: the run's
    marker, naming that code as the run's own."""
    return f"{config.marker_prefix}{_RESTORING}{latest.get('CodeSha256')}"


def is_own(config: RunState, latest: Mapping[str, Any]) -> bool:
    """True when $LATEST runs the original code or code this run deploys (or that cannot be told)."""
    code = config.original_code
    if code is None or code.switched is None:
        return True
    sha = str(latest.get("CodeSha256"))
    return sha in {code.code_sha256, *code.switched} or latest.get("Description") == restoring_marker(
        config, latest
    )


def check_not_foreign(config: RunState, latest: Mapping[str, Any]) -> None:
    """Refuse to change code somebody else deployed during the run: it is kept, as it is."""
    if is_own(config, latest):
        return
    assert config.original_code is not None
    running = list(latest.get("Architectures") or ["x86_64"])
    where = (
        f"on {running[0]}"
        if running == [config.architecture]
        else (
            f"on {running[0]}, the architecture the run had switched to (the function's own is "
            f"{config.architecture}: if you meant that, deploy it again with --architectures "
            f"{config.architecture})"
        )
    )
    raise ForeignCodeError(
        f"$LATEST of {config.function_arn} runs code {latest.get('CodeSha256')}, which is neither its "
        f"original ({config.original_code.code_sha256}) nor code run {config.run_id} deploys: somebody "
        f"deployed it during the run. The tuner kept that deploy, {where}, and stopped; only the memory "
        "and description were restored, and the measurements of this run are not trusted"
    )


def verify_staged(config: RunState, storage: Any, *, restoring: bool = False) -> None:
    """Hash the staged copy before it is deployed: it must be exactly the original's CodeSha256.

    `restoring`: the copy was to put the original back, so the error says how to end the run.
    """
    code = config.original_code
    if code is None or code.staged is None:
        return
    match = S3_URI.match(code.staged)
    assert match is not None
    if storage is None:
        raise StagedCodeError(
            f"the staged copy {code.staged} cannot be read to verify it; it was not deployed"
        )
    sink = _Sha256()
    lambda_api.read_object(storage, match["bucket"], match["key"], sink, MAX_PACKAGE_BYTES)
    if sink.code_sha256 != code.code_sha256:
        raise StagedCodeError(
            f"the staged copy {code.staged} of {config.function_arn}'s code has CodeSha256 "
            f"{sink.code_sha256}, not the original {code.code_sha256}: it was replaced (tampered with) "
            "since the run copied it, so it is never deployed (by this run or any later cleanup)"
            + (
                f". To end the run, deploy your own code to {config.function_arn} on "
                f"{config.architecture} yourself, then run powertune clean"
                if restoring
                else ""
            )
        )


class _Sha256:
    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self._hash.update(chunk)
        return len(chunk)

    @property
    def code_sha256(self) -> str:
        # Lambda's CodeSha256: base64 of the SHA-256 digest.
        return base64.b64encode(self._hash.digest()).decode()
