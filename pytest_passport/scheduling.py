"""xdist scheduling for checkpoint suites: largest file first, one heavy job per free worker.

``--dist load`` hands items out in collection order and in chunks, so a worker can be handed
the 2 GiB file last, or several big shards at once while its peer runs out of work. A
checkpoint's cost is almost entirely its declared files' bytes, and the controller knows
every size (it holds the same plan as the workers), so :class:`SizeAwareScheduling` does
longest-processing-time-first scheduling instead:

* the hash items of declared files go out by size, largest first; the other checks (each
  cheap, or of unknown cost) go out early, one after each file, so none is left for the tail;
* a worker gets the largest remaining file only when the work already queued on it is
  below a *budget* (it is about to be free); the extra item xdist needs queued behind the
  running one (a worker runs an item only once it knows the next) is a check when one is
  left, so no big file is committed to a busy worker;
* the budget is a fraction of the remaining work, so the last items are spread evenly; a
  worker is topped up only once its queue fell below half the budget, so many small shards
  go out in batches rather than one message each.

Collection itself is unchanged (identical on every worker, files in path order), so node
ids, reports and the signoff do not depend on the schedule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from xdist.scheduler import LoadScheduling

#: Cost of an item besides its bytes, in bytes of hashing (~1 ms of pytest per item).
ITEM_COST = 1 << 20
#: Upper bound of the work queued on a worker beyond what it needs to keep going.
MAX_BUDGET = 1 << 30


class SizeAwareScheduling(LoadScheduling):
    """``LoadScheduling`` with cost-ordered, budgeted dispatch (see the module docstring).

    ``cost_of(nodeid)`` returns the bytes an item hashes (0 for checks that hash nothing).
    ``pending`` (read by xdist's ``DSession``) is the files still to send, largest first,
    then the checks still to send, in collection order.
    """

    def __init__(self, config: Any, log: Any = None, *, cost_of: Callable[[str], int]) -> None:
        self._files: list[int] = []
        self._checks: list[int] = []
        self._cost: list[int] = []
        self._heavy: set[int] = set()
        self._remaining = 0  # total cost of what is still to send
        self._cost_of = cost_of
        super().__init__(config, log)

    @property  # type: ignore[override]
    def pending(self) -> list[int]:
        return self._files + self._checks

    @pending.setter
    def pending(self, indices: Iterable[int]) -> None:
        self._files, self._checks, self._remaining = [], [], 0
        self._add(indices)

    def _add(self, indices: Iterable[int]) -> None:
        for index in indices:
            (self._files if index in self._heavy else self._checks).append(index)
            if self._cost:
                self._remaining += self._cost[index]
        self._files.sort(key=lambda i: (-self._cost[i], i))
        self._checks.sort()

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
        self.pending = range(len(self.collection))
        for node in self.nodes:
            self._fill(node)
        if not self._files and not self._checks:
            for node in self.nodes:
                node.shutdown()

    def check_schedule(self, node: Any, duration: float = 0) -> None:
        if node.shutting_down:
            return
        if self._files or self._checks:
            self._fill(node)
        else:
            node.shutdown()

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        self._add([self.collection.index(item)])
        for node in self.nodes:
            self.check_schedule(node)

    def remove_node(self, node: Any) -> str | None:
        """A worker went down: its unstarted items go back; returns the one it was running."""
        pending = self.node2pending.pop(node)
        if not pending:
            return None
        assert self.collection is not None
        crashitem = self.collection[pending.pop(0)]
        self._add(pending)
        for other in self.node2pending:
            self.check_schedule(other)
        return crashitem

    def _budget(self) -> int:
        nodes = max(1, len(self.node2pending))
        return max(2 * ITEM_COST, min(MAX_BUDGET, self._remaining // (4 * nodes)))

    def _fill(self, node: Any) -> None:
        """Top ``node`` up: the largest file if it is nearly free, checks in between."""
        if node.shutting_down or not (self._files or self._checks):
            return
        mine = self.node2pending[node]
        queued = sum(self._cost[i] for i in mine)
        budget = self._budget()
        if len(mine) >= 2 and queued >= budget // 2:
            return  # enough queued: top up later, in one larger batch
        send: list[int] = []
        after_file = bool(mine) and mine[-1] in self._heavy
        while self._files or self._checks:
            if len(mine) + len(send) >= 2 and queued >= budget:
                break
            if self._checks and (queued >= budget or after_file or not self._files):
                index = self._checks.pop(0)  # a check: behind a busy file, or one after each file
            else:
                index = self._files.pop(0)  # the largest file left
            after_file = index in self._heavy
            self._remaining -= self._cost[index]
            send.append(index)
            queued += self._cost[index]
        if send:
            mine.extend(send)
            node.send_runtest_some(send)


def scheduler_for(config: Any, log: Any, state: Any) -> SizeAwareScheduling:
    """The scheduler for a checkpoint run: each declared file's hash item costs its size on disk."""

    sizes: dict[str, int] = {}
    for planned in state.selected:
        if not planned.is_file:
            continue
        try:
            sizes[planned.node_id] = state.checkpoint.resolve(planned.name).stat().st_size
        except Exception:  # noqa: BLE001, S112 - unreadable or unsafe: the item itself reports it
            continue
    return SizeAwareScheduling(config, log, cost_of=lambda nodeid: sizes.get(nodeid, 0))
