"""The AWS names the tuner parses: function ARNs (with their partition), S3 URIs, ECR images, alias names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from powertuning.errors import InvalidInputError

# \Z, not $: `$` also matches before a trailing newline, which would let "arn...\n" through.
FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):lambda:(?P<region>(?:[a-z]{2}|us-gov)(-[a-z]+)+-\d):"
    r"(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9-_]{1,64})(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]{1,128}))?\Z"
)


def partition_of(region: str) -> str:
    """The partition a region belongs to (a region of another partition would reach the wrong endpoint)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f]{1,1024})\Z")
# A container image in Amazon ECR, by tag or by digest: the only images Lambda runs. ASCII only,
# no whitespace: the registry host (account, region), a repository name as ECR allows it
# (lowercase components joined by `.`, `_`, `-`, separated by `/`), then a tag or a digest.
ECR_REGISTRY = (
    r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.amazonaws\.com(?:\.cn)?"
)
ECR_REPOSITORY = r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/){0,16}[a-z0-9]+(?:[._-][a-z0-9]+)*)"
IMAGE_URI = re.compile(
    rf"^{ECR_REGISTRY}/{ECR_REPOSITORY}"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[0-9a-f]{64}))\Z"
)
# A repository (registry host and name), as the deploy option imageRepositories names one.
REPOSITORY_URI = re.compile(rf"^{ECR_REGISTRY}/{ECR_REPOSITORY}\Z")
# ECR's longest repository name.
MAX_REPOSITORY_LENGTH = 256
ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}\Z")


@dataclass(frozen=True)
class FunctionRef:
    """The parts of a Lambda function ARN."""

    arn: str
    partition: str
    region: str
    account: str
    name: str
    qualifier: str | None

    @classmethod
    def parse(cls, arn: str) -> FunctionRef:
        """Split a function ARN (unqualified, or qualified by alias or version)."""
        match = FUNCTION_ARN.match(arn)
        if not match:
            raise InvalidInputError(f"not a Lambda function ARN: {arn!r}")
        return cls(
            arn=arn,
            partition=match["partition"],
            region=match["region"],
            account=match["account"],
            name=match["name"],
            qualifier=match["qualifier"],
        )

    @property
    def unqualified(self) -> str:
        """The ARN without alias or version."""
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.name}"

    def qualified(self, qualifier: str) -> str:
        """The ARN of an alias or version of this function."""
        return f"{self.unqualified}:{qualifier}"
