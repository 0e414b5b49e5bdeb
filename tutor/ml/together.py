"""A group of fits with the same model and settings, run as one computation, open to more.

When a training slot frees, the queue (`tutor.ml.slots`) gives it to the first learner in line
and, with it, every learner behind whose fit has the same fusion key (`tutor.ml.fused`): a
`FitGroup`. Each member's training thread hands in its model (`join`) and waits for its own
result. Once the members gathered have joined or withdrawn (Stop pressed while queued), a runner
thread fits them together, in a worker process when the server has them. While it runs, the
group stays open: a fit with the same key that asks later is offered to it (`offer`) and joins
at the next epoch's start, instead of waiting for a slot. The group frees its slot once no
member has an epoch left and no one is on the way. A member who stops gets their model back at
once; the others go on. The learner's model object is only read by the runner while its owner
waits in `join` holding the model's lock, and the new weights are put into it by the owner's
own thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from tutor.ml import backend, fused, saving
from tutor.ml.seeds import new_seed

log = logging.getLogger(__name__)

# A safety net: a fit offered to the group joins or withdraws (Stop while queued) as soon as its
# learner's thread gets there (it may first wait for the learner's own command to finish with
# the model). One that comes later than this still fits alone, outside the slot count.
JOIN_SECONDS = 30.0
MOST_MEMBERS = 40  # models in one computation: beyond, an epoch gets long for everyone in it


@dataclass(eq=False)  # entries are told apart by identity
class _Entry:
    model: Any
    dataset: Any
    settings: backend.TrainSettings
    on_update: Callable[[backend.TrainingUpdate], None] | None
    stop: threading.Event | None
    outcome: fused.Outcome | None = None
    error: Exception | None = None
    alone: bool = False  # the group ended before this fit began: it fits alone after all
    done: threading.Event = field(default_factory=threading.Event)


class FitGroup:
    """The members' fits, run by one thread; open to fits of the same key until it ends, when
    `release` frees the slot."""

    def __init__(self, tickets: list[int], key: Hashable, release: Callable[[FitGroup], None],
                 workers: Any = None, most: int = MOST_MEMBERS) -> None:
        self.key = key
        self.most = most
        self._expected = set(tickets)  # offered, not joined yet
        self._arrived: list[_Entry] = []  # joined, waiting for the next epoch's start
        self._taken: list[_Entry] = []  # fitting (or done)
        self._condition = threading.Condition(threading.RLock())
        self._started = False
        self._closed = False
        self._release = release
        self._workers = workers

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"fit-together-{len(self._expected)}", daemon=True).start()

    @property
    def members(self) -> int:
        """The fits in the group now: on their way, arrived, or fitting."""
        with self._condition:
            return len(self._expected) + len(self._arrived) + sum(
                not entry.done.is_set() for entry in self._taken)

    def offer(self, ticket: int) -> bool:
        """Take a fit that asks while the group runs; False when it has ended or is full."""
        with self._condition:
            if self._closed or self.members >= self.most:
                return False
            self._expected.add(ticket)
            return True

    def join(self, ticket: int, model: Any, dataset: Any, settings: backend.TrainSettings,
             on_update: Callable[[backend.TrainingUpdate], None] | None = None,
             stop: threading.Event | None = None) -> backend.TrainingResult | None:
        """Fit with the group and wait for this member's result; None when the group has ended
        without this member (then the caller fits alone)."""
        entry = _Entry(model, dataset, settings, on_update, stop)
        with self._condition:
            if self._closed or ticket not in self._expected:
                return None
            self._expected.discard(ticket)
            self._arrived.append(entry)
            self._condition.notify_all()
        while not entry.done.wait(0.2):
            if stop is not None and stop.is_set() and self._leave(entry):
                return backend.TrainingResult(stopped=True)  # stopped before it began: model as it was
        if entry.alone:
            return None
        if entry.error is not None:
            raise entry.error
        assert entry.outcome is not None
        if entry.outcome.weights and not entry.outcome.result.diverged:
            saving.load_state(model, entry.outcome.weights, entry.outcome.optimizer_state)
        return entry.outcome.result

    def _leave(self, entry: _Entry) -> bool:
        """Take back a fit that waits for the next epoch (its Stop was pressed); False once
        the group has taken it (then the fit's own Stop ends it)."""
        with self._condition:
            if entry not in self._arrived:
                return False
            self._arrived.remove(entry)
            self._condition.notify_all()
            return True

    def withdraw(self, ticket: int) -> None:
        """This member will not join (its training was stopped before it began)."""
        with self._condition:
            self._expected.discard(ticket)
            self._condition.notify_all()

    def _take(self, running: int) -> list[fused.Member]:
        """The fits that join at this epoch's start (`fused.Joiners`; `running`: the fits going
        on). The first time, every member gathered; with none going on, whoever is on the way,
        and when no one is, the group ends."""
        with self._condition:
            if not self._started:
                self._started = True
                self._condition.wait_for(lambda: not self._expected, JOIN_SECONDS)
            elif not running:
                self._condition.wait_for(lambda: self._arrived or not self._expected, JOIN_SECONDS)
            entries, self._arrived = self._arrived, []
            if not entries and not running:
                self._closed = True  # from now on, offers and late joins go elsewhere
            self._taken.extend(entries)
        members = []
        for entry in entries:
            try:
                members.append(self._member(entry))
            except Exception as error:  # its model could not be read: that training fails alone
                entry.error = error
                entry.done.set()
        return members

    def _member(self, entry: _Entry) -> fused.Member:
        def deliver(outcome: fused.Outcome) -> None:
            entry.outcome = outcome
            entry.done.set()

        return fused.Member.from_model(
            entry.model, entry.settings.seed if entry.settings.seed is not None else new_seed(),
            on_update=entry.on_update, stop=entry.stop, on_done=deliver)

    def _run(self) -> None:
        try:
            first = self._take(0)
            if first:
                self._fit(first, self._taken[0])
        except Exception as error:  # every member still waiting hears of it
            log.exception("a fit of models together failed")
            self._fail(error)
        finally:
            # a member the fit never reported on must not wait forever
            self._fail(RuntimeError("the fit together ended without this model's result"))
            self._release(self)

    def _fit(self, first: list[fused.Member], entry: _Entry) -> None:
        _, _, activations, optimizer, _, settings, validation_slice = self.key
        if self._workers is not None:
            self._workers.train_together(first, settings, activations, optimizer, validation_slice,
                                         joiners=self._take)
        else:
            fused.train_together(first, entry.dataset, settings, activations, optimizer,
                                 validation_slice, joiners=self._take)

    def _fail(self, error: Exception) -> None:
        """End the group: every fit it took and did not report on fails with `error`; a fit
        that had not begun yet fits alone instead."""
        with self._condition:
            self._closed = True
            taken, waiting, self._arrived = list(self._taken), self._arrived, []
        for entry in waiting:
            entry.alone = True
            entry.done.set()
        for entry in taken:
            if not entry.done.is_set():
                entry.error = error
                entry.done.set()
