"""Keras fits in worker processes, so a training never holds the server's Python lock.

Why: Python runs one thread at a time. On a server shared by a class, a Keras fit in a thread
is mostly Python (tracing each learner's new model, then a call per step), and py-spy showed
the fits holding Python's lock 42 % of the time under twenty learners; every chat turn waited
behind them. In a worker process the same fit uses its own interpreter and its own core.

A worker is `python -m tutor.ml.workers`: it loads the data set once, then for each
request rebuilds the learner's model from its architecture, weights, compile settings and
optimizer state, runs `backend.train` (the same fit, the same progress reports), and sends back
the new weights and optimizer state, which the server puts into the learner's own model. The
learner's model object never leaves the server, so everything else (predictions, the store,
runs) is unchanged. One worker per training slot (`tutor.ml.slots.TrainingSlots`). The seed
travels in the settings and the step count in the optimizer state, so a fit there shuffles as
the same fit here would (`tutor.ml.seeds`) and learns the same numbers.

Messages are pickles over the worker's stdin and stdout (`tutor.ipc`). A worker that dies
makes that one training fail with a clear message; the next training starts a fresh worker.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tutor.ipc import (
    answer_channel,
    read_message,
    start_helper_process,
    stop_process,
    write_message,
)

log = logging.getLogger(__name__)

WORKER_NICENESS = 10  # like training threads: chat turns first, trainings get every idle cycle


class TrainingProcessError(RuntimeError):
    """The worker process failed or died; the learner's model is as it was."""


IDLE_SECONDS = 600.0  # a worker with nothing to fit for this long exits, freeing its memory


class _Worker:
    def __init__(self) -> None:
        self.idle_seconds = IDLE_SECONDS
        self.process = start_helper_process("tutor.ml.workers", str(self.idle_seconds))
        self.write_lock = threading.Lock()
        self.last_used = time.monotonic()
        self.answered = False  # it has sent something: it started, and it can fit

    def usable(self) -> bool:
        """Alive, and not about to leave for idleness (a request must not race its exit)."""
        return (self.process.poll() is None
                and time.monotonic() - self.last_used < 0.9 * self.idle_seconds)

    def send(self, message: Any) -> None:
        assert self.process.stdin is not None
        with self.write_lock:
            write_message(self.process.stdin, message)

    def send_unless(self, finished: threading.Event, message: Any) -> None:
        """Send `message` (a Stop) only while its fit runs: checked and sent under the write lock,
        so a late Stop never reaches the next fit this worker runs."""
        assert self.process.stdin is not None
        with self.write_lock:
            if not finished.is_set():
                write_message(self.process.stdin, message)

    def end_of_fit(self, finished: threading.Event) -> None:
        """Mark a fit finished, ordered with `send_unless` (no Stop of it is sent after this)."""
        with self.write_lock:
            finished.set()

    def receive(self) -> Any:
        assert self.process.stdout is not None
        message = read_message(self.process.stdout)
        self.answered = True
        return message

    def stop(self) -> None:
        stop_process(self.process)


class _Slot:
    """One training slot's worker, None until a fit needs it (or after it left or died)."""

    def __init__(self) -> None:
        self.worker: _Worker | None = None


class TrainingWorkers:
    """`count` worker processes, one per training slot; `train` has the signature of `backend.train`.

    The workers start together with the first fit that needs one (importing TensorFlow and
    loading the data set there takes a few seconds, once), so a server that never trains (a
    test, a quiet Space) keeps no TensorFlow processes, and one that trains pays their memory
    once, whatever the number of learners. A worker leaves after `IDLE_SECONDS` without work.
    """

    # Workers that died before their first word, one after another: then this Python cannot
    # start them (no `python -m`, no memory for a second TensorFlow), and fits run in a thread.
    MOST_FAILED_STARTS = 2

    def __init__(self, count: int) -> None:
        self.failed_starts = 0
        self._slots = [_Slot() for _ in range(max(1, count))]
        self._idle: queue.Queue[_Slot] = queue.Queue()
        self._lock = threading.Lock()
        for slot in self._slots:
            self._idle.put(slot)
        atexit.register(self.close)

    @property
    def _started(self) -> list[_Worker]:
        """The worker processes that run or are starting now."""
        with self._lock:
            return [slot.worker for slot in self._slots
                    if slot.worker is not None and slot.worker.process.poll() is None]

    def close(self) -> None:
        with self._lock:
            workers = [slot.worker for slot in self._slots if slot.worker is not None]
            for slot in self._slots:
                slot.worker = None
        for worker in workers:
            worker.stop()

    def train(
        self,
        model: Any,
        dataset: Any,
        settings: Any,
        on_update: Callable[[Any], None] | None = None,
        stop: threading.Event | None = None,
        validation_slice: int | None = None,
    ) -> Any:
        """Fit `model` in a worker; the new weights and optimizer state land in `model`.

        `dataset` is not sent: the worker has loaded the same files. Raises
        TrainingProcessError when the worker fails; `model` is then untouched.
        """
        from tutor.ml.backend import train as fit_here

        if self.failed_starts >= self.MOST_FAILED_STARTS:
            return fit_here(model, dataset, settings, on_update, stop, validation_slice)
        slot = self._idle.get()  # the training slots let at most `count` trainings in
        try:
            worker = self._ready_worker(slot)
            try:
                result = self._run(worker, model, settings, on_update, stop, validation_slice)
            except (EOFError, OSError) as error:
                worker.stop()
                if worker.answered:  # it died during the fit: this training fails, not the next
                    raise TrainingProcessError(f"the training process stopped ({error})") from error
                self.failed_starts += 1
                log.warning("a training process died before it started (%s); fitting here", error)
                return fit_here(model, dataset, settings, on_update, stop, validation_slice)
            finally:
                worker.last_used = time.monotonic()
            self.failed_starts = 0
            return result
        finally:
            self._idle.put(slot)

    def train_together(self, members: list, settings: Any, activations: Any, optimizer: str,
                       validation_slice: int | None = None, joiners: Any = None) -> None:
        """Fit `fused.Member`s as one computation in a worker; each member's `on_done` gets its
        outcome (weights and optimizer state to put into its model) as soon as its fit ends.
        `joiners` (`fused.Joiners`) brings the fits that join at each epoch's start.

        Raises TrainingProcessError when the worker fails or dies.
        """
        from tutor.ml import data, fused

        def fit_here() -> None:
            fused.train_together(members, data.load_dataset(), settings, activations, optimizer,
                                 validation_slice, joiners)

        if self.failed_starts >= self.MOST_FAILED_STARTS:
            fit_here()
            return
        slot = self._idle.get()
        try:
            worker = self._ready_worker(slot)
            try:
                self._run_together(worker, members, settings, activations, optimizer, validation_slice,
                                   joiners)
            except (EOFError, OSError) as error:
                worker.stop()
                if worker.answered:  # it died during the fit: this group's training fails
                    raise TrainingProcessError(f"the training process stopped ({error})") from error
                self.failed_starts += 1
                log.warning("a training process died before it started (%s); fitting here", error)
                fit_here()
                return
            finally:
                worker.last_used = time.monotonic()
            self.failed_starts = 0
        finally:
            self._idle.put(slot)

    def _run_together(self, worker: _Worker, members: list, settings: Any, activations: Any,
                      optimizer: str, validation_slice: int | None, joiners: Any) -> None:
        from tutor.ml import fused

        members = list(members)  # grows as fits join; a member's index is its place here
        worker.send({
            "together": [_member_fields(member) for member in members],
            "settings": settings, "activations": tuple(activations), "optimizer": optimizer,
            "validation_slice": validation_slice,
        })
        finished = threading.Event()

        def forward_stops() -> None:  # a member's Stop: their fit ends, the others go on
            forwarded: set[int] = set()
            while not finished.wait(0.2):
                for index, member in enumerate(list(members)):
                    if index not in forwarded and member.stop is not None and member.stop.is_set():
                        forwarded.add(index)
                        with contextlib.suppress(OSError):  # the worker ended meanwhile
                            worker.send_unless(finished, ("stop", index))

        threading.Thread(target=forward_stops, name="train-stops", daemon=True).start()
        try:
            while True:
                kind, *rest = worker.receive()
                if kind == "update":
                    index, update = rest
                    if members[index].on_update is not None:
                        members[index].on_update(update)
                elif kind == "member_done":
                    index, result, weights, optimizer_state = rest
                    if members[index].on_done is not None:
                        members[index].on_done(fused.Outcome(result, weights, optimizer_state))
                elif kind == "boundary":  # an epoch begins: who joins? (the worker waits for this)
                    arriving = []
                    try:
                        arriving = list(joiners(rest[0])) if joiners is not None else []
                    except Exception:  # the worker must hear an answer, or it waits for ever
                        log.exception("could not gather the fits joining a group")
                    # sent before the new members are in `members`: a Stop forwarded for one of
                    # them then always finds its place in the worker
                    worker.send(("join", [_member_fields(member) for member in arriving]))
                    members.extend(arriving)
                elif kind == "error":
                    raise TrainingProcessError(rest[0])
                else:  # "done": every member has had its outcome
                    return
        finally:
            worker.end_of_fit(finished)

    def _ready_worker(self, slot: _Slot) -> _Worker:
        """This slot's worker, after starting one for every slot that lacks a usable one.

        A slot in use by another fit always has a usable worker, and a worker is only replaced
        under the lock, so no running fit loses its process.
        """
        with self._lock:
            if slot.worker is None or not slot.worker.usable():
                for other in self._slots:
                    in_use = other is not slot and other not in self._idle.queue
                    if in_use or (other.worker is not None and other.worker.usable()):
                        continue
                    if other.worker is not None:
                        other.worker.stop()
                    other.worker = _Worker()
            assert slot.worker is not None
            return slot.worker

    def _run(self, worker: _Worker, model: Any, settings: Any,
             on_update: Callable[[Any], None] | None, stop: threading.Event | None,
             validation_slice: int | None) -> Any:
        from tutor.ml import saving

        worker.send({
            "architecture": model.to_json(),
            "compile": model.get_compile_config(),
            "weights": model.get_weights(),
            "optimizer_state": saving.optimizer_state(model),
            "settings": settings,
            "validation_slice": validation_slice,
        })
        finished = threading.Event()

        def forward_stop() -> None:  # Stop pressed: the worker's fit ends after its batch
            while not finished.is_set():
                if stop is not None and stop.wait(0.2):
                    with contextlib.suppress(OSError):  # the worker ended meanwhile
                        worker.send_unless(finished, "stop")
                    return

        watcher = threading.Thread(target=forward_stop, name="train-stop", daemon=True)
        watcher.start()
        try:
            while True:
                kind, *rest = worker.receive()
                if kind == "update":
                    if on_update is not None:
                        on_update(rest[0])
                elif kind == "error":
                    raise TrainingProcessError(rest[0])
                else:  # "done"
                    result, weights, optimizer_state = rest
                    if not result.diverged:
                        saving.load_state(model, weights, optimizer_state)
                    return result
        finally:
            worker.end_of_fit(finished)


def _member_fields(member: Any) -> dict:
    """What a worker needs of a `fused.Member` (its callbacks stay on the server)."""
    return {"weights": member.weights, "optimizer_state": member.optimizer_state, "seed": member.seed,
            "stopped": member.stop is not None and member.stop.is_set()}


def _stop_event(fields: dict) -> threading.Event:
    """A member's Stop in the worker, already set when it was pressed before the member came."""
    event = threading.Event()
    if fields.get("stopped"):
        event.set()
    return event


def _serve(idle_seconds: float) -> None:
    """The worker: requests in on stdin, progress and results out on stdout."""
    import keras

    from tutor.ml import backend, data, saving

    answers = answer_channel()
    requests: queue.Queue = queue.Queue()
    stop = threading.Event()
    member_stops: list[threading.Event] = []  # the Stop of each member of the group being fitted
    joining: queue.Queue = queue.Queue()  # the server's answers to "who joins at this epoch?"

    def read_requests() -> None:
        while True:
            try:
                message = read_message(sys.stdin.buffer)
            except EOFError:  # the server closed the pipe or died: finish and exit
                stop.set()
                for member_stop in member_stops:
                    member_stop.set()
                joining.put([])
                requests.put(None)
                return
            if message == "stop":
                stop.set()
            elif isinstance(message, tuple) and message[0] == "stop":  # one member of a group
                with contextlib.suppress(IndexError):
                    member_stops[message[1]].set()
            elif isinstance(message, tuple) and message[0] == "join":  # fits joining a group
                member_stops.extend(_stop_event(fields) for fields in message[1])
                joining.put(message[1])
            else:  # cleared here, in pipe order: a stop sent after this request stays set
                stop.clear()
                if "together" in message:
                    member_stops[:] = [_stop_event(fields) for fields in message["together"]]
                requests.put(message)

    threading.Thread(target=read_requests, name="requests", daemon=True).start()
    dataset = data.load_dataset()
    while True:
        try:
            request = requests.get(timeout=idle_seconds)
        except queue.Empty:
            return  # idle for long: leave; the server starts a new worker when it needs one
        if request is None:
            return
        if "together" in request:
            _fit_together(request, dataset, answers, member_stops, joining)
            continue
        try:
            model = keras.models.model_from_json(request["architecture"])
            model.compile_from_config(request["compile"])
            saving.load_state(model, request["weights"], request["optimizer_state"])
            result = backend.train(
                model, dataset, request["settings"],
                on_update=lambda update: write_message(answers, ("update", update)),
                stop=stop, validation_slice=request["validation_slice"],
            )
            write_message(answers, ("done", result, model.get_weights(),
                                    saving.optimizer_state(model)))
        except Exception as error:  # reported to the learner as a failed training
            log.exception("training failed in the worker")
            write_message(answers, ("error", f"{type(error).__name__}: {error}"))


def _fit_together(request: dict, dataset: Any, answers: Any, stops: list[threading.Event],
                  joining: queue.Queue) -> None:
    """A group's fit in the worker: each member's progress and outcome sent as they come; at
    each epoch's start, the server says which fits join (`stops` grows with them)."""
    from tutor.ml import fused

    count = 0

    def member(fields: dict) -> fused.Member:
        nonlocal count
        index, count = count, count + 1
        return fused.Member(
            weights=fields["weights"], optimizer_state=fields["optimizer_state"], seed=fields["seed"],
            on_update=lambda update: write_message(answers, ("update", index, update)),
            stop=stops[index],
            on_done=lambda outcome: write_message(answers, (
                "member_done", index, outcome.result, outcome.weights, outcome.optimizer_state)),
        )

    def joiners(running: int) -> list[fused.Member]:
        write_message(answers, ("boundary", running))
        return [member(fields) for fields in joining.get()]

    try:
        fused.train_together([member(fields) for fields in request["together"]],
                             dataset, request["settings"], request["activations"],
                             request["optimizer"], request["validation_slice"], joiners)
        write_message(answers, ("done",))
    except Exception as error:  # reported to every member still waiting as a failed training
        log.exception("a fit together failed in the worker")
        write_message(answers, ("error", f"{type(error).__name__}: {error}"))


if __name__ == "__main__":
    with contextlib.suppress(OSError):  # not allowed: normal priority
        os.nice(WORKER_NICENESS)
    _serve(float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_SECONDS)
