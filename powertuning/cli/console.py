"""How this `powertune` invocation talks to the terminal: quiet or not, a live bar or plain lines.

`main()` calls `configure(quiet=...)` once from the parsed flags, so every subcommand (and every
`Progress` it creates) follows `-q/--quiet` without passing it around. A live progress bar is drawn
only when stderr is a terminal (not in CI logs or pipes, not with TERM=dumb) and `rich` is
installed; colours follow `NO_COLOR` (https://no-color.org), which rich honours.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Final, Protocol, TextIO

from powertuning import layout

# Optional dependencies -> the extra that installs them (pyproject.toml [project.optional-dependencies]).
EXTRA_OF: Final = {
    "rich": "cli",
    "moto": "local",
    # moto's server mode (the tuned function's local AWS services, a process of its own).
    "flask": "local",
    "flask_cors": "local",
    "matplotlib": "report",
    "aws_cdk": "cdk",
    "constructs": "cdk",
    "cdk_nag": "cdk",
}


def install_hint(module: str) -> str | None:
    """How to install the extra of an optional dependency's module (layout.install_command), else None."""
    extra = EXTRA_OF.get(module.split(".", maxsplit=1)[0])
    return layout.install_command(extra) if extra else None


@dataclass(frozen=True)
class Settings:
    """What the flags and the environment say about output."""

    quiet: bool = False
    # Set on Ctrl-C: from then on progress says nothing, so the interrupt's line is the last one.
    interrupted: bool = False


_settings = Settings()


def configure(*, quiet: bool = False) -> None:
    """Set this invocation's output settings (called by `main()` from the parsed flags)."""
    global _settings
    _settings = Settings(quiet=quiet)


def interrupt() -> None:
    """Silence progress and library logs from now on (Ctrl-C was pressed)."""
    global _settings
    _settings = Settings(quiet=_settings.quiet, interrupted=True)
    # Threads still winding down (the local engine's) must not log their side of the interrupt.
    logging.disable(logging.CRITICAL)


def settings() -> Settings:
    """This invocation's output settings."""
    return _settings


def is_interactive(stream: TextIO) -> bool:
    """Whether `stream` is a terminal that can redraw a live display."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


class Closable(Protocol):
    """A live display that must be stopped before the last line is printed."""

    def close(self) -> None:
        """Stop drawing; idempotent."""


_live: list[Closable] = []


def track(display: Closable) -> None:
    """Remember a live display, so an interrupt can stop it before printing its line."""
    _live.append(display)


def close_all() -> None:
    """Stop every live display (after Ctrl-C, before the closing line)."""
    while _live:
        _live.pop().close()


def raised_while(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether `exc`, or an exception it was raised while handling, is a `kind` (e.g. cleanup that
    failed while unwinding from Ctrl-C or SIGTERM)."""
    seen: set[int] = set()
    context: BaseException | None = exc
    while context is not None and id(context) not in seen:
        if isinstance(context, kind):
            return True
        seen.add(id(context))
        context = context.__context__
    return False
