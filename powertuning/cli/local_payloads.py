"""Events of any size in local mode, with Lambda's 6 MB limit.

An execution input holds at most 256 KB (Step Functions), so an event past what the state budget
leaves is staged in the tuner's own S3 and the execution gets `payloadS3` instead, as one would do
on AWS; the Initializer and the Executor then read it with their own limits. A `payloadS3` the user
gives is read from the function's local services (its fixtures) and copied there the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from powertuning import limits
from powertuning.errors import InvalidInputError

# Inline payloads above this go through S3 (the state budget refuses inline events past ~218 KB).
INLINE_MAX_BYTES: Final = 32 * 1024
# In the tuner's own S3 (the engine's mock), which the function never sees.
STAGING_BUCKET: Final = "powertuning-local-payloads"
_PREFIX: Final = "payloads"


@dataclass(frozen=True)
class Staged:
    """An object to put in the tuner's S3 before the execution starts."""

    bucket: str
    key: str
    body: bytes

    @classmethod
    def of_uri(cls, uri: str, body: bytes) -> Staged:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return cls(bucket, key, body)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def stage_large_payload(execution_input: dict[str, Any]) -> Staged | None:
    """Move a large inline payload to S3 (changing `execution_input`); refuse one Lambda would."""
    if "payload" not in execution_input:
        return None
    body = json.dumps(execution_input["payload"]).encode()
    if len(body) > limits.MAX_INVOKE_PAYLOAD_BYTES:
        raise InvalidInputError(
            f"the payload has {len(body):,} bytes; a Lambda invocation takes at most "
            f"{limits.MAX_INVOKE_PAYLOAD_BYTES:,} (6 MB)"
        )
    if len(body) <= INLINE_MAX_BYTES:
        return None
    staged = Staged(STAGING_BUCKET, f"{_PREFIX}/{hashlib.sha256(body).hexdigest()[:16]}.json", body)
    del execution_input["payload"]
    execution_input["payloadS3"] = staged.uri
    return staged
