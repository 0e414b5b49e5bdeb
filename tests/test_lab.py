"""Experiments, runs and the look-inside tools, through `Tutor.respond` only.

Real data and real TensorFlow, trained on slices of the training images (one or two epochs)
so the whole file stays quick; the full-data acceptance runs live in test_experiments_full.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tutor import backend, tools
from tutor.backend import ModelSpec, TrainSettings

SLICE = TrainSettings(train_slice=3000)
CRASH = "Something went wrong"  # the agent's reply to an unexpected exception


def start(tutor, learner, settings: TrainSettings = SLICE):
    """Put a learner in the free-play step with the given settings (no lesson actions run)."""
    learner.settings = settings
    reply = tutor.respond(learner, "go to experiments")
    assert learner.state_id == "experiments", reply.text
    return learner


def say(tutor, learner, message: str):
    """One turn; a training it started is joined before the next turn."""
    reply = tutor.respond(learner, message)
    assert tools.wait_for_training(learner, timeout=300)
    assert CRASH not in reply.text, reply.text
    return reply


def weights_of(learner) -> list[np.ndarray]:
    return [np.array(array, copy=True) for array in learner.model.get_weights()]


def same_weights(first, second) -> bool:
    return len(first) == len(second) and all(
        a.shape == b.shape and np.allclose(a, b) for a, b in zip(first, second, strict=True)
    )


def snapshot(learner) -> dict:
    """Everything a refused command must leave as it was."""
    return {
        "spec": learner.model_spec,
        "settings": learner.settings,
        "model": learner.model,
        "history": list(learner.history),
        "runs": len(learner.runs),
        "state": learner.state_id,
    }


def assert_alt(plot) -> None:
    assert isinstance(plot.alt, str) and len(plot.alt) > 30, plot.alt
    assert plot.alt.strip()[-1] in ".!?", plot.alt
    assert plot.title


@pytest.fixture(scope="module")
def one_layer(tutor_instance):
    """A one-layer model on scaled pixels, trained 2 epochs on 3,000 images (read-only below)."""
    learner = start(tutor_instance, tutor_instance.new_session())
    say(tutor_instance, learner, "scale the pixels")
    reply = say(tutor_instance, learner, "train for 2 epochs")
    assert reply.kind == "training" and len(learner.history) == 2, reply.text
    yield learner
    tools.stop_training(learner)
    tools.wait_for_training(learner, timeout=60)


@pytest.fixture(scope="module")
def bounded(tutor_instance):
    """A learner with a trained model and some history, to check refusals change nothing."""
    learner = start(tutor_instance, tutor_instance.new_session())
    reply = say(tutor_instance, learner, "train for 1 epoch")
    assert len(learner.history) == 1, reply.text
    yield learner
    tools.stop_training(learner)
    tools.wait_for_training(learner, timeout=60)


# ----- experiment commands --------------------------------------------------------------------

QUICK = {"batch_size": 256, "optimizer": "adam", "learning_rate": 0.005, "steps_per_execution": 50,
         "scaled": True}

EXPERIMENTS = [
    # (commands before, command, expected spec, settings changes, phrases in the reply)
    ([], "scale the pixels", ModelSpec(), {"scaled": True}, ["Pixels scaled to 0-1", "84%"]),
    (["scale the pixels"], "use raw pixels", ModelSpec(), {"scaled": False}, ["Raw 0-255 pixels"]),
    ([], "add a hidden layer of 64 relu neurons", ModelSpec(hidden=((64, "relu"),)), {},
     ["1 hidden layer(s) (64 neurons)", "86-88%"]),
    ([], "add a hidden layer", ModelSpec(hidden=((128, "relu"),)), {},
     ["1 hidden layer(s) (128 neurons)"]),
    (["add a hidden layer of 64 relu neurons"], "add a hidden layer of 32 tanh neurons",
     ModelSpec(hidden=((64, "relu"), (32, "tanh"))), {}, ["2 hidden layer(s) (96 neurons)"]),
    (["add a hidden layer of 64 relu neurons", "add a hidden layer"], "remove the hidden layers",
     ModelSpec(), {}, ["No hidden layers"]),
    ([], "use a cnn", ModelSpec(convolutional=True), {}, ["small CNN", "one epoch", "85-88%"]),
    ([], "use sgd with learning rate 0.01", ModelSpec(), {"optimizer": "sgd", "learning_rate": 0.01},
     ["SGD", "Learning rate 0.01"]),
    ([], "set learning rate to 0.002", ModelSpec(), {"learning_rate": 0.002},
     ["Learning rate 0.002", "moderate"]),
    ([], "set batch size to 256", ModelSpec(), {"batch_size": 256},
     ["Batch size 256", "235 steps per epoch"]),
    ([], "train on 5000 images", ModelSpec(), {"train_slice": 5000},
     ["first 5,000 images", "lower validation accuracy"]),
    ([], "use all the data", ModelSpec(), {"train_slice": None}, ["all 60,000 images"]),
    ([], "quick mode on", ModelSpec(), QUICK, ["Quick mode", "256", "0.005", "50 steps"]),
    (["quick mode on"], "quick mode off", ModelSpec(),
     {"batch_size": 32, "learning_rate": None, "steps_per_execution": 1}, ["notebook's settings"]),
]


@pytest.mark.parametrize(("before", "command", "spec", "changes", "phrases"), EXPERIMENTS,
                         ids=[case[1] for case in EXPERIMENTS])
def test_experiment_command_changes_only_what_is_asked(tutor_instance, session, before, command,
                                                       spec, changes, phrases):
    start(tutor_instance, session)
    for message in before:
        assert say(tutor_instance, session, message).kind == "tool"
    settings_before, model_before = session.settings, session.model
    session.history = [{"loss": 1.0, "accuracy": 0.5}]  # a new experiment starts a fresh model

    reply = say(tutor_instance, session, command)

    assert reply.kind == "tool", reply.text
    assert session.model_spec == spec
    assert session.settings == replace(settings_before, **changes)
    assert session.model is not None and session.model is not model_before
    assert session.compiled and session.history == []
    total = backend.parameter_count(session.model)
    assert reply.text.startswith("**New experiment:**"), reply.text
    assert f"{total:,} parameters" in reply.text and spec.describe() in reply.text
    for phrase in phrases:
        assert phrase in reply.text, (phrase, reply.text)
    assert backend.model_code(spec) in reply.code
    assert backend.compile_code(session.settings) in reply.code


def test_experiment_keeps_earlier_runs_and_says_so(tutor_instance, session):
    start(tutor_instance, session, replace(SLICE, train_slice=1000))
    say(tutor_instance, session, "train for 1 epoch")
    reply = say(tutor_instance, session, "set batch size to 256")
    assert len(session.runs) == 1 and "1 earlier run(s) are kept" in reply.text


# ----- bounds: a clear refusal and nothing changed --------------------------------------------

BOUNDS = [
    ("add a hidden layer of a million units", "1 to 1,024 neurons"),
    ("add a hidden layer of 0 units", "1 to 1,024 neurons"),
    ("set learning rate to 1e9", "learning rate between"),
    ("set learning rate to -1", "learning rate between"),
    ("set batch size to 0", "batch size from 1 to 4,096"),
    ("set batch size to -5", "batch size from 1 to 4,096"),
    ("train on 10 images", "100 to 60,000 images"),
    ("train for 10000 epochs", "1 to 50 epochs"),
    ("train for -3 epochs", "1 to 50 epochs"),
    ("use adam with learning rate 5", "learning rate between"),
]


@pytest.mark.parametrize(("command", "phrase"), BOUNDS, ids=[case[0] for case in BOUNDS])
def test_out_of_bounds_is_refused_and_changes_nothing(tutor_instance, bounded, command, phrase):
    before = snapshot(bounded)
    weights = weights_of(bounded)

    reply = say(tutor_instance, bounded, command)

    assert reply.kind == "error", reply.text
    assert phrase in reply.text, reply.text
    after = snapshot(bounded)
    assert after["model"] is before["model"]
    assert after == before
    assert same_weights(weights_of(bounded), weights)


def test_a_fourth_hidden_layer_is_refused(tutor_instance, session):
    start(tutor_instance, session)
    for _ in range(3):
        say(tutor_instance, session, "add a hidden layer of 16 relu neurons")
    before = snapshot(session)
    reply = say(tutor_instance, session, "add a hidden layer")
    assert reply.kind == "error" and "Up to 3 hidden layers" in reply.text, reply.text
    assert snapshot(session) == before


# ----- runs: compare, restore, undo -----------------------------------------------------------


@pytest.fixture
def two_runs(tutor_instance, session):
    """Run 1: scaled, batch 32, 1 epoch. Run 2: scaled, batch 256, 2 epochs (1,000 images)."""
    start(tutor_instance, session, replace(SLICE, train_slice=1000))
    say(tutor_instance, session, "scale the pixels")
    first = {"spec": session.model_spec, "settings": session.settings}
    say(tutor_instance, session, "train for 1 epoch")
    say(tutor_instance, session, "set batch size to 256")
    second = {"spec": session.model_spec, "settings": session.settings}
    say(tutor_instance, session, "train for 2 epochs")
    assert [len(run.history) for run in session.runs] == [1, 2]
    return session, first, second


def test_compare_runs_table_and_figure(tutor_instance, two_runs):
    learner, _, _ = two_runs
    reply = say(tutor_instance, learner, "compare runs")
    assert reply.kind == "tool", reply.text
    lines = reply.text.splitlines()
    assert lines[0] == "| run | model | settings | epochs | time | val accuracy |"
    assert lines[1] == "|---|---|---|---|---|---|"
    for run in learner.runs:
        row = next(line for line in lines if line.startswith(f"| {run.number} |"))
        assert f"{run.final_val_accuracy:.1%}" in row and f"| {len(run.history)} |" in row
    assert "batch 32" in lines[2] and "batch 256" in lines[3]
    assert "Best so far" in reply.text
    assert len(reply.figures) == 1
    alt = reply.figures[0].alt
    assert_alt(reply.figures[0])
    assert "run 1" in alt and "run 2" in alt and "2 runs" in alt


def test_use_run_restores_spec_settings_history_and_weights(tutor_instance, two_runs):
    learner, first, second = two_runs
    run1, run2 = learner.runs

    reply = say(tutor_instance, learner, "use run 1")
    assert reply.kind == "tool" and "run 1" in reply.text, reply.text
    assert f"{run1.final_val_accuracy:.1%}" in reply.text
    assert learner.model_spec == first["spec"]
    assert learner.settings == first["settings"]
    assert learner.history == run1.history
    assert same_weights(weights_of(learner), run1.weights)
    assert not same_weights(weights_of(learner), run2.weights)

    reply = say(tutor_instance, learner, "use run 2")
    assert learner.settings == second["settings"] and learner.history == run2.history
    assert same_weights(weights_of(learner), run2.weights)


def test_undo_goes_back_to_the_run_before(tutor_instance, two_runs):
    learner, first, _ = two_runs
    run1 = learner.runs[0]
    reply = say(tutor_instance, learner, "undo")
    assert reply.kind == "tool" and "run 1" in reply.text, reply.text
    assert learner.settings == first["settings"] and learner.history == run1.history
    assert same_weights(weights_of(learner), run1.weights)

