"""xdist scheduling for checkpoint suites: largest file first, one heavy job per free worker.

``--dist load`` hands items out in collection order and in chunks, so a worker can be handed
the 2 GiB file last, or several big shards at once while its peer runs out of work. A
checkpoint's cost is almost entirely its declared files' bytes, and the controller knows
every size (it holds the same plan as the workers), so :class:`SizeAwareScheduling` does
longest-processing-time-first scheduling instead:

* items are ordered by cost: the hash item of every declared file by size, largest first,
  then every other item in collection order (each costs about the same small constant);
* a worker gets the largest remaining file only when the work already queued on it is
  below a small *budget* (it is about to be free); the extra item xdist needs queued behind
  the running one (a worker runs an item only once it knows the next) is a cheap check when
  one is left, so no big file is committed to a busy worker;
* the budget shrinks with the remaining work, so the last items are spread evenly; a worker
  is topped up only once its queue fell below half the budget, so many small shards go out
  in batches rather than one message each.

Collection itself is unchanged (identical on every worker, files in path order), so node
ids, reports and the signoff do not depend on the schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xdist.scheduler import LoadScheduling

#: Cost of an item besides its bytes, in bytes of hashing (~1 ms of pytest per item).
ITEM_COST = 1 << 20
#: Upper bound of the work queued on a worker beyond what it needs to keep going.
MAX_BUDGET = 64 << 20


class SizeAwareScheduling(LoadScheduling):
    """``LoadScheduling`` with cost-ordered, budgeted dispatch (see the module docstring).

    ``cost_of(nodeid)`` returns the bytes an item hashes (0 for checks that hash nothing).
    """

    def __init__(self, config: Any, log: Any = None, *, cost_of: Callable[[str], int]) -> None:
        super().__init__(config, log)
        self._cost_of = cost_of
        self._cost: list[int] = []
        self._heavy: set[int] = set()
        self._order: dict[int, tuple[int, int, int]] = {}
        self._remaining = 0  # total cost of ``pending``
        self._light = 0  # items of ``pending`` that hash nothing (they sit at its end)

    # ------------------------------------------------------------------ scheduling

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = next(iter(self.node2collection.values()))
        if not self.collection:
            return
        for index, nodeid in enumerate(self.collection):
            try:
                size = max(0, int(self._cost_of(nodeid)))
            except Exception:  # noqa: BLE001 - a cost is a hint; never fail the run over it
                size = 0
            if size:
                self._heavy.add(index)
            self._cost.append(size + ITEM_COST)
        self._order = {i: self._key(i) for i in range(len(self.collection))}
        self.pending[:] = range(len(self.collection))
        self._resort()
        for node in self.nodes:
            self._fill(node)
        if not self.pending:
            for node in self.nodes:
                node.shutdown()

    def _key(self, index: int) -> tuple[int, int, int]:
        """Files by size, largest first (ties in collection order); then the rest in collection order."""
        if index in self._heavy:
            return (0, -self._cost[index], index)
        return (1, 0, index)

    def check_schedule(self, node: Any, duration: float = 0) -> None:
        if node.shutting_down:
            return
        if self.pending:
            self._fill(node)
        else:
            node.shutdown()

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        self.pending.append(self.collection.index(item))
        self._resort()
        for node in self.nodes:
            self.check_schedule(node)

    def remove_node(self, node: Any) -> str | None:
        # LoadScheduling puts a crashed node's items back with ``pending.extend`` and then
        # calls ``check_schedule``: re-sort them first so the order and counters hold.
        pending = self.node2pending.get(node) or []
        if self._order and len(pending) > 1:
            self.pending.extend(pending[1:])
            del pending[1:]
            self._resort()
        return super().remove_node(node)

    def _resort(self) -> None:
        if self._order:
            self.pending.sort(key=self._order.__getitem__)
        self._remaining = sum(self._cost[i] for i in self.pending) if self._cost else 0
        self._light = sum(1 for i in self.pending if i not in self._heavy)

    def _budget(self) -> int:
        nodes = max(1, len(self.node2pending))
        return max(2 * ITEM_COST, min(MAX_BUDGET, self._remaining // (4 * nodes)))

    def _fill(self, node: Any) -> None:
        """Top ``node`` up: the largest file if it is nearly free, else cheap items to keep it going."""
        if node.shutting_down or not self.pending:
            return
        mine = self.node2pending[node]
        queued = sum(self._cost[i] for i in mine)
        budget = self._budget()
        if len(mine) >= 2 and queued >= budget // 2:
            return  # enough queued: top up later, in one larger batch
        send: list[int] = []
        while self.pending:
            if len(mine) + len(send) >= 2 and queued >= budget:
                break
            if queued < budget or self._light == 0:
                index = self.pending.pop(0)  # the largest remaining job (a file while any is left)
            else:
                index = self.pending.pop(len(self.pending) - self._light)  # the first cheap item
            if index not in self._heavy:
                self._light -= 1
            self._remaining -= self._cost[index]
            send.append(index)
            queued += self._cost[index]
        if send:
            mine.extend(send)
            node.send_runtest_some(send)


def scheduler_for(config: Any, log: Any, state: Any) -> SizeAwareScheduling:
    """The scheduler for a checkpoint run: each declared file's hash item costs its size on disk."""
    from .nodes import NODE_ROOT

    sizes: dict[str, int] = {}
    for planned in state.selected:
        if not planned.is_file:
            continue
        try:
            sizes[f"{NODE_ROOT}::{planned.item_name}"] = state.checkpoint.resolve(planned.name).stat().st_size
        except Exception:  # noqa: BLE001 - unreadable or unsafe: the item itself reports it
            continue
    return SizeAwareScheduling(config, log, cost_of=lambda nodeid: sizes.get(nodeid, 0))
