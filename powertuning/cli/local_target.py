"""The function `powertune local` tunes, from its flags: the code folder, Lambda's handler string,
its name, limits and environment, each checked before anything starts."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TextIO

from powertuning.errors import InvalidInputError
from powertuning.local import deps
from powertuning.local.target import FunctionSpec

# The local mock's region and account: the function's ARN there.
REGION = "us-east-1"
ACCOUNT = "123456789012"


class Target:
    """The function to tune: a handler file, or Lambda's handler string in a code folder."""

    def __init__(self, code_dir: Path, handler: str, name: str, extra_env: dict[str, str]) -> None:
        self.code_dir = code_dir
        self.handler = handler  # Lambda's handler string, `module.function`
        self.name = name
        self.extra_env = extra_env

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Target:
        code_dir, handler = parse_handler(args.handler, args.code_dir)
        if not 0 < args.timeout <= 900:
            raise InvalidInputError(
                f"--timeout must be from 1 to 900 seconds (Lambda's range), got {args.timeout}"
            )
        if not 512 <= args.ephemeral_storage <= 10240:
            raise InvalidInputError(
                "--ephemeral-storage must be from 512 to 10240 MB (Lambda's range), "
                f"got {args.ephemeral_storage}"
            )
        if not 128 <= args.memory <= 10240:
            raise InvalidInputError(f"--memory must be from 128 to 10240 MB, got {args.memory}")
        name = args.name or re.sub(r"[^A-Za-z0-9_-]", "-", code_dir.name)[:64] or "function"
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise InvalidInputError(f"--name must be 1-64 letters, digits, - or _, got {name!r}")
        env: dict[str, str] = {}
        for item in args.env:
            key, eq, value = item.partition("=")
            if not eq or not key:
                raise InvalidInputError(f"--env takes KEY=VALUE, got {item!r}")
            env[key] = value
        return cls(code_dir, handler, name, env)

    @property
    def arn(self) -> str:
        """The ARN the function will have in the local mock."""
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.name}"

    def dependencies(self, err: TextIO) -> tuple[str, ...]:
        """The installed requirements.txt of the code folder, if it has one: a folder for its sys.path."""
        requirements = deps.requirements_of(self.code_dir)
        if requirements is None:
            return ()
        print(f"Installing {requirements} (cached after the first run)...", file=err)
        return (str(deps.install(requirements)),)

    def spec(self, args: argparse.Namespace, python_path: tuple[str, ...]) -> FunctionSpec:
        """The function as the runtime will see it (for the import check before the run)."""
        return FunctionSpec(
            function_name=self.name,
            version="$LATEST",
            memory_mb=args.memory,
            timeout_s=float(args.timeout),
            handler=self.handler,
            code_dir=self.code_dir,
            environment=self.extra_env,
            log_format=args.log_format,
            function_arn=self.arn,
            python_path=python_path,
            ephemeral_storage_mb=args.ephemeral_storage,
        )


def parse_handler(text: str, code_dir_arg: Path | None) -> tuple[Path, str]:
    """(code folder, Lambda handler string) from either form of --handler."""
    if code_dir_arg is None:
        path_text, sep, function = text.rpartition(":")
        if not sep and not text.endswith(".py") and "." in text:
            raise InvalidInputError(
                f"--handler {text} is Lambda's module.function form: give the code folder too, "
                "e.g. --code-dir app/ (or use path/to/file.py:function)"
            )
        if not sep or not path_text.endswith(".py") or not function.isidentifier():
            raise InvalidInputError(
                f"--handler must look like path/to/file.py:function (or module.function with --code-dir), "
                f"got {text!r}"
            )
        path = Path(path_text)
        if not path.is_file():
            raise InvalidInputError(f"--handler: no such file {path_text}")
        if not path.stem.isidentifier():
            raise InvalidInputError(f"--handler: {path.name} is not an importable module name")
        return path.resolve().parent, f"{path.stem}.{function}"
    if not code_dir_arg.is_dir():
        raise InvalidInputError(f"--code-dir: no such folder {code_dir_arg}")
    code_dir = code_dir_arg.resolve()
    # Lambda accepts `package/module.function` as well as `package.module.function`.
    module, _, function = text.replace("/", ".").rpartition(".")
    parts = module.split(".")
    if ":" in text or not module or not function.isidentifier() or not all(p.isidentifier() for p in parts):
        raise InvalidInputError(
            f"with --code-dir, --handler is Lambda's handler string module.function "
            f"(e.g. app.handlers.main.handler), got {text!r}"
        )
    relative = Path(*parts)
    if not (
        (code_dir / relative).with_suffix(".py").is_file() or (code_dir / relative / "__init__.py").is_file()
    ):
        raise InvalidInputError(
            f"--handler {text}: no module {module} in {code_dir_arg} "
            f"(looked for {relative}.py and {relative}/__init__.py)"
        )
    return code_dir, f"{module}.{function}"
