"""The state-size budget the Initializer checks before anything changes."""

from __future__ import annotations

import json

import pytest

from powertuning.errors import StateLimitError
from powertuning.input_kinds import auto_initial_sizes
from powertuning.inputs import TuningRequest
from powertuning.limits import (
    COMPACT_ABOVE,
    MARGIN,
    MAX_STATE_BYTES,
    MIN_SAMPLE_CAP,
    check_state_budget,
    sample_cap,
    state_bytes,
)
from powertuning.run_state import RunState
from tests.adaptive_sim import ARN


def adaptive(power_values, num, **extra):
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "powerValues": power_values, "num": num, **extra}
    )
    sizes = request.power_values or auto_initial_sizes()
    return request, RunState(ARN, sizes, "0123456789ab", 1024, "", "x86_64", sampling="adaptive")


@pytest.mark.parametrize(
    ("power_values", "num"),
    [("ALL", 200), ("ALL", 1000), ("auto", 1000), (list(range(128, 6465, 64)), 1000)],
)
def test_a_race_of_any_number_of_sizes_fits_its_state(power_values, num):
    # GIVEN many sizes (up to every 64 MB from 128 to 6,464: 100 of them) and a large num
    request, config = adaptive(power_values, num)
    # THEN the samples kept per size are bounded so that the state fits, and the input is accepted
    cap = sample_cap(request, config)
    assert MIN_SAMPLE_CAP <= cap <= COMPACT_ABOVE
    assert state_bytes(request, config) <= MAX_STATE_BYTES * MARGIN
    check_state_budget(request, config)


def test_few_sizes_keep_every_sample_up_to_the_default_cap():
    request, config = adaptive([128, 512, 1024], 50)
    assert sample_cap(request, config) == COMPACT_ABOVE


def test_an_input_whose_state_cannot_fit_is_refused_naming_what_to_change():
    # GIVEN a 100 KB inline payload and every 64 MB size: not even the smallest cap fits beside them
    payload = {"blob": "x" * 100_000}
    request, config = adaptive(list(range(128, 10241, 64)), 100, payload=payload)
    assert len(json.dumps(payload)) > 100_000
    with pytest.raises(StateLimitError, match="payloadS3"):
        check_state_budget(request, config)
