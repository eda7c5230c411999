"""The AWS services the tuned function calls: moto in its own process, behind a latency model.

`LocalServices` starts moto in server mode as a separate process (`moto_process.py`) and, per
memory size, an endpoint on 127.0.0.1 that forwards each request to it and holds the response back
until the call has lasted what it would from a Lambda function of that size
(`powertuning.local.service_latency`). The function's environment points at its size's endpoint
(`AWS_ENDPOINT_URL`, dummy credentials, the region), so its SDK calls are time spent waiting, not
its CPU: moto's work happens in another process. The tuner's own services (the state machine, the
run table) stay in the tuner's process and never see the function's calls.

`RealAws` is the opt-in alternative (`--aws real`): the function gets the user's own credentials
and calls the real account.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from powertuning.errors import PowerTuningError
from powertuning.local import service_latency

_SERVER_SCRIPT: Final = Path(__file__).with_name("moto_process.py")
_START_TIMEOUT_S: Final = 60.0
DUMMY_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# What the SDK reads to find credentials and a region: passed through with --aws real only.
_REAL_VARIABLES: Final = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION", "HOME",
    "AWS_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
)  # fmt: skip
# Hop-by-hop headers, never forwarded (RFC 9110 7.6.1); the length is recomputed.
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)


class ServicesUnavailableError(PowerTuningError):
    """The local AWS endpoint (moto in server mode) could not be started."""


class LocalServices:
    """moto in server mode in a child process, and one latency-modelling endpoint per memory size."""

    name = "local"

    def __init__(self, region: str = "us-east-1", *, latency: bool = True) -> None:
        self.region = region
        self.latency = latency
        self.url = ""  # moto itself, for seeding (no modelled latency)
        self._proc: subprocess.Popen[str] | None = None
        self._log = tempfile.TemporaryFile(mode="w+", prefix="powertuning-moto-")  # noqa: SIM115 - closed in close()
        self._endpoints: dict[int, _Endpoint] = {}
        self._lock = threading.Lock()
        # Per service: calls answered and the seconds they were held back (for tests and benchmarks).
        self.calls: dict[str, int] = {}

    def __enter__(self) -> LocalServices:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start moto's process and wait for its port."""
        self._proc = subprocess.Popen(
            [sys.executable, "-u", str(_SERVER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": self.region},
            # Ctrl-C in the terminal reaches the tuner, which closes this process itself.
            start_new_session=True,
        )
        assert self._proc.stdout is not None
        port = _read_line(self._proc.stdout, _START_TIMEOUT_S)
        if not port.strip().isdigit():
            self.close()
            raise ServicesUnavailableError(
                f"the local AWS endpoint (moto in server mode) did not start: {self._log_tail() or port!r}"
            )
        self.url = f"http://127.0.0.1:{int(port)}"

    def environment(self, memory_mb: int) -> dict[str, str]:
        """The function's AWS variables at a memory size: its endpoint, dummy credentials, the region."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint(memory_mb),
            **DUMMY_CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # Nothing to find on this machine; the SDK would otherwise probe 169.254.169.254.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def endpoint(self, memory_mb: int) -> str:
        """The URL a function of `memory_mb` calls (started on first use)."""
        if not self.url:
            raise ServicesUnavailableError("the local AWS endpoint is not running")
        with self._lock:
            endpoint = self._endpoints.get(memory_mb)
            if endpoint is None:
                endpoint = _Endpoint(self, memory_mb)
                self._endpoints[memory_mb] = endpoint
            return endpoint.url

    def client(self, service: str) -> Any:
        """A boto3 client of moto itself, for seeding (no latency); not while a `mock_aws()` is active."""
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def count(self, service: str) -> None:
        with self._lock:
            self.calls[service] = self.calls.get(service, 0) + 1

    def close(self) -> None:
        """Stop the endpoints and moto's process (idempotent)."""
        with self._lock:
            endpoints, self._endpoints = list(self._endpoints.values()), {}
        for endpoint in endpoints:
            endpoint.close()
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, 9)
                proc.wait(timeout=5)
            if proc.stdout is not None:
                proc.stdout.close()
        with contextlib.suppress(OSError):
            self._log.close()

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            return self._log.read()[-2000:].strip()
        return ""


class RealAws:
    """`--aws real`: the function calls the user's own account, with the credentials the tuner was given."""

    name = "real"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        source = os.environ if environ is None else environ
        # Read now: the local engine replaces the tuner's own variables with dummy ones while it runs.
        self._variables = {key: source[key] for key in _REAL_VARIABLES if key in source}

    def environment(self, memory_mb: int) -> dict[str, str]:  # noqa: ARG002 - the same at every size
        """The same at every size: the user's credentials and region, no endpoint."""
        return dict(self._variables)

    def close(self) -> None:
        """Nothing runs."""


class _Endpoint:
    """An HTTP endpoint on 127.0.0.1 forwarding to moto, answering each call at the modelled time."""

    def __init__(self, services: LocalServices, memory_mb: int) -> None:
        self.services = services
        self.memory_mb = memory_mb
        upstream = services.url.removeprefix("http://")
        handler = type("Handler", (_Forward,), {"endpoint": self, "upstream": upstream})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    endpoint: _Endpoint
    upstream: str

    def log_message(self, format: str, *args: Any) -> None:
        """No access log."""

    def _forward(self) -> None:
        started = time.monotonic()
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(self.upstream, timeout=300)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            status, reason, answer = response.status, response.reason, response.getheaders()
        except OSError as exc:
            self.send_error(502, f"the local AWS endpoint did not answer: {exc}")
            return
        finally:
            connection.close()
        service = service_latency.service_of(headers)
        self.endpoint.services.count(service)
        if self.endpoint.services.latency:
            target = service_latency.call_s(
                service, service_latency.operation_of(headers), self.endpoint.memory_mb, len(body) + len(data)
            )
            # moto's own time counts towards the modelled call, so fast answers wait for the rest.
            time.sleep(max(0.0, target - (time.monotonic() - started)))
        self.send_response_only(status, reason)
        head = self.command == "HEAD"  # its Content-Length is the object's, with no body
        for key, value in answer:
            if key.lower() not in _HOP_BY_HOP and (head or key.lower() != "content-length"):
                self.send_header(key, value)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # http.server's names for the methods it serves.
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward  # noqa: N815


def _read_line(stream: Any, timeout_s: float) -> str:
    """One line from a child's pipe, or "" after `timeout_s`."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    return result[0] if result else ""
