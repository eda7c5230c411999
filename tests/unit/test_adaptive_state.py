"""The race's wire state round-trips."""

from __future__ import annotations

from powertuning.adaptive.state import AdaptiveState, BatchItem, SizeSamples


def test_state_round_trips_through_its_wire_form():
    state = AdaptiveState(
        sizes=(
            SizeSamples(128, ((1.5, 2.0, 0.0),), transitions=1),
            SizeSamples(256, skipped=True, reason="x"),
        ),
        candidates=(128,),
        eliminated=(256,),
        batch=(BatchItem(128, 2, 1),),
        pending=(512,),
        unavailable=(4096,),
        rounds=1,
        decisions=2,
    )
    assert AdaptiveState.from_dict(state.to_dict()) == state
