"""Templates shared by the infrastructure tests: each synthesized at most once per session."""

from __future__ import annotations

import pytest

from tests.infrastructure.synthesis import (
    VARIANT_OPTIONS,
    Synthesized,
    synth_app,
    synth_construct,
)


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app as deployed with no options: synthesized once per session."""
    return synth_app(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def architectures_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app deployed with `-c architectures=true` (code changes allowed): synthesized once per session."""
    return synth_app(tmp_path_factory.mktemp("cdk-architectures"), {"architectures": "true"})


@pytest.fixture(scope="session")
def variant_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """VARIANT_OPTIONS on a PowerTuner in a user's stack: synthesized once per session."""
    return synth_construct(tmp_path_factory.mktemp("cdk-variant"), VARIANT_OPTIONS)
