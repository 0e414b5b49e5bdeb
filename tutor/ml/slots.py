"""A fair, bounded set of training slots shared by every learner of one Tutor.

Two cores cannot train thirty models at once. Trainings wait in first-come order for a slot;
a waiting learner learns their place in the queue and can still chat; a queued training can be
stopped before it ever starts. When a slot frees, the first in line takes it together with every
fit behind with the same model and settings (the same fusion key, `tutor.ml.fused`): they run as
one computation (`tutor.ml.together`), so a class that reaches the training step at once waits
for a few fits, not for thirty. While that group runs, a fit with its key that asks joins it at
its next epoch instead of queueing; or, when a slot is free, opens a second group there: a
group's loop keeps one core busy, so two groups on two cores finish sooner than one of both.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.ml.together import FitGroup


class TrainingSlots:
    """At most `capacity` trainings run at once; the others wait in arrival order."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = max(1, capacity or os.cpu_count() or 1)
        self._running = 0
        self._waiting: deque[int] = deque()
        self._tickets = itertools.count(1)
        self._condition = threading.Condition()
        self._keys: dict[int, Hashable] = {}  # ticket -> its fit's fusion key (when it has one)
        self._groups: dict[int, FitGroup] = {}  # ticket -> the group it fits with
        self._open: dict[Hashable, list[FitGroup]] = {}  # fusion key -> its running groups
        # Worker processes that run the fits (`tutor.ml.workers`), one per slot; None:
        # fits run in the learner's training thread.
        self.workers: Any = None

    def ticket(self, key: Hashable | None = None) -> int:
        """Join the queue; the ticket is used to wait, to ask the place and to leave.

        `key`: the fit's fusion key; fits with equal keys that wait together run together.
        """
        with self._condition:
            number = next(self._tickets)
            self._waiting.append(number)
            if key is not None:
                self._keys[number] = key
                self._join_open(number)
            return number

    def set_key(self, ticket: int, key: Hashable | None) -> None:
        """Give a waiting ticket its fit's fusion key (computed once it is known to wait)."""
        with self._condition:
            if key is not None and ticket in self._waiting:
                self._keys[ticket] = key
                self._join_open(ticket)

    def _join_open(self, ticket: int) -> None:
        """A waiting ticket joins the smallest running group of its key, unless a slot is free
        (then it opens a group of its own there: `_gather`) (lock held)."""
        if self._running < self.capacity or ticket not in self._waiting:
            return
        key = self._keys.get(ticket)
        ahead = itertools.takewhile(lambda other: other != ticket, self._waiting)
        if any(self._keys.get(other) != key for other in ahead):
            return  # a fit of another kind waits first: no overtaking it, or it might wait for ever
        for group in sorted(self._open.get(key, ()), key=lambda group: group.members):
            if group.offer(ticket):
                self._waiting.remove(ticket)
                self._groups[ticket] = group
                self._condition.notify_all()
                return

    def place(self, ticket: int) -> int:
        """1 when next in line (or running soon), 0 once it no longer waits."""
        with self._condition:
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return 0

    def wait(self, ticket: int, timeout: float) -> bool:
        """Wait up to `timeout` seconds for this ticket's turn; True once it holds a slot or
        fits in a group that holds one (then `fit` runs it with the group)."""
        with self._condition:
            def ready() -> bool:
                if self._running < self.capacity and self._waiting and self._waiting[0] == ticket:
                    return True
                self._join_open(ticket)  # a group may have room now, or be new
                return ticket in self._groups

            if not self._condition.wait_for(ready, timeout):
                return False
            if ticket in self._groups:
                return True
            self._waiting.popleft()
            self._running += 1
            self._gather(ticket)
            self._condition.notify_all()
            return True

    def _gather(self, ticket: int) -> None:
        """The fits waiting with `ticket`'s key join it: one group, one slot (lock held).

        With none waiting, the fit runs alone (Keras's own `fit`) when it is the only training;
        beside another one, a class is likely training: it opens a group that later fits join.
        """
        key = self._keys.get(ticket)
        if key is None:
            return
        riders = [other for other in self._waiting if self._keys.get(other) == key]
        if not riders and self._running < 2:
            return
        from tutor.ml.together import MOST_MEMBERS, FitGroup  # TensorFlow's side, loaded once a fit begins

        riders = riders[: MOST_MEMBERS - 1]
        for other in riders:
            self._waiting.remove(other)
        group = FitGroup([ticket, *riders], key, release=self._group_ended, workers=self.workers)
        for member in (ticket, *riders):
            self._groups[member] = group
        self._open.setdefault(key, []).append(group)
        group.start()

    def fit(self, ticket: int, model: Any, dataset: Any, settings: Any,
            on_update: Callable[[Any], None] | None = None, stop: Any = None) -> Any:
        """Fit `model` for this ticket, once `wait` said its turn came: with its group when it
        has one, else alone (in a worker process when the server has them)."""
        with self._condition:
            group = self._groups.get(ticket)
        if group is not None:
            result = group.join(ticket, model, dataset, settings, on_update, stop)
            if result is not None:
                return result
        if self.workers is not None:
            return self.workers.train(model, dataset, settings, on_update, stop)
        from tutor.ml import backend

        return backend.train(model, dataset, settings, on_update, stop)

    def leave(self, ticket: int) -> None:
        """Give up a place in the queue (a stopped, queued training), or in the group that took
        it meanwhile (which then does not wait for it)."""
        with self._condition:
            self._keys.pop(ticket, None)
            group = self._groups.pop(ticket, None)
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._condition.notify_all()
        if group is not None:
            group.withdraw(ticket)

    def release(self, ticket: int) -> None:
        """This ticket's training finished (or never began): the next in line may start.

        A group's slot is freed by the group once its fit together ends, not by its members.
        """
        with self._condition:
            self._keys.pop(ticket, None)
            group = self._groups.pop(ticket, None)
            if group is None:
                self._running = max(0, self._running - 1)
                self._condition.notify_all()
        if group is not None:
            group.withdraw(ticket)  # nothing for a member that joined

    def _group_ended(self, group: FitGroup) -> None:
        """A group's fit together ended: its slot is free, and its key takes no more joiners."""
        with self._condition:
            groups = self._open.get(group.key, [])
            if group in groups:
                groups.remove(group)
            if not groups:
                self._open.pop(group.key, None)
            self._running = max(0, self._running - 1)
            self._condition.notify_all()

    @property
    def keyed(self) -> int:
        """Waiting fits whose fusion key is known: the ones a freed slot can take together."""
        with self._condition:
            return sum(ticket in self._keys for ticket in self._waiting)

    @property
    def queued(self) -> int:
        with self._condition:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._condition:
            return self._running
