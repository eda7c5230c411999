"""The contract between the local engine and a runtime that executes the function being tuned.

The engine replaces moto's Docker-based `LambdaFunction._invoke_lambda` and hands every invocation of
a target function to a `TargetRuntime`. A runtime returns what Lambda would: the response payload,
whether it is a function error, and the log tail ending with the REPORT record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class FunctionSpec:
    """What a runtime needs to know about the function version being invoked."""

    function_name: str
    version: str
    memory_mb: int
    timeout_s: float
    handler: str
    code_dir: Path | None = None
    environment: dict[str, str] = field(default_factory=dict)
    log_format: str = "Text"
    function_arn: str = ""
    # Folders after the code on the function's sys.path: its installed requirements.txt, like a layer.
    python_path: tuple[str, ...] = ()
    architecture: str = "x86_64"
    # /tmp's size (Lambda's EphemeralStorage, 512-10,240 MB).
    ephemeral_storage_mb: int = 512

    @property
    def environment_key(self) -> tuple[str, str, int]:
        """Invocations with the same key may share an execution environment, as on Lambda."""
        return (self.function_name, self.version, self.memory_mb)


@dataclass(frozen=True)
class InvokeResult:
    """Lambda's answer to one invocation."""

    payload: str
    errored: bool
    logs: str


class TargetRuntime(Protocol):
    """Executes target functions: one call per invocation, safe to call from several threads."""

    mode: str

    def invoke(self, spec: FunctionSpec, event: str) -> InvokeResult:
        """Run one invocation and return its payload, error flag and log tail."""
        ...

    def close(self) -> None:
        """Stop every execution environment and release what the runtime holds."""
        ...
