"""One tuning result as the report sees it: the execution output (powertuning/output.py), its label
and what is known of the run behind it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from powertuning.errors import ResultFormatError
from powertuning.output import TuningOutput
from powertuning.report.metadata import RunMetadata


@dataclass(frozen=True, kw_only=True)
class TuningResult(TuningOutput):
    """An execution output with the report's own extras: its label and the run's metadata.

    The output's fields are the one model's (`TuningOutput`); this class only adds what the report
    knows beside them, so the pages read `result.power` and `result.sizes` as the output says them.
    """

    label: str = ""
    metadata: RunMetadata = field(default_factory=RunMetadata)

    @classmethod
    def from_dict(cls, data: Any, *, label: str = "", metadata: RunMetadata | None = None) -> TuningResult:
        """Read an execution output (`TuningOutput.from_dict`); a dry run has nothing to report."""
        output = super().from_dict(data)
        if output.dry_run:
            raise ResultFormatError("a dry run recommends nothing: there is no result to report")
        return replace(output, label=label, metadata=metadata or RunMetadata())

    @classmethod
    def from_document(
        cls, document: Any, *, label: str = "", metadata: RunMetadata | None = None
    ) -> TuningResult:
        """Read an execution output, or a DescribeExecution answer whose `output` holds one.

        `metadata` adds what the caller knows; its fields win over what the document says.
        """
        known = RunMetadata()
        if isinstance(document, Mapping) and "output" in document and "power" not in document:
            status = document.get("status", "SUCCEEDED")
            if status != "SUCCEEDED":
                why = f"{document.get('error', '')} {document.get('cause', '')}".strip()
                raise ResultFormatError(f"the execution is {status}: {why}")
            known = RunMetadata.from_description(document)
            try:
                document = json.loads(document["output"])
            except (TypeError, json.JSONDecodeError) as exc:
                raise ResultFormatError(f"the execution's output is not JSON: {exc}") from exc
        return cls.from_dict(document, label=label, metadata=known.merged(metadata))

    def by_architecture(self) -> list[TuningResult]:
        """One result per architecture (labelled with it; only the pick's marks a recommendation),
        for one curve each in a chart; [self] for a run on one architecture."""
        if self.architecture is None:
            return [self]
        names = sorted(
            {s.architecture for s in self.sizes if s.architecture} | {a for a, _, _ in self.skipped_on}
        )
        return [
            replace(
                self,
                label=f"{self.label} {name}" if self.label else name,
                power=self.power if name == self.architecture else 0,
                sizes=tuple(s for s in self.sizes if s.architecture == name),
                skipped=tuple((v, r) for a, v, r in self.skipped_on if a == name),
                visualization=self.visualizations.get(name, ""),
                architecture=None,
                skipped_on=(),
            )
            for name in names
        ]

    @property
    def function_name(self) -> str:
        """The tuned function's name when the result says which function it is, else ""."""
        return self.metadata.function_name
