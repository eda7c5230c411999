"""moto in server mode inside the test process: the tuner deployed behind real HTTP.

`ServerEngine` is the local engine (powertuning/local/engine.py: the same deployment of the tuner's
functions, run table, staging bucket and state machine, the same rules of real AWS from aws_rules.py,
the same `LambdaFunction._invoke_lambda` seam) with moto's backends served by a `ThreadedMotoServer`
on 127.0.0.1 instead of `mock_aws()`. The backends and the patched classes are this process's, so the
tuner handlers run in the server's request threads as they run in the engine; every boto3 client of
this process (the handlers', the engine's, the Step Functions interpreter's) reaches the server over
HTTP through AWS_ENDPOINT_URL / MOTO_PORT.

`powertune` below runs the real entry point as a subprocess with an environment of its own: no
endpoint but the one given with --endpoint-url, credentials from env vars or from a credentials
file (boto3's default chain), and a proxy that does not exist for every host but 127.0.0.1, so a
call that would have left the machine fails instead of reaching AWS.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from moto.core.exceptions import JsonRESTError
from moto.server import ThreadedMotoServer

from powertuning.local.engine import LocalEngine

REGION = "us-east-1"
# Every host but this machine goes through a proxy nobody listens on: no call can reach AWS.
NO_NETWORK = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "MOTO_PORT",
)


class MotoServer:
    """A ThreadedMotoServer on a free port of 127.0.0.1, running state machines; start/stop like a
    patcher. While it runs, this process's boto3 clients reach it (AWS_ENDPOINT_URL)."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._env: Any = None
        self.url = ""

    def start(self) -> None:
        """Serve, reset every backend, and turn on the Step Functions interpreter."""
        # One access-log line per request is noise next to a test's own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # MOTO_PORT: where moto's interpreter sends its Lambda calls when no mock_aws() is active.
        self._env = mock.patch.dict(
            os.environ, {"AWS_ENDPOINT_URL": self.url, "MOTO_PORT": str(port), **NO_NETWORK}
        )
        self._env.start()
        self.post("/moto-api/reset", {})
        self.post("/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})

    def stop(self) -> None:
        """Reset the backends (they are this process's) and stop serving."""
        try:
            self.post("/moto-api/reset", {})
        finally:
            self._env.stop()
            self._server.stop()

    def post(self, path: str, body: dict[str, Any]) -> None:
        """POST JSON to one of moto's own endpoints (/moto-api/...)."""
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        # The proxy variables are set in this process: this request goes to the server directly.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            response.read()


class ServerEngine(LocalEngine):
    """The local engine, its services behind moto's server (`endpoint_url`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.server = MotoServer()

    def _services(self) -> Any:
        return self.server

    @property
    def endpoint_url(self) -> str:
        """What `--endpoint-url` is given."""
        return self.server.url

    def publish_outputs(self, stack_name: str, outputs: dict[str, str]) -> None:
        """A CloudFormation stack with the tuner stack's outputs, where the CLI reads them."""
        template = {
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        self._client("cloudformation").create_stack(StackName=stack_name, TemplateBody=json.dumps(template))


@dataclass
class Injected:
    """What an intercepted operation saw: its calls, how many it refused, each call's credential
    (the access key id the request was signed with)."""

    calls: int = 0
    refused: int = 0
    access_keys: list[str] = field(default_factory=list)


@contextmanager
def intercepted(response_class: type, operation: str, *, throttle: int = 0, code: str = "ThrottlingException",
                status: int = 400) -> Iterator[Injected]:  # fmt: skip
    """Watch one operation of the server (moto's response class of the service): the first
    `throttle` calls are answered with a throttling error as AWS does under load; later ones go
    through."""
    original = getattr(response_class, operation)
    seen = Injected()
    lock = threading.Lock()
    refusal = type(code, (JsonRESTError,), {"code": status})

    def answer(self: Any, *args: Any, **kwargs: Any) -> Any:
        authorization = str(self.headers.get("Authorization", ""))
        with lock:
            seen.calls += 1
            seen.access_keys.append(authorization.partition("Credential=")[2].partition("/")[0])
            refuse = seen.refused < throttle
            seen.refused += int(refuse)
        if refuse:
            raise refusal(code, "Rate exceeded")
        return original(self, *args, **kwargs)

    with mock.patch.object(response_class, operation, answer):
        yield seen


@dataclass(frozen=True)
class Completed:
    """A finished `powertune` process: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


def powertune_command() -> list[str]:
    """The installed `powertune` script beside this interpreter (the package's entry point)."""
    script = Path(sys.executable).with_name("powertune")
    found = str(script) if script.exists() else shutil.which("powertune")
    if not found:
        raise RuntimeError("the powertune entry point is not installed: pip install -e '.[dev]'")
    return [found]


def client_environment(home: Path, *, credentials: str = "env", region: str = REGION) -> dict[str, str]:
    """A user's shell: no AWS variable of this process, HOME of its own, and credentials either in
    env vars (`env`), in a credentials file named by AWS_SHARED_CREDENTIALS_FILE with the region
    in AWS_CONFIG_FILE (`file`, profile `default`), or nowhere (`none`)."""
    env = {k: v for k, v in os.environ.items() if k not in _AWS_VARIABLES and k not in NO_NETWORK}
    env.update(NO_NETWORK, HOME=str(home), AWS_EC2_METADATA_DISABLED="true")
    env["AWS_CONFIG_FILE"] = str(home / "config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "credentials")
    if credentials == "env":
        env.update(
            AWS_ACCESS_KEY_ID="AKIDSERVERTEST", AWS_SECRET_ACCESS_KEY="secret", AWS_DEFAULT_REGION=region
        )
    elif credentials == "file":
        (home / "credentials").write_text(
            "[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = secret\n", encoding="utf-8"
        )
        (home / "config").write_text(f"[default]\nregion = {region}\n", encoding="utf-8")
    return env


def run_powertune(env: dict[str, str], *args: str, timeout_s: float = 120) -> Completed:
    """Run `powertune ARGS` as a subprocess in `env` and wait for it."""
    done = subprocess.run(
        [*powertune_command(), *args], env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    return Completed(done.returncode, done.stdout, done.stderr)


Powertune = Callable[..., Completed]
