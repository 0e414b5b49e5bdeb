"""A fair, bounded set of training slots shared by every learner of one Tutor.

Two cores cannot train thirty models at once. Trainings wait in first-come order for a slot;
a waiting learner learns their place in the queue and can still chat; a queued training can be
stopped before it ever starts.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from typing import Any


class TrainingSlots:
    """At most `capacity` trainings run at once; the others wait in arrival order."""

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = max(1, capacity or os.cpu_count() or 1)
        self._running = 0
        self._waiting: deque[int] = deque()
        self._tickets = itertools.count(1)
        self._condition = threading.Condition()
        # Worker processes that run the fits (`tutor.ml.workers`), one per slot; None:
        # fits run in the learner's training thread.
        self.workers: Any = None

    def ticket(self) -> int:
        """Join the queue; the ticket is used to wait, to ask the place and to leave."""
        with self._condition:
            number = next(self._tickets)
            self._waiting.append(number)
            return number

    def place(self, ticket: int) -> int:
        """1 when next in line (or running soon), 0 once it no longer waits."""
        with self._condition:
            try:
                return self._waiting.index(ticket) + 1
            except ValueError:
                return 0

    def wait(self, ticket: int, timeout: float) -> bool:
        """Wait up to `timeout` seconds for this ticket's turn; True once it holds a slot."""
        with self._condition:
            ready = self._condition.wait_for(
                lambda: self._running < self.capacity and self._waiting and self._waiting[0] == ticket,
                timeout,
            )
            if ready:
                self._waiting.popleft()
                self._running += 1
                self._condition.notify_all()
            return bool(ready)

    def leave(self, ticket: int) -> None:
        """Give up a place in the queue (a stopped, queued training)."""
        with self._condition:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._condition.notify_all()

    def release(self) -> None:
        """A running training finished: the next in line may start."""
        with self._condition:
            self._running = max(0, self._running - 1)
            self._condition.notify_all()

    @property
    def queued(self) -> int:
        with self._condition:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._condition:
            return self._running
