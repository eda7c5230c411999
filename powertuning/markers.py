"""The names a run gives what it creates: the descriptions that mark its versions and `$LATEST`,
its run id, and its aliases. Cleanup, recovery and `powertune clean` find a run's leftovers by them."""

from __future__ import annotations

import re
from typing import Final

# Every description a run writes: "powertuning <runId> ...". The run id is 12 hex digits.
MARKER_PREFIX: Final = "powertuning "
# What a run's own versions are described as while it runs (and what `powertune clean` removes).
RUN_VERSION_MARKER = re.compile(
    r"^powertuning (?P<run>[0-9a-f]{12}) RAM(?P<power>\d+)(-(?P<arch>x86_64|arm64))?(-\d+)?\Z"
)
RUN_ID = re.compile(r"^[0-9a-f]{12}\Z")
# Any description a run wrote ($LATEST while it publishes or optimizes, its versions).
RUN_MARKER = re.compile(r"^powertuning (?P<run>[0-9a-f]{12}) ")
# The names of the aliases a run creates: RAM<size>, RAM<size>-<i> in cold-start mode; on an
# architecture other than the function's own (input `architectures`), RAM<size>-<arch>[-<i>].
RUN_ALIAS = re.compile(r"^RAM\d+(-(?:x86_64|arm64))?(-\d+)?\Z")
