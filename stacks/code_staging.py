"""The staging bucket: a copy of a function's code while a run measures it on another architecture."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.acknowledgements import acknowledge

# A run's copy is deleted by its own cleanup; this only catches what a lost run left. Long enough
# for `powertune clean` after a crash nobody noticed for a while (the copy is what it restores).
STAGED_CODE_DAYS: Final = 30


class CodeStaging(Construct):
    """An encrypted, private, TLS-only bucket whose objects expire (input `architectures`)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireStagedCode",
                    expiration=Duration.days(STAGED_CODE_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # A copy may be the only way back to an interrupted run's original code.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Holds only transient copies of code the tuner already reads from Lambda (deleted by each "
            "run's cleanup, expired after 30 days); the functions' S3 calls are in CloudTrail.",
        )
