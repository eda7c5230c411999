"""checkov and cfn-lint's serverless rules on synthesized templates, offline, as their users run them.

checkov runs from its own environment (it pins boto3 and packaging below the dev extra's: see
pyproject's `scan` extra and `make install`); `CHECKOV` names its executable, else the repository's
`.venv-scan`, else the one on PATH. It runs with `--skip-download` and without any platform key, so
it reads nothing but the templates: no external checks, no network.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cfnlint.api import lint
from cfnlint.config import ManualArgs

from stacks.acknowledgements import CFN_LINT_SERVERLESS, CHECKOV
from tests.infrastructure.synthesis import REPO_ROOT

# The rules module cfn-lint loads (`cfn-lint --append-rules cfn_lint_serverless.rules`); the bare
# package name `cfn_lint_serverless` loads no rule at all.
SERVERLESS_RULES: Final = "cfn_lint_serverless.rules"
# The Metadata keys the acknowledgements are written under (stacks.acknowledgements).
METADATA_KEYS: Final = ("checkov", "cfn-lint")


@dataclass(frozen=True, order=True)
class Finding:
    """One scanner result on one resource."""

    tool: str
    rule: str
    resource_type: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.tool} {self.rule} on {self.resource_type} {self.logical_id}"


def without_acknowledgements(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with the scanners' Metadata removed: what the scanners find before acknowledging."""
    raw = copy.deepcopy(dict(template))
    for resource in raw.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        for key in METADATA_KEYS:
            metadata.pop(key, None)
    return raw


def checkov_executable() -> str:
    """checkov from CHECKOV, the repository's .venv-scan, or PATH; a clear failure when there is none."""
    candidates = [os.environ.get("CHECKOV"), str(REPO_ROOT / ".venv-scan" / "bin" / "checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("checkov")
    if found:
        return found
    raise FileNotFoundError(
        "checkov is not installed: `make install` puts it in .venv-scan (pyproject's scan extra), "
        "or set CHECKOV to its executable"
    )


def run_checkov(directory: Path) -> list[dict[str, Any]]:
    """Every check result (failed, skipped) of checkov's CloudFormation framework on a directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "CKV_"))}
    command = [
        checkov_executable(),
        "--directory",
        str(directory),
        "--framework",
        "cloudformation",
        "--skip-download",
        "--output",
        "json",
        "--compact",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"checkov gave no JSON report (exit {done.returncode}): {done.stderr[-2000:]}"
        ) from exc
    reports = report if isinstance(report, list) else [report]
    results: list[dict[str, Any]] = []
    for one in reports:
        if one.get("summary", {}).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse a template: {one['results']['parsing_errors']}")
        results.extend(one["results"]["failed_checks"])
        results.extend(one["results"]["skipped_checks"])
    return results


def checkov_findings(results: Iterable[Mapping[str, Any]], file_name: str, status: str) -> set[Finding]:
    """The results of one template file with this status (FAILED or SKIPPED)."""
    found = set()
    for result in results:
        if Path(result["file_path"]).name != file_name or result["check_result"]["result"] != status:
            continue
        resource_type, logical_id = str(result["resource"]).rsplit(".", 1)
        found.add(Finding(CHECKOV, str(result["check_id"]), resource_type, logical_id))
    return found


def serverless_findings(template: Mapping[str, Any]) -> set[Finding]:
    """cfn-lint's serverless rules (only those: cfn-lint's own run in test_checks as before)."""
    config = ManualArgs(append_rules=[SERVERLESS_RULES], regions=["us-east-1"])
    found = set()
    for match in lint(json.dumps(template), config=config):
        if not type(match.rule).__module__.startswith(SERVERLESS_RULES):
            continue
        logical_id = str(match.path[1]) if len(match.path) > 1 and match.path[0] == "Resources" else "-"
        resource_type = str(template["Resources"].get(logical_id, {}).get("Type", "-"))
        found.add(Finding(CFN_LINT_SERVERLESS, match.rule.id, resource_type, logical_id))
    return found


@dataclass(frozen=True)
class Scan:
    """What both scanners found on one template: before acknowledging, and as synthesized."""

    raw: frozenset[Finding]
    left: frozenset[Finding]  # failures on the template as synthesized (acknowledgements in it)
    skipped: tuple[dict[str, Any], ...]  # checkov's skipped results on that template


def scan(templates: Mapping[str, Mapping[str, Any]], directory: Path) -> dict[str, Scan]:
    """Scan each named template twice (without and with its acknowledgements) in one checkov run."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, template in templates.items():
        (directory / f"{name}.raw.template.json").write_text(json.dumps(without_acknowledgements(template)))
        (directory / f"{name}.template.json").write_text(json.dumps(template))
    results = run_checkov(directory)
    scans = {}
    for name, template in templates.items():
        raw = checkov_findings(results, f"{name}.raw.template.json", "FAILED")
        raw |= serverless_findings(without_acknowledgements(template))
        left = checkov_findings(results, f"{name}.template.json", "FAILED") | serverless_findings(template)
        skipped = tuple(
            r
            for r in results
            if Path(r["file_path"]).name == f"{name}.template.json"
            and r["check_result"]["result"] == "SKIPPED"
        )
        scans[name] = Scan(frozenset(raw), frozenset(left), skipped)
    return scans
