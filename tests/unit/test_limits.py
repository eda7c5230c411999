"""The state-size budget the Initializer checks before anything changes."""

from __future__ import annotations

import pytest

from powertuning.errors import StateLimitError
from powertuning.limits import check_state_budget
from powertuning.models import TuningConfig, TuningRequest, auto_initial_sizes
from tests.adaptive_sim import ARN


@pytest.mark.parametrize(("power_values", "num"), [("ALL", 200), ("auto", 400)])
def test_a_race_whose_samples_could_pass_256_kb_is_refused(power_values, num):
    # The race keeps every sample in the execution state: the Initializer refuses it, saying what to lower.
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "powerValues": power_values, "num": num}
    )
    sizes = request.power_values or auto_initial_sizes()
    config = TuningConfig(ARN, sizes, "0123456789ab", 1024, "", "x86_64", sampling="adaptive")
    with pytest.raises(StateLimitError, match="lower num or list fewer powerValues"):
        check_state_budget(request, config)


def test_a_race_that_fits_is_accepted():
    request = TuningRequest.from_dict(
        {"lambdaARN": ARN, "sampling": "adaptive", "powerValues": "auto", "num": 50}
    )
    config = TuningConfig(ARN, auto_initial_sizes(), "0123456789ab", 1024, "", "x86_64", sampling="adaptive")
    check_state_budget(request, config)
