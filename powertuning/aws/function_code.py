"""A function's code for input `architectures`: GetFunction and the download of its package, its
layers' architectures, and UpdateFunctionCode onto another architecture (from the staged copy in S3,
or a container image). Each takes a client; every call goes through `aws.call`.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

from powertuning.aws import call, wait_until_updated


def get_function(client: Any, function_arn: str) -> dict[str, Any]:
    """GetFunction of $LATEST: its configuration and where its code can be downloaded (`Code`)."""
    found: dict[str, Any] = call(client, "get_function", FunctionName=function_arn)
    return found


def layer_architectures(client: Any, layer_version_arn: str) -> tuple[str, ...]:
    """The architectures a layer version declares itself compatible with (() when it declares none)."""
    # GetLayerVersion takes the layer's ARN as its name (a layer may be another account's).
    layer, _, version = layer_version_arn.rpartition(":")
    found = call(client, "get_layer_version", LayerName=layer, VersionNumber=int(version))
    return tuple(str(a) for a in found.get("CompatibleArchitectures") or ())


def _open_url(url: str, timeout_s: float) -> Any:
    # Only https: the URL is Code.Location from GetFunction, a presigned S3 link.
    if not url.startswith("https://"):
        raise ValueError(f"refusing to download code from a non-https location: {url[:60]}")
    return urllib.request.urlopen(url, timeout=timeout_s)


# Replaced by powertuning/local/aws_rules.py, where Code.Location points into moto rather than S3.
open_url: Callable[[str, float], Any] = _open_url


def download_code(url: str, sink: Any, max_bytes: int) -> None:
    """Copy the function's deployment package from GetFunction's Code.Location (valid for 10
    minutes) into `sink`, 1 MB at a time: a package can be larger than the tuner's memory."""
    copied = 0
    with open_url(url, 60.0) as response:
        while chunk := response.read(1 << 20):
            copied += len(chunk)
            if copied > max_bytes:
                raise ValueError(f"the deployment package is larger than {max_bytes} bytes")
            sink.write(chunk)


def update_code(client: Any, function_name: str, bucket: str, key: str, architecture: str) -> None:
    """UpdateFunctionCode from an S3 object on one architecture, then wait until Lambda applied it.

    Lambda reads the object with the caller's permissions (s3:GetObject on the staging bucket).
    """
    wait_until_updated(client, function_name)
    call(
        client,
        "update_function_code",
        FunctionName=function_name,
        S3Bucket=bucket,
        S3Key=key,
        Architectures=[architecture],
    )
    wait_until_updated(client, function_name)


def update_image(client: Any, function_name: str, image_uri: str, architecture: str) -> None:
    """UpdateFunctionCode of a container image function to an image on one architecture, then wait
    until Lambda applied it (Lambda pulls the image from ECR itself, with the function's access)."""
    wait_until_updated(client, function_name)
    call(
        client,
        "update_function_code",
        FunctionName=function_name,
        ImageUri=image_uri,
        Architectures=[architecture],
    )
    wait_until_updated(client, function_name)
