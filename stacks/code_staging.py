"""The staging bucket: a copy of a function's code while a run measures it on another architecture."""

from __future__ import annotations

from constructs import Construct

from stacks.building_blocks import private_bucket


class CodeStaging(Construct):
    """An encrypted, private, TLS-only bucket of staged code copies (input `architectures`).

    A copy never expires: it may be the only way back to an interrupted run's original code, for as
    long as the run is registered (`powertune clean` restores from it, however late). Each run's
    cleanup deletes its copy once the function is verified to run the original again (or keeps a
    user's deploy made meanwhile); only incomplete uploads are aborted, after a day.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Kept with the stack, too: a copy may be what a registered run still needs.
        self.bucket = private_bucket(
            self,
            "Bucket",
            expire_after_days=None,
            why_no_access_logs="Holds only copies of code the tuner already reads from Lambda (each "
            "deleted by its run's cleanup); the functions' S3 calls are in CloudTrail.",
        )
