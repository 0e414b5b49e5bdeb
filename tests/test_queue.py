"""The fair training queue through the public API: one slot, two learners.

The second learner's training waits: it is told its place once (not twice a second), it can
still ask questions while waiting, it starts when the first finishes, and Stop cancels it
before it ever trains. Real data and real TensorFlow on a slice.
"""

from __future__ import annotations

import os
import sys
import threading

import pytest

from tutor import Tutor
from tutor.tools import training


@pytest.fixture(scope="module")
def one_slot_tutor():
    return Tutor(train_slice=1000, training_slots=1, max_messages_per_minute=None)


def _at_training_step(tutor: Tutor):
    session = tutor.new_session()
    tutor.respond(session, "")
    tutor.respond(session, "go to loss and optimizer")  # builds and compiles the model
    return session


def _collect(tutor: Tutor, session, message: str, into: list) -> threading.Thread:
    def run() -> None:
        into.extend(tutor.stream(session, message))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _wait_until(condition, timeout: float = 60.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.1)):
        if condition():
            return
        event.wait(0.1)
    raise AssertionError("timed out waiting")


def test_second_learner_waits_its_turn_and_can_still_ask(one_slot_tutor):
    """The slot is held by another training (here: the test holds it, so the wait does not
    depend on how fast a real training of the slice runs on this machine)."""
    tutor = one_slot_tutor
    learner = _at_training_step(tutor)
    holder = tutor.slots.ticket()
    assert tutor.slots.wait(holder, 5.0)  # the one slot is taken
    replies: list = []
    try:
        thread = _collect(tutor, learner, "train for 1 epoch", replies)
        _wait_until(lambda: any("in the queue" in reply.text for reply in replies))
        if sys.platform.startswith("linux"):  # a training yields the CPU to chat turns (nice is per thread)
            trainer = learner.training.thread
            assert os.getpriority(os.PRIO_PROCESS, trainer.native_id) > os.getpriority(
                os.PRIO_PROCESS, threading.get_native_id())

        # while waiting, a question is answered at once and the queued training is untouched
        answer = tutor.respond(learner, "what is an epoch?")
        assert "epoch" in answer.text.lower() and answer.kind != "error"
        assert learner.training is not None and not learner.training.stop.is_set()
        assert learner.history == [] and learner.runs == []  # nothing trained while waiting
        event = threading.Event()
        event.wait(1.2)  # two more half-second polls of the queue: still one line for place 1
    finally:
        tutor.slots.release(holder)  # the other training ends: the slot is free

    thread.join(timeout=120)
    assert not thread.is_alive()
    waiting = [reply for reply in replies if "in the queue" in reply.text]
    # the place is shown when it changes, not on every half-second poll (here: once, place 1)
    assert len(waiting) == 1, [reply.text for reply in waiting]
    assert "number 1 in the queue" in waiting[0].text
    assert replies[-1].final and "Training finished" in replies[-1].text
    assert len(learner.runs) == 1
    assert len(learner.history) == 1  # one epoch, after waiting
    assert tutor.slots.running == 0


def test_two_learners_train_one_after_the_other(one_slot_tutor):
    """Two real trainings through one slot: both finish, each records its own run."""
    tutor = one_slot_tutor
    first, second = _at_training_step(tutor), _at_training_step(tutor)
    first_replies: list = []
    second_replies: list = []
    first_thread = _collect(tutor, first, "train for 2 epochs", first_replies)
    _wait_until(lambda: tutor.slots.running == 1)
    second_thread = _collect(tutor, second, "train for 1 epoch", second_replies)
    first_thread.join(timeout=120)
    second_thread.join(timeout=120)
    assert not first_thread.is_alive() and not second_thread.is_alive()
    assert first_replies[-1].final and "Training finished" in first_replies[-1].text
    assert second_replies[-1].final and "Training finished" in second_replies[-1].text
    assert len(first.runs) == 1 and len(second.runs) == 1
    assert len(first.history) == 2 and len(second.history) == 1
    assert tutor.slots.running == 0 and tutor.slots.queued == 0


def test_stop_cancels_a_queued_training_before_it_starts(one_slot_tutor):
    tutor = one_slot_tutor
    first, second = _at_training_step(tutor), _at_training_step(tutor)
    first_replies: list = []
    second_replies: list = []
    first_thread = _collect(tutor, first, "train for 3 epochs", first_replies)
    _wait_until(lambda: tutor.slots.running == 1)
    weights_before = [w.copy() for w in second.model.get_weights()]
    second_thread = _collect(tutor, second, "train for 2 epochs", second_replies)
    _wait_until(lambda: tutor.slots.queued == 1)

    assert tutor.stop(second)
    second_thread.join(timeout=30)
    assert not second_thread.is_alive()
    assert tutor.slots.queued == 0
    assert second.history == [] and second.runs == []  # it never trained, so no run
    assert all((before == after).all()
               for before, after in zip(weights_before, second.model.get_weights(), strict=True))
    final = second_replies[-1]
    assert final.final and "stop" in final.text.lower()

    training.stop_training(first)
    first_thread.join(timeout=60)
    assert not first_thread.is_alive()
    assert tutor.slots.running == 0


def test_stop_while_queued_wins_even_when_the_slot_comes_in_the_same_wait(one_slot_tutor,
                                                                          monkeypatch):
    """Stop pressed while queued, then the slot handed over before the queue looks again.

    The race a busy machine hit: the waiting thread only looked at Stop when a half-second wait
    ran out, so a slot freed within that half second started a training already stopped (one
    batch ran and a run was recorded). Here the slot comes in the very wait that sees Stop.
    """
    tutor = one_slot_tutor
    learner = _at_training_step(tutor)
    weights_before = [w.copy() for w in learner.model.get_weights()]
    wait = tutor.slots.wait

    def stop_then_hand_over(ticket: int, timeout: float) -> bool:
        assert tutor.slots.place(ticket) == 1  # still queued when Stop comes
        assert tutor.stop(learner)
        return wait(ticket, timeout)  # the slot is free: handed over at once

    monkeypatch.setattr(tutor.slots, "wait", stop_then_hand_over)
    replies = list(tutor.stream(learner, "train for 2 epochs"))
    assert training.wait_for_training(learner, timeout=30)
    assert learner.history == [] and learner.runs == []  # it never trained, so no run
    assert all((before == after).all()
               for before, after in zip(weights_before, learner.model.get_weights(), strict=True))
    assert replies[-1].final and "stop" in replies[-1].text.lower()
    assert tutor.slots.running == 0 and tutor.slots.queued == 0
