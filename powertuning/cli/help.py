"""How `powertune --help` reads: every flag's default, paragraphs wrapped, examples kept as typed."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any, Final

EXAMPLES: Final = {
    "run": """\
examples:
  powertune run --function arn:aws:lambda:us-east-1:123456789012:function:my-function \\
      --num 20 --payload '{"orderId": "42"}' --strategy balanced --report report.html
  powertune run --stack-name PowerTuning --function "$ARN" --input-file input.json \\
      --max-cost-per-invocation 0.00002 --max-duration-ms 1000 --expect-current
  powertune run --function "$ARN" --sampling adaptive --num 100 --output json > result.json""",
    "local": """\
examples:
  powertune local --handler examples/primes/handler.py:handler
  powertune local --handler app.py:handler --power-values 128,512,1024 --num 20 \\
      --payload '{"orderId": 42}' --strategy balanced --output json""",
    "report": """\
examples:
  powertune report result.json --html report.html --png chart.png
  powertune report arn:aws:states:us-east-1:123456789012:execution:PowerTuning-Tuner:run-1
  powertune run --function "$ARN" --output json | powertune report -""",
    "compare": """\
examples:
  powertune compare x86.json arm64.json --label x86_64 --label arm64 --html compare.html""",
    "clean": """\
examples:
  powertune clean --stack-name PowerTuning --function "$ARN" --dry-run    # lists, changes nothing
  powertune clean --stack-name PowerTuning --function "$ARN"    # remove it, restore the original""",
    "fleet": """\
examples:
  powertune fleet --stack-name PowerTuning --tag team=payments --plan    # costs, starts nothing
  powertune fleet --stack-name PowerTuning --prefix checkout- --input-file defaults.json --wait \\
      --report fleet.html --max-failed-percentage 10""",
    "workflow": """\
examples:
  powertune workflow "$WORKFLOW_ARN" --max-duration-ms 2000 --duration-statistic p90 --plan
  powertune workflow "$WORKFLOW_ARN" --recent-executions 5 --max-duration-ms 2000 \\
      --duration-statistic p90 --power-values 256,512,1024,2048 --num 20 --report workflow.html
  powertune workflow "$WORKFLOW_ARN" --max-duration-ms 900 --payload 'resize={"size": 1024}' \\
      --on-error skip --output json > workflow.json""",
}
TOP_EXAMPLES: Final = """\
examples:
  powertune local --handler examples/primes/handler.py:handler    # no AWS account needed
  powertune run --function "$ARN" --strategy balanced --report report.html
  powertune report result.json --png chart.png
  powertune COMMAND --help                                         # every flag and its default"""


class HelpFormatter(argparse.HelpFormatter):
    """Appends `(default: X)` to every flag whose help does not already say its default.

    A default of None must be explained in the help text itself (e.g. "default: from the ARN"),
    because "None" tells a user nothing; tests/unit/test_cli_help.py checks that every flag does.
    Paragraphs are wrapped; lines indented by two spaces (examples) are kept as written.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS or "default" in text:
            return text
        if action.default is None or action.required:
            return text
        if action.default is False or action.default is True:
            shown = "on" if action.default else "off"
        elif isinstance(action.default, list | tuple) and not action.default:
            shown = "none"
        else:
            shown = "%(default)s"
        return f"{text} (default: {shown})" if text else f"default: {shown}"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith("  ") for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(
                        " ".join(paragraph.split()), width, initial_indent=indent, subsequent_indent=indent
                    )
                )
        return "\n\n".join(paragraphs)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that formats its help with HelpFormatter (subcommands included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
