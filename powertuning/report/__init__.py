"""Reports of tuning results: a self-contained HTML page, a PNG chart, the reference tool's link.

Pure rendering over execution outputs; reading results from AWS is the CLI's job.
"""

from __future__ import annotations

from powertuning.errors import ResultFormatError
from powertuning.report.html import render_html, write_html
from powertuning.report.metadata import RunMetadata
from powertuning.report.png import MissingDependencyError, write_png
from powertuning.report.result import TuningResult
from powertuning.report.svg import render_chart
from powertuning.size_stats import SizeStats

__all__ = [
    "MissingDependencyError",
    "ResultFormatError",
    "RunMetadata",
    "SizeStats",
    "TuningResult",
    "render_chart",
    "render_html",
    "write_html",
    "write_png",
]
