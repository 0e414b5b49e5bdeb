"""A group of queued fits with the same model and settings, run as one computation.

When a training slot frees, the queue (`tutor.ml.slots`) gives it to the first learner in line
and, with it, every learner behind whose fit has the same fusion key (`tutor.ml.fused`): a
`FitGroup`. Each member's training thread hands in its model (`join`) and waits for its own
result; once every member has joined or withdrawn (Stop pressed while queued), a runner thread
fits them together, in a worker process when the server has them, and frees the slot at the end.
A member who stops gets their model back at once; the others go on. The learner's model object
is only read by the runner while its owner waits in `join` holding the model's lock, and the
new weights are put into it by the owner's own thread.
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

# A safety net: every gathered member joins or withdraws (Stop while queued) well before. One that
# comes later still fits, alone and at once, outside the slot count.
JOIN_SECONDS = 30.0


@dataclass
class _Entry:
    model: Any
    dataset: Any
    settings: backend.TrainSettings
    on_update: Callable[[backend.TrainingUpdate], None] | None
    stop: threading.Event | None
    outcome: fused.Outcome | None = None
    error: Exception | None = None
    done: threading.Event = field(default_factory=threading.Event)


class FitGroup:
    """The members' fits, run by one thread once all are in; `release` frees the slot after."""

    def __init__(self, tickets: list[int], key: Hashable, release: Callable[[], None],
                 workers: Any = None) -> None:
        self.key = key
        self.size = len(tickets)
        self._expected = set(tickets)
        self._entries: dict[int, _Entry] = {}
        self._condition = threading.Condition()
        self._sealed = False
        self._release = release
        self._workers = workers

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"fit-together-{self.size}", daemon=True).start()

    def join(self, ticket: int, model: Any, dataset: Any, settings: backend.TrainSettings,
             on_update: Callable[[backend.TrainingUpdate], None] | None = None,
             stop: threading.Event | None = None) -> backend.TrainingResult | None:
        """Fit with the group and wait for this member's result; None when the group has already
        started without this member (then the caller fits alone)."""
        entry = _Entry(model, dataset, settings, on_update, stop)
        with self._condition:
            if self._sealed or ticket not in self._expected:
                return None
            self._expected.discard(ticket)
            self._entries[ticket] = entry
            self._condition.notify_all()
        entry.done.wait()
        if entry.error is not None:
            raise entry.error
        assert entry.outcome is not None
        if entry.outcome.weights and not entry.outcome.result.diverged:
            saving.load_state(model, entry.outcome.weights, entry.outcome.optimizer_state)
        return entry.outcome.result

    def withdraw(self, ticket: int) -> None:
        """This member will not join (its training was stopped before it began)."""
        with self._condition:
            self._expected.discard(ticket)
            self._condition.notify_all()

    def _run(self) -> None:
        with self._condition:
            self._condition.wait_for(lambda: not self._expected, JOIN_SECONDS)
            self._sealed = True
            entries = list(self._entries.values())
        try:
            if len(entries) == 1:
                self._fit_alone(entries[0])
            elif entries:
                self._fit_together(entries)
        finally:
            self._release()

    def _fit_alone(self, entry: _Entry) -> None:
        """The only member left: its own fit, as if it had been alone in the queue."""
        fit = self._workers.train if self._workers is not None else backend.train
        try:
            result = fit(entry.model, entry.dataset, entry.settings, entry.on_update, entry.stop)
            entry.outcome = fused.Outcome(result)  # the weights are in the model already
        except Exception as error:  # the member's thread reports it as a failed training
            entry.error = error
        entry.done.set()

    def _fit_together(self, entries: list[_Entry]) -> None:
        def deliver(entry: _Entry, outcome: fused.Outcome) -> None:
            entry.outcome = outcome
            entry.done.set()

        try:
            self._fit_members(entries, deliver)
        except Exception as error:  # every member still waiting hears of it
            log.exception("a fit of %d models together failed", len(entries))
            for entry in entries:
                if not entry.done.is_set():
                    entry.error = error
                    entry.done.set()
        finally:
            for entry in entries:  # a member the fit never reported on must not wait forever
                if not entry.done.is_set():
                    entry.error = RuntimeError("the fit together ended without this model's result")
                    entry.done.set()

    def _fit_members(self, entries: list[_Entry], deliver: Callable[[_Entry, fused.Outcome], None]) -> None:
        members = [
            fused.Member.from_model(
                entry.model, entry.settings.seed if entry.settings.seed is not None else new_seed(),
                on_update=entry.on_update, stop=entry.stop,
                on_done=lambda outcome, entry=entry: deliver(entry, outcome),
            )
            for entry in entries
        ]
        _, _, activations, optimizer, _, settings, validation_slice = self.key
        if self._workers is not None:
            self._workers.train_together(members, settings, activations, optimizer, validation_slice)
        else:
            fused.train_together(members, entries[0].dataset, settings, activations, optimizer,
                                 validation_slice)
