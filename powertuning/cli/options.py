"""Option groups the subcommands share: a flag per execution input key (`powertune run` and
`powertune local`), the AWS connection (--region, --profile, --endpoint-url), and the flags of the
commands that start an execution (--input-file, --no-wait, --poll-interval).

Flags are the input keys in kebab-case (`balancedWeight` -> `--balanced-weight`). An `--input-file`
gives a whole input JSON; flags given on the command line override its keys. The merged input is
validated by the same `TuningRequest.from_dict` the Initializer uses.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any, Final

from powertuning.errors import InvalidInputError
from powertuning.input_keys import INPUTS, InputKey
from powertuning.inputs import TuningRequest


def _kebab(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", key.replace("ARN", "Arn")).lower()


def _power_values(text: str) -> Any:
    if text.upper() in ("ALL", "AUTO"):
        return text.upper() if text.upper() == "ALL" else "auto"
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--power-values takes integers separated by commas, or ALL; got {text!r}"
        ) from None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        # A bare word is a string payload, as a user typing --payload hello expects.
        return text


def _names(text: str) -> list[str]:
    return [v for v in text.split(",") if v]


def _image_uris(text: str) -> dict[str, str]:
    # arm64=URI,x86_64=URI (an ECR URI holds no comma and no "="); checked as the input key.
    pairs = [part.partition("=") for part in text.split(",") if part]
    if not pairs or any(not sep for _, sep, _ in pairs):
        raise argparse.ArgumentTypeError(f"expected ARCH=URI,..., got {text!r}")
    return {arch: uri for arch, _, uri in pairs}


# How a flag's text becomes the key's value, by the key's kind (strings stay strings).
_TYPES: dict[str, Any] = {"int": int, "number": float, "ms": float, "sizes": _power_values, "json": _json}
_TYPES["names"] = _TYPES["choices"] = _names
_TYPES["images"] = _image_uris
_TYPES["amount"] = float


def _rate(text: str) -> float | str:
    # "production", or a number (checked as the input key, which names the range).
    try:
        return float(text)
    except ValueError:
        return text


_TYPES["rate"] = _rate
# Where the CLI's default differs from the input's: the table and the report need the per-size stats.
_CLI_DEFAULTS: dict[str, str] = {"includeOutputResults": "on here, as the table needs them"}
KEYS_WITH_FLAGS: tuple[InputKey, ...] = tuple(key for key in INPUTS if key.flag is not None)


def flag_of(key: str) -> str:
    """The command-line flag of an execution input key."""
    found = next(k for k in INPUTS if k.name == key)
    return found.flag or f"--{_kebab(key)}"


def _help(key: InputKey) -> str:
    """The key's help, its range and its default (README "Execution input")."""
    text = key.help
    if key.kind in ("int", "number"):
        text += f", {key.low}-{key.high}"
    if key.name in _CLI_DEFAULTS:
        default = _CLI_DEFAULTS[key.name]
    elif key.default_text is not None:
        default = key.default_text
    elif key.kind == "bool":
        default = "on" if key.default else "off"
    else:
        default = "none" if key.default is None else str(key.default)
    return f"{text} (default: {default})"


def positive(text: str) -> float:
    """A finite number greater than 0 (a period, a gate's limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    # float() reads nan and inf (1e999 too): a nan gate never fails, and time.sleep refuses both.
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number greater than 0, got {text!r}")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number greater than 0, got {text!r}")
    return value


def percentage(text: str) -> float:
    """A number from 0 to 100 (a gate's share of failures)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 100:  # nan too
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 100, got {text!r}")
    return value


def add_input_file(group: Any, help: str) -> None:
    """Add --input-file; each command says what the file holds."""
    group.add_argument("--input-file", type=Path, metavar="FILE", help=help)


def add_no_wait(group: Any) -> None:
    """Add --no-wait: print the started execution's ARN instead of following it."""
    group.add_argument("--no-wait", action="store_true", help="print the execution ARN and exit once started")


def add_poll_interval(group: Any, *, default: float, help: str = "polling period") -> None:
    """Add --poll-interval, in seconds, > 0 (0 would poll without pause; time.sleep refuses < 0)."""
    group.add_argument("--poll-interval", type=positive, default=default, metavar="SECONDS", help=help)


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add --input-file, --payload-file and one flag per execution input key (lambdaARN excepted)."""
    group = parser.add_argument_group("execution input (see the README for every key and default)")
    add_input_file(group, "execution input JSON; flags override it (default: none)")
    group.add_argument(
        "--payload-file", type=Path, metavar="FILE", help="read the payload JSON from a file (default: none)"
    )
    for key in KEYS_WITH_FLAGS:
        kwargs: dict[str, Any] = {"dest": f"input_{key.name}", "default": None, "help": _help(key)}
        if key.kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif key.kind == "choice":
            kwargs["choices"] = key.choices
        else:
            kwargs["metavar"] = key.metavar
            if key.kind in _TYPES:
                kwargs["type"] = _TYPES[key.kind]
        group.add_argument(flag_of(key.name), **kwargs)


def build_input(args: argparse.Namespace, lambda_arn: str | None = None) -> dict[str, Any]:
    """Merge --input-file, --payload-file and flags into one execution input, and validate it."""
    data: dict[str, Any] = {}
    if args.input_file is not None:
        try:
            data = json.loads(Path(args.input_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--input-file {args.input_file}: {exc}") from exc
        if not isinstance(data, dict):
            raise InvalidInputError(f"--input-file {args.input_file} must hold a JSON object")
    if args.payload_file is not None:
        try:
            data["payload"] = json.loads(Path(args.payload_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"--payload-file {args.payload_file}: {exc}") from exc
    for key in KEYS_WITH_FLAGS:
        value = getattr(args, f"input_{key.name}", None)
        if value is not None:
            data[key.name] = value
    if lambda_arn is not None:
        data["lambdaARN"] = lambda_arn
    TuningRequest.from_dict(data)
    return data


# The stack `cdk deploy` creates (app.py); used when neither --state-machine-arn nor --stack-name is given.
DEFAULT_STACK_NAME: Final = "PowerTuning"


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    """Add --region, --profile and --endpoint-url."""
    group = parser.add_argument_group("AWS connection")
    group.add_argument("--region", help="AWS region (default: from the ARN, else the profile's)")
    group.add_argument(
        "--profile",
        help="named profile from your AWS config (default: AWS_PROFILE, else the default profile)",
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call here, e.g. moto server or LocalStack (default: AWS itself)",
    )
