"""powerValues "auto": the first ladder and which sizes to try next."""

from __future__ import annotations

from dataclasses import replace

from powertuning.adaptive.auto import propose
from powertuning.input_kinds import AUTO_GRID, auto_grid, auto_initial_sizes
from powertuning.local.cpu_model import cpu_duration_ms
from tests.adaptive_sim import measured_state, settings


def test_auto_starts_with_a_coarse_ladder_up_to_one_vcpu():
    assert auto_initial_sizes() == (128, 512, 1769)
    assert auto_initial_sizes(1024) == (128, 512, 1024)
    # cost starts low and speed high: a bigger size is dearer, a smaller one slower, unless the data says so
    assert auto_initial_sizes(strategy="cost") == (128, 512)
    # speed: one vCPU and the climb's next step above it, so a plateau shows at once
    assert auto_initial_sizes(strategy="speed") == (1769, 3008)
    assert auto_initial_sizes(3008, strategy="speed") == (1769, 3008)
    assert auto_initial_sizes(2048, strategy="speed") == (1769, 2048)
    assert auto_initial_sizes(1536, strategy="speed") == (512, 1536)
    assert auto_initial_sizes(256, strategy="speed") == (128, 256)
    assert auto_grid(3008)[-1] == 3008
    assert set(auto_grid()) == set(AUTO_GRID)


def test_auto_speed_never_looks_below_the_leader_and_climbs_while_it_improves():
    # GIVEN 1,769 MB is much faster than 512 MB and is the largest size measured
    state = measured_state({128: 4000.0, 512: 1000.0, 1769: 300.0}, (1769,))
    # THEN speed looks above it (not below: less memory is never faster)
    assert propose(state, settings(auto=True)) == (3008,)
    # AND once a plateau is reached (3,008 MB no faster), the walk would only fill the gap; the
    # model of the four sizes shows the plateau, so 2,048 MB cannot beat 1,769 MB by more than the
    # tolerance and is not worth a cold start
    state = measured_state({128: 4000.0, 512: 1000.0, 1769: 300.0, 3008: 300.0}, (1769,))
    assert propose(state, settings(auto=True, model=False)) == (2048,)
    assert propose(state, settings(auto=True)) == ()
    # with three sizes the model is unchecked: nothing is ruled out on its word
    state = measured_state({512: 1000.0, 1769: 300.0, 3008: 300.0}, (1769,))
    assert propose(state, settings(auto=True)) == (2048,)
    state = measured_state({512: 1000.0, 1769: 300.0, 2048: 301.0, 3008: 300.0}, (1769,))
    assert propose(state, settings(auto=True)) == ()


def test_auto_cost_looks_below_the_leader_and_above_only_after_a_super_linear_speedup():
    # Cost falls from 128 to 512 MB (super-linear speed-up): both neighbours of 512 are worth a look
    falling = measured_state({128: 4000.0, 512: 500.0, 1769: 200.0}, (512,))
    assert propose(falling, settings(strategy="cost", auto=True)) == (256, 1024)
    # Cheapest at the smallest size: nothing above is worth publishing
    flat = measured_state({128: 400.0, 512: 100.0, 1769: 29.0}, (128,))
    assert propose(flat, settings(strategy="cost", auto=True)) == ()


def test_auto_never_asks_again_for_a_size_the_account_refused():
    state = replace(measured_state({128: 4000.0, 512: 1000.0, 1769: 300.0}, (1769,)), unavailable=(3008,))
    assert propose(state, settings(auto=True)) == (2048,)


def test_auto_cost_looks_where_a_short_function_starts_to_fit_in_one_quota_slice():
    # GIVEN 8 ms of CPU work at one vCPU and 5 ms of waiting, under Lambda's quota (20 ms slices):
    # at 128 and 512 MB it waits for slices, from 8 / 20 x 1769 = 708 MB it runs at full speed
    state = measured_state({m: 5 + cpu_duration_ms(8.0, m) for m in (128, 512)}, (128, 512))
    cost = settings(strategy="cost", auto=True)
    # THEN cost looks at the first grid size past that edge, where the smooth walk sees nothing
    assert propose(state, cost) == (768,)
    assert propose(state, replace(cost, model=False)) == ()
    # AND a long function (400 ms of CPU) has no edge worth a look below the account's limit
    long = measured_state({m: 5 + cpu_duration_ms(400.0, m) for m in (128, 512)}, (128, 512))
    assert propose(long, cost) == ()
