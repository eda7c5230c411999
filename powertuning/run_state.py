"""The run's own state, written by the tuner: `$.run` (`RunState`, with the original code it restores)
and the Publisher's progress `$.publish` (`PublishState`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from powertuning.arns import IMAGE_URI, S3_URI, FunctionRef
from powertuning.cold_starts import ColdStartRate
from powertuning.markers import MARKER_PREFIX, RUN_ID
from powertuning.pricing import ARCHITECTURES, FREE_EPHEMERAL_STORAGE_MB


@dataclass(frozen=True)
class OriginalCode:
    """The function's code when the run began, and where a copy of it is kept (input `architectures`).

    Recorded in the run table before the code is switched to another architecture, so every path
    that restores the function (cleanup, recovery, `powertune clean`) can put it back and verify it.
    """

    code_sha256: str
    # A zip: s3://<staging bucket>/<key>, a copy of the zip, checked against code_sha256 when made.
    staged: str | None = None
    # A container image: its URI, by digest when Lambda resolved one (the very same image).
    image_uri: str | None = None
    # The CodeSha256 of the code the run's own switches deploy on the other architectures, besides
    # code_sha256 (a zip moves the same package, so none; an image, the imageUris digests); None when
    # it cannot be known in advance (an image by tag, a run recorded before this was), so any code
    # then counts as the run's own.
    switched: tuple[str, ...] | None = None

    @property
    def location(self) -> str:
        """Where the original is restored from: the staged copy or the image."""
        return str(self.staged or self.image_uri)

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form."""
        out: dict[str, Any] = {"codeSha256": self.code_sha256}
        if self.staged is not None:
            out["staged"] = self.staged
        if self.image_uri is not None:
            out["imageUri"] = self.image_uri
        if self.switched is not None:
            out["switchedCodeSha256"] = list(self.switched)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OriginalCode:
        """Parse the wire form (the tuner's own): exactly one of a staged copy and an image."""
        staged, image = data.get("staged"), data.get("imageUri")
        if (staged is None) == (image is None):
            raise ValueError(f"original code needs one of staged and imageUri: {dict(data)!r}")
        if staged is not None and not S3_URI.match(str(staged)):
            raise ValueError(f"not an s3:// location: {staged!r}")
        if image is not None and not IMAGE_URI.match(str(image)):
            raise ValueError(f"not an ECR image URI: {image!r}")
        switched = data.get("switchedCodeSha256")
        return cls(
            code_sha256=str(data["codeSha256"]),
            staged=None if staged is None else str(staged),
            image_uri=None if image is None else str(image),
            switched=None if switched is None else tuple(str(s) for s in switched),
        )


@dataclass(frozen=True)
class RunState:
    """The run's own bookkeeping, written once by the Initializer: `$.run`."""

    function_arn: str
    power_values: tuple[int, ...]
    run_id: str
    original_memory: int
    original_description: str
    architecture: str
    sampling: str = "fixed"
    execution_arn: str = ""
    # The target's own timeout: the longest one invocation can take.
    timeout_s: int = 3
    # The function's /tmp size: storage above 512 MB is billed (powertuning/pricing.py).
    ephemeral_storage_mb: int = FREE_EPHEMERAL_STORAGE_MB
    # The architectures measured, the function's own first; () means its own only.
    architectures: tuple[str, ...] = ()
    # Set when another architecture is measured: the code to restore (architecture = the original).
    original_code: OriginalCode | None = None
    # Input `coldStartRate`: the rate the sizes are priced at (the input's, or read from the logs).
    cold_start: ColdStartRate | None = None
    # coldStartRate "production-if-available" with no rate to read: why the run has none.
    cold_start_unavailable: str | None = None

    @property
    def measured_architectures(self) -> tuple[str, ...]:
        """The architectures every size is measured on, in publishing order."""
        return self.architectures or (self.architecture,)

    def slots(self, power_values: Sequence[int] | None = None) -> list[tuple[str, int]]:
        """(architecture, size) pairs in publishing order: every size on one architecture, then the next."""
        sizes = self.power_values if power_values is None else power_values
        return [(arch, power) for arch in self.measured_architectures for power in sizes]

    def arch_suffix(self, architecture: str) -> str:
        """ "" on the function's own architecture (RAM<size> as ever), "-arm64" or "-x86_64" otherwise."""
        return "" if architecture == self.architecture else f"-{architecture}"

    @property
    def marker_prefix(self) -> str:
        """How every description this run writes begins."""
        return f"{MARKER_PREFIX}{self.run_id} "

    def marker(self, power: int, architecture: str | None = None) -> str:
        """The description that marks $LATEST and the versions this run publishes."""
        return f"{self.marker_prefix}RAM{power}{self.arch_suffix(architecture or self.architecture)}"

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; `targets` (one item per (size, architecture)) feeds the Map."""
        out: dict[str, Any] = {
            "functionArn": self.function_arn,
            "powerValues": list(self.power_values),
            "runId": self.run_id,
            "executionArn": self.execution_arn,
            "original": {"memorySize": self.original_memory, "description": self.original_description},
            "architecture": self.architecture,
            "sampling": self.sampling,
            "timeoutSeconds": self.timeout_s,
            "ephemeralStorageMB": self.ephemeral_storage_mb,
            "targets": [{"value": p, "architecture": a} for a, p in self.slots()],
        }
        if self.architectures:
            out["architectures"] = list(self.architectures)
        if self.original_code is not None:
            out["original"]["code"] = self.original_code.to_dict()
        if self.cold_start is not None:
            out["coldStart"] = self.cold_start.to_dict()
        if self.cold_start_unavailable is not None:
            out["coldStartUnavailable"] = self.cold_start_unavailable
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        """Parse the wire form (the tuner's own: written by the Initializer)."""
        run_id = str(data["runId"])
        if not RUN_ID.match(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        architectures = tuple(str(a) for a in data.get("architectures", []))
        if not set(architectures) <= set(ARCHITECTURES):
            raise ValueError(f"not architectures: {architectures!r}")
        code = data["original"].get("code")
        return cls(
            function_arn=FunctionRef.parse(str(data["functionArn"])).unqualified,
            power_values=tuple(int(p) for p in data["powerValues"]),
            run_id=run_id,
            original_memory=int(data["original"]["memorySize"]),
            original_description=str(data["original"].get("description", "")),
            architecture=str(data.get("architecture", "x86_64")),
            sampling=str(data.get("sampling", "fixed")),
            execution_arn=str(data.get("executionArn", "")),
            timeout_s=int(data.get("timeoutSeconds", 3)),
            ephemeral_storage_mb=int(data.get("ephemeralStorageMB", FREE_EPHEMERAL_STORAGE_MB)),
            architectures=architectures,
            original_code=None if code is None else OriginalCode.from_dict(code),
            cold_start=None if data.get("coldStart") is None else ColdStartRate.from_dict(data["coldStart"]),
            cold_start_unavailable=None
            if data.get("coldStartUnavailable") is None
            else str(data["coldStartUnavailable"]),
        )


@dataclass(frozen=True)
class PublishState:
    """The Publisher's progress: `$.publish`. Sizes published so far are `power_values[:index]`."""

    power_values: tuple[int, ...]
    index: int = 0
    # Sizes Lambda refused (above the account's memory limit; powerValues "auto" only).
    refused: tuple[int, ...] = ()
    # Input `architectures`: every size is published on each, in this order; () = the function's own.
    architectures: tuple[str, ...] = ()

    @property
    def slots(self) -> list[tuple[str | None, int]]:
        """(architecture, size) pairs to publish (architecture None: the function's own)."""
        return [(a, p) for a in (self.architectures or (None,)) for p in self.power_values]

    @property
    def done(self) -> bool:
        """True once every size has its version and alias."""
        return self.index >= len(self.slots)

    @property
    def published(self) -> tuple[int, ...]:
        """The sizes published so far."""
        return self.power_values[: self.index]

    def to_dict(self) -> dict[str, Any]:
        """camelCase wire form; `continue` drives the Publisher loop's Choice state."""
        out: dict[str, Any] = {
            "powerValues": list(self.power_values),
            "index": self.index,
            "refused": list(self.refused),
            "continue": not self.done,
        }
        if self.architectures:
            out["architectures"] = list(self.architectures)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PublishState:
        """Parse the wire form."""
        return cls(
            power_values=tuple(int(p) for p in data["powerValues"]),
            index=int(data["index"]),
            refused=tuple(int(p) for p in data.get("refused", [])),
            architectures=tuple(str(a) for a in data.get("architectures", [])),
        )
