"""The staging bucket: a copy of a function's code while a run measures it on another architecture."""

from __future__ import annotations

from typing import Final

from constructs import Construct

from .building_blocks import private_bucket

# A run's copy is deleted by its own cleanup; this only catches what a lost run left. Long enough
# for `powertune clean` after a crash nobody noticed for a while (the copy is what it restores).
STAGED_CODE_DAYS: Final = 30


class CodeStaging(Construct):
    """An encrypted, private, TLS-only bucket whose objects expire (input `architectures`)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # A copy may be the only way back to an interrupted run's original code: kept with the stack.
        self.bucket = private_bucket(
            self,
            "Bucket",
            expire_after_days=STAGED_CODE_DAYS,
            why_no_access_logs="Holds only transient copies of code the tuner already reads from Lambda "
            "(deleted by each run's cleanup, expired after 30 days); the functions' S3 calls are in "
            "CloudTrail.",
        )
