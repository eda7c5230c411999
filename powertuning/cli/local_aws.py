"""`powertune local`'s AWS side: which services the tuned function calls, and what they hold.

By default (`--aws local`) the function calls moto in server mode, in a process of its own, through
an endpoint that gives each call the latency and bandwidth of its memory size
(`powertuning.local.services`); `--fixtures DIR` and `--seed-hook` fill it before the run.
`--aws real` hands the function the tuner's own credentials instead, with a warning.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from powertuning.errors import InvalidInputError
from powertuning.local import fixtures as fixture_files
from powertuning.local.services import LocalServices, RealAws

LOCAL: Final = "local"
REAL: Final = "real"
# Error types of an SDK call that found no endpoint (botocore's names).
CONNECTION_ERRORS: Final = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ProxyConnectionError",
        "SSLError",
        "NoCredentialsError",
    }
)
# Error types (or codes in a ClientError's message) of a call that found no such resource.
MISSING_RESOURCE: Final = (
    "NoSuchBucket", "NoSuchKey", "ResourceNotFoundException", "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue", "ParameterNotFound", "NotFoundException",
)  # fmt: skip


def add_options(parser: argparse.ArgumentParser) -> None:
    """--aws, --fixtures, --seed-hook."""
    group = parser.add_argument_group("AWS services the function calls")
    group.add_argument(
        "--aws",
        choices=(LOCAL, REAL),
        default=LOCAL,
        help="local (default): moto in its own process, with Lambda-like latency and bandwidth per "
        "memory size; real: your AWS account (billed calls, real side effects)",
    )
    group.add_argument(
        "--fixtures",
        type=Path,
        metavar="DIR",
        help="seed the local services: DIR/s3/<bucket>/<key...>, DIR/dynamodb/<table>.jsonl "
        "(+ <table>.schema.json), DIR/sqs/<queue>.jsonl, DIR/ssm/parameters.json (default: none)",
    )
    group.add_argument(
        "--seed-hook",
        metavar="MODULE:FUNCTION",
        help="a Python function called with client(service) -> boto3 client of the local services "
        "(default: none)",
    )


@dataclass
class AwsPlan:
    """What the function's AWS will be, checked before anything starts."""

    mode: str
    fixtures: fixture_files.Fixtures | None = None
    hook: Any = None
    services: LocalServices | RealAws | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AwsPlan:
        """Check --aws, --fixtures and --seed-hook (exit 2 on a problem, nothing started)."""
        if args.aws == REAL:
            given = [f for f, v in (("--fixtures", args.fixtures), ("--seed-hook", args.seed_hook)) if v]
            if given:
                raise InvalidInputError(
                    f"{', '.join(given)} seed the local services; with --aws real the function calls your "
                    "account, which they would not change: leave them out, or use --aws local"
                )
            return cls(REAL)
        loaded = fixture_files.load(args.fixtures) if args.fixtures is not None else None
        hook = fixture_files.load_hook(args.seed_hook) if args.seed_hook else None
        return cls(LOCAL, loaded, hook)

    def start(self, region: str, err: TextIO) -> None:
        """Start the services and seed them (before the engine: its mock would catch the seeding)."""
        if self.mode == REAL:
            self.services = RealAws()
            print(
                "powertune: warning: --aws real: the function calls your AWS account with your credentials, "
                "once per invocation at every size: those calls are billed and their side effects "
                "(objects written, items changed, messages sent) are real",
                file=err,
            )
            return
        services = LocalServices(region)
        services.start()
        self.services = services
        try:
            if self.fixtures is not None:
                fixture_files.seed(self.fixtures, services.client)
                print(f"local AWS services: seeded {self.fixtures.summary()}", file=err)
            if self.hook is not None:
                self.hook(services.client)
                print("local AWS services: seed hook done", file=err)
        except Exception as exc:
            self.close()
            raise InvalidInputError(
                f"seeding the local AWS services failed: {type(exc).__name__}: {exc}"
            ) from exc

    def read_object(self, uri: str, max_bytes: int) -> bytes:
        """An object of the local services (a payloadS3), before the engine starts."""
        if not isinstance(self.services, LocalServices):
            raise InvalidInputError("payloadS3 is read from the local services: not with --aws real")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket or not key:
            raise InvalidInputError(f"payloadS3 must look like s3://bucket/key, got {uri!r}")
        s3 = self.services.client("s3")
        try:
            size = int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
        except Exception as exc:
            raise InvalidInputError(
                f"payloadS3 {uri} is not in the local services ({type(exc).__name__}): put it under "
                f"--fixtures DIR/s3/{bucket}/{key}, or give the payload with --payload-file"
            ) from None
        if size > max_bytes:
            raise InvalidInputError(
                f"payloadS3 {uri} has {size:,} bytes; a Lambda invocation takes at most {max_bytes:,}"
            )
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def environment(self, memory_mb: int) -> dict[str, str]:
        """The function's AWS variables at a memory size."""
        assert self.services is not None
        return self.services.environment(memory_mb)

    def close(self) -> None:
        if self.services is not None:
            self.services.close()


def hint(error_type: str, message: str, mode: str) -> str | None:
    """What to do when the function's AWS call failed, or None for another error."""
    if error_type in CONNECTION_ERRORS or "Could not connect to the endpoint URL" in message:
        if mode == REAL:
            return (
                "Hint: the function could not reach AWS (network, proxy or credentials): with --aws real "
                "it calls your account; or tune against the local services (--aws local, the default, "
                "seeded with --fixtures DIR or --seed-hook)."
            )
        return (
            "Hint: the function could not reach an AWS endpoint. Local mode serves S3, DynamoDB, SQS, SSM "
            "and the other AWS APIs at AWS_ENDPOINT_URL (moto): a client created with its own endpoint_url "
            "or host bypasses it. Seed what the function reads with --fixtures DIR or --seed-hook, or let "
            "it call your account with --aws real."
        )
    # HeadObject has no body to name the error: a bare 404.
    missing = "An error occurred (404)" in message or any(
        name in error_type or f"({name})" in message for name in MISSING_RESOURCE
    )
    if mode == LOCAL and missing:
        return (
            "Hint: the local AWS services do not have what the function asked for: seed them with "
            "--fixtures DIR (s3/<bucket>/<key>, dynamodb/<table>.jsonl, sqs/<queue>.jsonl, "
            "ssm/parameters.json) or --seed-hook module:function, or call your account with --aws real."
        )
    return None


def error_fields(error_payload: str | None) -> tuple[str, str]:
    """(errorType, errorMessage) of Lambda's error payload."""
    try:
        body = json.loads(error_payload or "{}")
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("errorType", "")), str(body.get("errorMessage", ""))
