"""The tutor through its public API only: `Tutor.respond`, `Tutor.stream` and `Tutor.stop`.

Real data and real TensorFlow; training uses a slice of the training images to stay quick
(the full-data run lives in test_training_full.py).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from tutor import Option
from tutor.ml import backend
from tutor.ml.data import CLASS_NAMES
from tutor.tools import training

SLICE = backend.TrainSettings(train_slice=3000)


def pick(reply, prefix):
    """The message of the offered option whose label starts with `prefix`."""
    for option in reply.options:
        if option.label.startswith(prefix):
            return option.message
    raise AssertionError(f"no option starting with {prefix!r} in {[o.label for o in reply.options]}")


def guess_options(reply):
    return [option for option in reply.options if re.match(r"\d: ", option.label)]


def snapshot(learner):
    """What a command that is refused must leave as it was."""
    return {
        "state_id": learner.state_id,
        "visited": list(learner.visited),
        "pending_check": learner.pending_check,
        "pending_card": learner.pending_card,
        "check_attempts": dict(learner.check_attempts),
        "checks_passed": dict(learner.checks_passed),
        "history": list(learner.history),
        "runs": len(learner.runs),
        "flashcards": len(learner.flashcard_answers),
        "model": learner.model,
    }


# ----- (1) the whole lesson by buttons alone --------------------------------------------------


def test_walkthrough_by_buttons(tutor_instance, session, dataset):
    tutor = tutor_instance
    session.settings = SLICE
    assert tutor.agent.options_for(session) == [Option("Start", "next")]

    reply = tutor.respond(session, "next")
    assert reply.state == "intro" and session.state_id == "intro"
    assert "Why build a brain?" in reply.text
    assert "no GPU" in reply.text or "GPU(s)" in reply.text
    assert "list_physical_devices" in reply.code

    reply = tutor.respond(session, pick(reply, "Next"))
    assert reply.state == "data"
    assert len(reply.figures) == 1
    assert "grid" in reply.figures[0].alt
    assert "(60000, 28, 28)" in reply.text and "(10000, 28, 28)" in reply.text
    assert "load_data()" in reply.code

    reply = tutor.respond(session, pick(reply, "Next"))
    assert reply.state == "flashcards"
    assert len(reply.figures) == 1
    hidden = reply.figures[0]
    assert "42" in hidden.alt and "hidden" in hidden.alt
    assert "Ankle boot" not in hidden.alt and "Ankle boot" not in hidden.title
    assert session.pending_card == ("train", 42)
    assert not any(o.label.startswith("Next") for o in reply.options)  # guess first
    guesses = guess_options(reply)
    assert len(guesses) == 10

    label = int(dataset.train_labels[42])
    reply = tutor.respond(session, guesses[label].message)
    assert "Right!" in reply.text
    assert "Ankle boot" in reply.text
    assert any("Ankle boot" in figure.alt for figure in reply.figures)
    assert session.pending_card == ("valid", 6174)  # the second card came with the reveal

    wrong = guess_options(reply)[(int(dataset.valid_labels[6174]) + 1) % 10]
    reply = tutor.respond(session, wrong.message)
    assert "Not quite" in reply.text and "Sneaker" in reply.text
    assert session.flashcard_score == (1, 2)

    for expected in ("neuron-math", "architecture", "summary"):
        reply = tutor.respond(session, pick(reply, "Next"))
        assert reply.state == expected
    assert "7,850" in reply.text and "784" in reply.text
    assert "model.summary()" in reply.code

    reply = tutor.respond(session, pick(reply, "Next"))
    assert reply.state == "loss"
    assert "SparseCategoricalCrossentropy(from_logits=True)" in reply.code

    reply = tutor.respond(session, pick(reply, "Next"))
    assert reply.state == "training"
    assert len(session.history) == 5
    assert len(session.runs) == 1 and not session.runs[0].stopped
    assert session.runs[0].settings.train_slice == 3000
    curves = reply.figures[-1]
    assert curves.title == "Training curves"
    assert "over 5 epochs" in curves.alt
    assert reply.progress is not None and reply.progress.done and reply.progress.epochs == 5
    assert "Training finished" in reply.text
    assert "train_images[:3000]" in reply.code

    reply = tutor.respond(session, pick(reply, "Next"))
    assert reply.state == "prediction"
    rows = re.findall(r"^\| (\d) \|.*\| ([^|]+) \|$", reply.text, flags=re.MULTILINE)
    assert [int(number) for number, _ in rows] == list(range(10))
    for number, true_name in rows:
        assert true_name.strip() == CLASS_NAMES[int(dataset.train_labels[int(number)])]
    assert len(reply.figures) == 2
    image, bars = reply.figures
    assert "8675" in image.alt
    assert bars.alt.startswith("Bar chart")
    assert "Shirt" in bars.alt
    assert CLASS_NAMES[int(dataset.train_labels[8675])] == "Shirt"
    assert "Would you have been confused too?" in reply.text

    reply = tutor.respond(session, pick(reply, "Next"))
    assert reply.state == "conclusion"
    assert "What we built" in reply.text
    assert session.visited == tutor.pack.ids[: tutor.pack.index("conclusion") + 1]


# ----- (2) flashcards -------------------------------------------------------------------------


def test_flashcard_grading(tutor_instance, session, dataset):
    tutor = tutor_instance
    tutor.respond(session, "go to flashcards")
    first, second = int(dataset.train_labels[42]), int(dataset.valid_labels[6174])

    reply = tutor.respond(session, str(first))  # by number
    assert "Right!" in reply.text and "1 of 1" in reply.text
    reply = tutor.respond(session, CLASS_NAMES[second])  # by name
    assert "Right!" in reply.text and "2 of 2" in reply.text
    assert session.pending_card is None
    assert session.pending_check == "flashcards"  # the step's question follows the cards

    tutor.respond(session, "go to flashcards")
    reply = tutor.respond(session, "Ankel boot")  # a typo of train 42's class
    assert "Right!" in reply.text and "3 of 3" in reply.text
    wrong = (second + 3) % 10
    reply = tutor.respond(session, str(wrong))
    assert "Not quite" in reply.text
    assert f"**{second}, {CLASS_NAMES[second]}**" in reply.text
    assert "3 of 4" in reply.text

    reply = tutor.respond(session, "another card")
    split, index = session.pending_card
    assert reply.kind == "flashcard" and len(reply.figures) == 1
    label = int(dataset.split(split)[1][index])
    assert CLASS_NAMES[label] not in reply.figures[0].alt
    reply = tutor.respond(session, f"it's a {CLASS_NAMES[label].lower()}")
    assert "Right!" in reply.text and "4 of 5" in reply.text
    assert session.flashcard_score == (4, 5)
    assert [answer["correct"] for answer in session.flashcard_answers] == [True, True, True, False, True]


def test_skip_a_flashcard_reveals_it(tutor_instance, session, dataset):
    tutor_instance.respond(session, "go to flashcards")
    reply = tutor_instance.respond(session, "skip")
    label = int(dataset.train_labels[42])
    assert f"label {label}, **{CLASS_NAMES[label]}**" in reply.text
    assert session.pending_card == ("valid", 6174)
    assert session.flashcard_score == (0, 0)


def test_one_more_card(tutor_instance, session):
    tutor_instance.respond(session, "go to flashcards")
    tutor_instance.respond(session, "skip")
    tutor_instance.respond(session, "skip")
    reply = tutor_instance.respond(session, "one more card")
    assert reply.kind == "flashcard"
    assert session.pending_card is not None


# ----- (3) bad commands -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("fly me to the moon", None),  # free text: the offline answerer may reply in its own words
        ("predict image 99999", "59,999"),
        ("train for 0 epochs", f"1 to {training.MAX_EPOCHS} epochs"),
        ("train for 100000 epochs", f"1 to {training.MAX_EPOCHS} epochs"),
        ("show validation image -5", "9,999"),
        ("", "whenever you're ready"),
        ("x" * 10_000, "10,000 characters"),
    ],
    ids=[
        "nonsense",
        "image-out-of-range",
        "zero-epochs",
        "too-many-epochs",
        "negative-image",
        "empty",
        "very-long",
    ],
)
def test_bad_commands_get_a_friendly_reply(tutor_instance, session, caplog, message, expected):
    tutor_instance.respond(session, "go to neuron-math")
    before = snapshot(session)
    with caplog.at_level(logging.ERROR):
        reply = tutor_instance.respond(session, message)
    assert reply.text.strip()
    if expected is not None:
        assert expected in reply.text
    assert "Traceback" not in reply.text
    assert "Something went wrong" not in reply.text  # handled on purpose, not by the catch-all
    assert reply.kind in ("help", "error", "answer")
    assert reply.state == "neuron-math"
    assert reply.options  # the learner can always go on
    assert not caplog.records
    assert snapshot(session) == before


# ----- (4) learners are separate --------------------------------------------------------------


def test_two_sessions_share_nothing(tutor_instance, dataset):
    tutor = tutor_instance
    first, second = tutor.new_session(), tutor.new_session()
    assert first.id != second.id
    first.settings = SLICE
    tutor.respond(first, "next")
    tutor.respond(second, "next")

    reply = tutor.respond(first, "train for 1 epoch")
    assert "Training finished" in reply.text
    assert len(first.history) == 1
    assert second.history == [] and second.runs == [] and second.model is None

    tutor.respond(second, "go to architecture")
    assert second.model is not None and second.model is not first.model
    assert second.history == []
    assert second.model.layers[-1].kernel is not first.model.layers[-1].kernel
    assert not np.array_equal(second.model.get_weights()[0], first.model.get_weights()[0])

    tutor.respond(first, "go to summary")
    assert first.state_id == "summary" and second.state_id == "architecture"
    tutor.respond(second, "next")
    assert first.state_id == "summary" and second.state_id == "summary"
    tutor.respond(first, "go to loss")
    assert second.state_id == "summary"
    assert "loss" not in second.visited
    assert len(first.history) == 1 and second.history == []


# ----- (5) stopping and (7) streaming ---------------------------------------------------------


def test_stop_training(tutor_instance, session):
    tutor = tutor_instance
    session.settings = SLICE
    tutor.respond(session, "next")
    replies, stopped = [], False
    for reply in tutor.stream(session, "train for 20 epochs"):
        replies.append(reply)
        if not stopped and not reply.final and reply.progress is not None:
            assert session.is_training
            stopped = tutor.stop(session)
            assert stopped
    assert training.wait_for_training(session, timeout=60)
    assert not session.is_training
    final = replies[-1]
    assert final.final
    assert "stopped early" in final.text.lower()
    assert final.progress is not None and final.progress.stopped
    run = session.runs[-1]
    assert run.stopped
    assert len(run.history) < 20
    assert len(session.history) == len(run.history)
    assert tutor.stop(session) is False  # nothing runs any more
    assert "Nothing is training" in tutor.respond(session, "stop").text


def test_stream_reports_progress(tutor_instance, session):
    tutor = tutor_instance
    session.settings = SLICE
    tutor.respond(session, "next")
    replies = list(tutor.stream(session, "train for 2 epochs"))
    progress = [reply for reply in replies if not reply.final]
    finals = [reply for reply in replies if reply.final]
    assert len(progress) >= 3
    assert all(reply.progress is not None and reply.kind == "training" for reply in progress)
    fractions = [reply.progress.fraction for reply in progress]
    assert fractions == sorted(fractions)
    assert fractions[-1] == pytest.approx(1.0)
    steps = SLICE.steps_per_epoch(60000)
    assert {reply.progress.steps for reply in progress} == {steps}
    assert {reply.progress.epochs for reply in progress} == {2}
    assert any(reply.progress.epoch == 2 for reply in progress)
    # each epoch's scores come with the progress (a page draws its live curve from them)
    assert [len(reply.progress.history) for reply in progress][-1] == 2
    assert not any(reply.figures for reply in progress)  # the full figure comes once, at the end
    assert finals[0].figures
    assert len(finals) == 1
    assert finals[0].progress.done and not finals[0].progress.stopped
    assert len(session.history) == 2
    assert replies[-1] is finals[0]


def test_commands_that_need_the_model_wait_while_it_trains(tutor_instance, session):
    tutor = tutor_instance
    session.settings = SLICE
    tutor.respond(session, "next")
    stream = tutor.stream(session, "train for 3 epochs")
    first = next(stream)
    assert not first.final and session.is_training
    reply = tutor.respond(session, "summary")
    assert "training right now" in reply.text
    assert "already training" in tutor.respond(session, "train for 2 epochs").text
    assert session.runs == []  # nothing else started
    tutor.stop(session)
    for _ in stream:
        pass
    assert training.wait_for_training(session, timeout=60)
    assert len(session.runs) == 1


# ----- (6) the check question -----------------------------------------------------------------


def test_check_question_hint_then_explanation(tutor_instance, session):
    tutor = tutor_instance
    check = tutor.pack.get("summary").check
    answer = int(check.answer)
    reply = tutor.respond(session, "go to summary")
    assert check.question in reply.text
    assert session.pending_check == "summary"

    reply = tutor.respond(session, str(answer - 10))
    assert check.hint in reply.text
    assert str(answer) not in reply.text and f"{answer:,}" not in reply.text
    assert session.pending_check == "summary"

    reply = tutor.respond(session, f"{answer + 100:,}")
    assert f"**{answer}**" in reply.text
    assert check.explanation in reply.text
    assert session.pending_check is None
    assert session.checks_passed == {"summary": False}


def test_check_question_right_and_skip(tutor_instance, session):
    tutor = tutor_instance
    check = tutor.pack.get("summary").check
    tutor.respond(session, "go to summary")
    reply = tutor.respond(session, f"{int(check.answer):,}")
    assert reply.text.startswith("**Correct!**")
    assert session.checks_passed == {"summary": True}
    assert tutor.lesson_map(session)[tutor.pack.index("summary")]["check_passed"]

    reply = tutor.respond(session, "check")
    assert check.question in reply.text
    reply = tutor.respond(session, "skip")
    assert reply.text.startswith("Skipped.")
    assert f"**{check.answer}**" in reply.text
    assert session.pending_check is None
    assert "nothing to skip" in tutor.respond(session, "skip").text


def test_choice_check_by_letter(tutor_instance, session):
    tutor = tutor_instance
    check = tutor.pack.get("intro").check
    tutor.respond(session, "next")
    letter = "abcd"[check.choices.index(check.answer)]
    wrong = "abcd"[(check.choices.index(check.answer) + 1) % len(check.choices)]
    assert "Hint" in tutor.respond(session, wrong).text
    assert "Correct" in tutor.respond(session, letter).text


def test_check_answer_in_words(tutor_instance, session):
    tutor_instance.respond(session, "go to summary")
    reply = tutor_instance.respond(session, "seven thousand eight hundred and fifty")
    assert "Correct" in reply.text
