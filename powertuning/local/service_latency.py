"""How long an AWS call takes from a Lambda function, by service, operation and memory size.

The local endpoint (`powertuning.local.services`) answers the function's calls from moto in another
process, then holds each response back until the call has lasted what it would from Lambda: a
fixed latency per request plus the bytes sent and received at the function's network bandwidth.
The figures and where they come from are in docs/local.md ("AWS services for the function"):

- S3: 25 ms a request. Measured on Lambda: 500 small PutObject calls take a median 12.6-13.0 s at
  512-2,048 MB (python3.11, x86_64 and arm64; mbwilding/lambda-benchmark, shared data), 25 ms each;
  AWS's S3 performance whitepaper says small requests have median latencies "in the tens of
  milliseconds".
- DynamoDB: 5 ms for an item read or write, 10 ms for a query, scan or batch (DynamoDB's
  "single-digit millisecond" latency, its developer guide).
- Other services: 15 ms (SQS, SSM, SNS, ...; no figure is published, of the order of S3's).
- Bandwidth: 600 Mbit/s at 1,769 MB (one vCPU) and above, in proportion to memory below it (Lambda
  publishes no figure; measurements find it rising with memory: Cribl 2018, DPG Media 2022, and
  about 538 Mbit/s for a large function, Hellerstein et al., CIDR 2019).

Pure: no I/O; the endpoint measures and sleeps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

# One vCPU's worth of memory (Lambda's documented 1,769 MB), where the bandwidth stops growing.
FULL_SHARE_MB: Final = 1769
BANDWIDTH_BYTES_PER_S: Final = 600e6 / 8
# Seconds a request takes besides the transfer, by service; `None` = every other operation.
LATENCY_S: Final[Mapping[str, Mapping[str | None, float]]] = {
    "s3": {None: 0.025},
    "dynamodb": {
        None: 0.005,
        "Query": 0.010,
        "Scan": 0.010,
        "BatchGetItem": 0.010,
        "BatchWriteItem": 0.010,
        "TransactGetItems": 0.010,
        "TransactWriteItems": 0.010,
    },
}
DEFAULT_LATENCY_S: Final = 0.015
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/aws4_request")


def service_of(headers: Mapping[str, str]) -> str:
    """The service a SigV4-signed request is for (its credential scope), "" if unsigned."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    match = _SCOPE.search(authorization)
    return match.group(1) if match else ""


def operation_of(headers: Mapping[str, str]) -> str | None:
    """The operation of a JSON-protocol request (`X-Amz-Target: DynamoDB_20120810.GetItem`), else None."""
    target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
    return target.rpartition(".")[2] or None


def bandwidth_bytes_per_s(memory_mb: int) -> float:
    """The function's network bandwidth at a memory size (see the module's figures)."""
    return BANDWIDTH_BYTES_PER_S * min(1.0, memory_mb / FULL_SHARE_MB)


def latency_s(service: str, operation: str | None) -> float:
    """The fixed part of one request's time."""
    table = LATENCY_S.get(service)
    if table is None:
        return DEFAULT_LATENCY_S
    return table.get(operation, table[None])


def call_s(service: str, operation: str | None, memory_mb: int, transferred_bytes: int) -> float:
    """How long one call lasts from a function of `memory_mb`: latency plus the transfer."""
    return latency_s(service, operation) + transferred_bytes / bandwidth_bytes_per_s(memory_mb)
