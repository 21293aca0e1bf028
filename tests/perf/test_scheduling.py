"""scheduling.py: under -n N, the largest declared file goes out first and nothing runs twice.

A small discrete-event simulation of xdist workers drives the scheduler exactly as DSession
does (``add_node``, ``add_node_collection``, ``schedule``, ``mark_test_complete``); a worker
runs an item only once it holds the next one or was told to shut down, as xdist's do.
Correctness only: makespans are in simulated time, not measured.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_passport.scheduling import ITEM_COST, SizeAwareScheduling

MiB = 1 << 20


class FakeNode:
    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: list[int] = []
        self.batches: list[list[int]] = []
        self.shutting_down = False
        self.gateway = SimpleNamespace(id=name)

    def send_runtest_some(self, indices: list[int]) -> None:
        self.batches.append(list(indices))
        self.queue.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return self.name


def fake_config(n: int) -> SimpleNamespace:
    values = {"tx": [f"{n}*popen"], "maxschedchunk": None}
    return SimpleNamespace(getvalue=values.__getitem__, getoption=values.__getitem__, option=SimpleNamespace(debug=False))


def checkpoint_collection(files: dict[str, int], checks: int = 30) -> tuple[list[str], dict[str, int]]:
    """Node ids in plugin order (checks, then files in path order) and the file sizes."""
    ids = [f"checkpoint::section[check_{i:02d}]" for i in range(checks // 2)]
    ids += [f"checkpoint::weight_integrity[{name}]" for name in sorted(files)]
    ids += [f"checkpoint::signoff[check_{i:02d}]" for i in range(checks - checks // 2)]
    sizes = {f"checkpoint::weight_integrity[{name}]": size for name, size in files.items()}
    return ids, sizes


def simulate(sched, ids: list[str], sizes: dict[str, int], n: int) -> tuple[float, dict[str, list[int]], list[FakeNode]]:
    """Run the collection on ``n`` fake workers; item time = its bytes (+1 MiB); returns the makespan."""
    nodes = [FakeNode(f"gw{i}") for i in range(n)]
    for node in nodes:
        sched.add_node(node)
    for node in nodes:
        sched.add_node_collection(node, ids)
    sched.schedule()
    position = {node: 0 for node in nodes}
    running: dict[FakeNode, tuple[float, int]] = {}
    ran: dict[str, list[int]] = {node.name: [] for node in nodes}
    now = 0.0
    for _ in range(100_000):
        for node in nodes:
            pos = position[node]
            if node not in running and pos < len(node.queue) and (pos + 1 < len(node.queue) or node.shutting_down):
                index = node.queue[pos]
                running[node] = (now + sizes.get(ids[index], 0) + ITEM_COST, index)
        if not running:
            break
        node = min(running, key=lambda nd: running[nd][0])
        now, index = running.pop(node)
        position[node] += 1
        ran[node.name].append(index)
        sched.mark_test_complete(node, index, 0.0)
    return now, ran, nodes


def check_all_ran_once(ran: dict[str, list[int]], ids: list[str]) -> None:
    done = sorted(i for indices in ran.values() for i in indices)
    assert done == list(range(len(ids)))


def test_large_checkpoint_two_workers_is_balanced_and_complete() -> None:
    files = {"policy.safetensors": 2048 * MiB, "config.json": 2000, "stats.json": 500}
    files |= {f"backbone/model-{i:05d}-of-00008.safetensors": 256 * MiB for i in range(1, 9)}
    ids, sizes = checkpoint_collection(files)
    sched = SizeAwareScheduling(fake_config(2), cost_of=lambda nodeid: sizes.get(nodeid, 0))
    makespan, ran, nodes = simulate(sched, ids, sizes, 2)
    check_all_ran_once(ran, ids)
    assert sched.tests_finished and not sched.has_pending
    # The 2 GiB file is the first item of the first worker, behind it only a cheap check.
    first = nodes[0].batches[0]
    assert ids[first[0]] == "checkpoint::weight_integrity[policy.safetensors]"
    assert all(ids[i] not in sizes for i in first[1:])
    # Lower bound: half the work, or the largest file; the schedule is within 2% of it.
    total = sum(sizes.values()) + len(ids) * ITEM_COST
    bound = max(total / 2, 2048 * MiB + ITEM_COST)
    assert makespan <= 1.02 * bound


def test_beats_or_matches_stock_load_scheduling() -> None:
    from xdist.scheduler import LoadScheduling

    files = {"z_policy.safetensors": 2048 * MiB} | {f"a_shard_{i}.safetensors": 256 * MiB for i in range(8)}
    ids, sizes = checkpoint_collection(files)
    ours, _, _ = simulate(SizeAwareScheduling(fake_config(2), cost_of=lambda n: sizes.get(n, 0)), ids, sizes, 2)
    stock, ran, _ = simulate(LoadScheduling(fake_config(2)), ids, sizes, 2)
    check_all_ran_once(ran, ids)
    assert ours <= stock


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_many_equal_shards_spread_evenly_in_batches(workers: int) -> None:
    files = {f"shards/model-{i:05d}-of-01000.safetensors": 4 * MiB for i in range(1, 1001)}
    ids, sizes = checkpoint_collection(files)
    sched = SizeAwareScheduling(fake_config(workers), cost_of=lambda nodeid: sizes.get(nodeid, 0))
    makespan, ran, nodes = simulate(sched, ids, sizes, workers)
    check_all_ran_once(ran, ids)
    total = sum(sizes.values()) + len(ids) * ITEM_COST
    assert makespan <= total / workers + 6 * MiB  # at most about one shard over the ideal
    # Shards go out several at a time at first, not one message per item.
    assert max(len(b) for node in nodes for b in node.batches) > 4


def test_no_files_and_unknown_costs_still_run_everything() -> None:
    ids = [f"tests/test_x.py::test_{i}" for i in range(7)]

    def broken(nodeid: str) -> int:
        raise RuntimeError("no size")

    sched = SizeAwareScheduling(fake_config(2), cost_of=broken)
    _, ran, _ = simulate(sched, ids, {}, 2)
    check_all_ran_once(ran, ids)


def test_crashed_worker_items_are_rescheduled() -> None:
    files = {f"s{i}.safetensors": (i + 1) * 64 * MiB for i in range(6)}
    ids, sizes = checkpoint_collection(files, checks=6)
    sched = SizeAwareScheduling(fake_config(2), cost_of=lambda nodeid: sizes.get(nodeid, 0))
    a, b = FakeNode("gw0"), FakeNode("gw1")
    for node in (a, b):
        sched.add_node(node)
    for node in (a, b):
        sched.add_node_collection(node, ids)
    sched.schedule()
    given_to_a = list(a.queue)
    crashed = sched.remove_node(a)
    assert crashed == ids[given_to_a[0]]
    # Everything a held except the crashing item goes back, still largest first.
    assert set(given_to_a[1:]) <= set(sched.pending) | set(b.queue)
    heavy = [i for i in sched.pending if ids[i] in sizes]
    assert heavy == sorted(heavy, key=lambda i: -sizes[ids[i]])
