"""CPU in proportion to memory: quotas, the admission budget, cgroup groups (the model: test_cpu_model)."""

from __future__ import annotations

import threading
import time

import pytest

from powertuning.local import cpu


def test_quota_is_proportional_to_memory():
    assert cpu.quota_us(1769, 20_000) == 20_000
    assert cpu.quota_us(128, 100_000) == round(100_000 * 128 / 1769)
    assert cpu.quota_us(3538, 20_000) == 40_000  # two vCPUs: two periods' worth per period
    assert cpu.quota_us(128, 10_000) == 1_000  # the kernel's minimum quota


def test_budget_demand_is_the_share_capped_at_the_machine():
    budget = cpu.CpuBudget(cores=2)
    assert budget.demand(1769) == 1.0
    assert budget.demand(10240) == 2.0
    assert cpu.CpuBudget(cores=2, min_demand=1.0).demand(128) == 1.0


def test_budget_admits_while_shares_fit_and_in_arrival_order():
    # GIVEN one core, held by a 1,769 MB invocation
    budget = cpu.CpuBudget(cores=1)
    order: list[str] = []
    release = threading.Event()

    def hold() -> None:
        with budget.reserve(1769):
            order.append("big")
            release.wait(5)

    def small(name: str) -> None:
        with budget.reserve(128):
            order.append(name)

    holder = threading.Thread(target=hold)
    holder.start()
    while not order:
        time.sleep(0.001)
    waiting = [threading.Thread(target=small, args=(f"small-{i}",)) for i in range(2)]
    for thread in waiting:
        thread.start()
        time.sleep(0.02)
    # WHEN nothing has been released THEN the small ones wait
    assert order == ["big"]
    release.set()
    for thread in [holder, *waiting]:
        thread.join(5)
    # THEN they ran after it, first come first served
    assert order == ["big", "small-0", "small-1"]


@pytest.mark.skipif(not cpu.cgroup_v1_available(), reason="needs a writable cgroup v1 cpu hierarchy")
def test_cgroup_groups_get_quota_and_are_removed_on_close():
    groups = cpu.CgroupV1.create()
    assert groups is not None
    try:
        group = groups.group(512)
        assert (group.path / "cpu.cfs_quota_us").read_text().strip() == str(cpu.quota_us(512))
        assert (group.path / "cpu.cfs_period_us").read_text().strip() == str(cpu.CFS_PERIOD_US)
    finally:
        groups.close()
    assert not group.path.exists()
    assert not groups.root.exists()
