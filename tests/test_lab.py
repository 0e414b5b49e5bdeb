"""Experiments, runs and the look-inside tools, through `Tutor.respond` only.

Real data and real TensorFlow, trained on slices of the training images (one or two epochs)
so the whole file stays quick; the full-data acceptance runs live in test_experiments_full.py.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tutor.ml import backend, codegen
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.tools import lab, lesson, training

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
    assert training.wait_for_training(learner, timeout=300)
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
    training.stop_training(learner)
    training.wait_for_training(learner, timeout=60)


@pytest.fixture(scope="module")
def bounded(tutor_instance):
    """A learner with a trained model and some history, to check refusals change nothing."""
    learner = start(tutor_instance, tutor_instance.new_session())
    reply = say(tutor_instance, learner, "train for 1 epoch")
    assert len(learner.history) == 1, reply.text
    yield learner
    training.stop_training(learner)
    training.wait_for_training(learner, timeout=60)


# ----- experiment commands --------------------------------------------------------------------

QUICK = {"batch_size": 256, "optimizer": "adam", "learning_rate": 0.005, "steps_per_execution": 50,
         "scaled": True, "cooldown": True}

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
    ([], "quick mode on", ModelSpec(), QUICK,
     ["Quick mode", "256", "0.005", "ten times smaller for the last epoch", "50 steps"]),
    (["quick mode on"], "quick mode off", ModelSpec(),
     {"batch_size": 32, "learning_rate": None, "steps_per_execution": 1, "cooldown": False},
     ["notebook's settings"]),
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
    assert codegen.model_code(spec) in reply.code
    assert codegen.compile_code(session.settings) in reply.code


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



def test_undo_after_an_untrained_change_goes_back_to_the_last_run(tutor_instance, two_runs):
    learner, _, second = two_runs
    run2 = learner.runs[-1]
    say(tutor_instance, learner, "set learning rate to 0.002")
    assert learner.history == [] and learner.settings.learning_rate == 0.002

    reply = say(tutor_instance, learner, "undo")

    assert reply.kind == "tool" and "run 2" in reply.text, reply.text
    assert learner.model_spec == second["spec"] and learner.settings == second["settings"]
    assert learner.history == run2.history
    assert same_weights(weights_of(learner), run2.weights)
    assert len(learner.runs) == 2  # going back is not a new run


def test_use_a_run_that_does_not_exist(tutor_instance, two_runs):
    learner, _, _ = two_runs
    before = snapshot(learner)
    weights = weights_of(learner)
    reply = say(tutor_instance, learner, "use run 99")
    assert reply.kind == "error", reply.text
    assert "there is no run 99" in reply.text and "I have runs 1, 2" in reply.text, reply.text
    assert snapshot(learner) == before and snapshot(learner)["model"] is before["model"]
    assert same_weights(weights_of(learner), weights)


@pytest.mark.parametrize(("command", "phrase"), [
    ("compare runs", "No runs yet"),
    ("use run 1", "no finished run"),
])
def test_runs_are_refused_before_any_training(tutor_instance, session, command, phrase):
    start(tutor_instance, session)
    say(tutor_instance, session, "scale the pixels")
    before = snapshot(session)
    reply = say(tutor_instance, session, command)
    assert reply.kind == "error", reply.text
    assert phrase in reply.text, reply.text
    assert not reply.figures
    assert snapshot(session) == before


def test_undo_before_any_training_takes_back_the_last_setting(tutor_instance, session):
    """With no run to go back to, "undo" takes back the learner's last change of settings."""
    start(tutor_instance, session)
    scaled_before = session.settings.scaled
    say(tutor_instance, session, "scale the pixels" if not scaled_before else "use raw pixels")
    assert session.settings.scaled != scaled_before
    reply = say(tutor_instance, session, "undo")
    assert reply.kind != "error", reply.text
    assert session.settings.scaled == scaled_before and not session.runs


# ----- divergence: NaN is explained and undone ------------------------------------------------

BLOW_UP = ["use raw pixels", "add a hidden layer of 128 linear neurons", "use sgd with learning rate 1"]


@pytest.fixture
def diverged(tutor_instance, session):
    """Raw pixels, a linear hidden layer and SGD with rate 1: NaN in the first epoch."""
    start(tutor_instance, session, replace(SLICE, train_slice=1000))
    for message in BLOW_UP:
        assert say(tutor_instance, session, message).kind == "tool"
    before = {"weights": weights_of(session), "history": list(session.history),
              "model": session.model, "spec": session.model_spec, "settings": session.settings}
    reply = say(tutor_instance, session, "train for 2 epochs")
    return session, before, reply


def test_a_diverging_training_is_explained_and_undone(diverged):
    learner, before, reply = diverged
    assert reply.kind == "error", reply.text
    assert "NaN" in reply.text and "put back the model" in reply.text, reply.text
    assert learner.model is before["model"]
    assert same_weights(weights_of(learner), before["weights"])
    assert all(np.isfinite(array).all() for array in weights_of(learner))
    assert learner.history == before["history"]
    assert learner.model_spec == before["spec"] and learner.settings == before["settings"]
    run = learner.runs[-1]
    assert run.diverged and run.weights is None and len(run.history) == 1
    assert not learner.is_training


def test_compare_runs_marks_the_failed_run(tutor_instance, diverged):
    learner, _, _ = diverged
    reply = say(tutor_instance, learner, "compare runs")
    assert reply.kind == "tool", reply.text
    row = next(line for line in reply.text.splitlines() if line.startswith("| 1 |"))
    assert "(failed: NaN)" in row, row
    for figure in reply.figures:
        assert_alt(figure)


def test_a_failed_run_is_never_the_best_so_far(tutor_instance, diverged):
    learner, _, _ = diverged
    reply = say(tutor_instance, learner, "compare runs")
    assert "Best so far" not in reply.text, reply.text


# ----- look inside ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlp(tutor_instance):
    """A model with a hidden layer, trained 1 epoch on 1,000 scaled images."""
    learner = start(tutor_instance, tutor_instance.new_session(), replace(SLICE, train_slice=1000))
    say(tutor_instance, learner, "scale the pixels")
    say(tutor_instance, learner, "add a hidden layer of 16 relu neurons")
    reply = say(tutor_instance, learner, "train for 1 epoch")
    assert len(learner.history) == 1, reply.text
    yield learner
    training.stop_training(learner)
    training.wait_for_training(learner, timeout=60)


def validation_accuracy(learner, dataset) -> tuple[int, float]:
    """Right answers on the 10,000 validation images, counted here without the tutor."""
    logits = backend.predict_logits(learner.model, dataset.scaled("valid"))
    correct = int((logits.argmax(axis=1) == dataset.valid_labels).sum())
    return correct, correct / len(dataset.valid_labels)


def test_weight_maps_of_the_one_layer_model(tutor_instance, one_layer):
    reply = say(tutor_instance, one_layer, "show weight maps")
    assert reply.kind == "tool", reply.text
    assert len(reply.figures) == 1
    assert_alt(reply.figures[0])
    assert "28 by 28" in reply.figures[0].alt and "Trouser" in reply.figures[0].alt
    assert "get_weights()" in reply.code


def test_weight_maps_are_refused_for_a_hidden_layer_model(tutor_instance, mlp):
    before = snapshot(mlp)
    reply = say(tutor_instance, mlp, "show weight maps")
    assert reply.kind == "error" and "one-layer model" in reply.text, reply.text
    assert not reply.figures and snapshot(mlp) == before


def test_confusion_matrix_mentions_the_accuracy(tutor_instance, one_layer, dataset):
    correct, accuracy = validation_accuracy(one_layer, dataset)
    reply = say(tutor_instance, one_layer, "confusion matrix")
    assert reply.kind == "tool", reply.text
    assert f"right on {correct:,} of 10,000" in reply.text, reply.text
    assert len(reply.figures) == 1
    alt = reply.figures[0].alt
    assert_alt(reply.figures[0])
    assert f"{accuracy * 100:.1f}%" in alt and f"{correct:,}" in alt, alt


def test_most_confident_mistakes_gallery(tutor_instance, one_layer, dataset):
    correct, _ = validation_accuracy(one_layer, dataset)
    reply = say(tutor_instance, one_layer, "show mistakes")
    assert reply.kind == "tool", reply.text
    assert f"wrong on {10000 - correct:,} of 10,000" in reply.text, reply.text
    assert len(reply.figures) == 1
    gallery = reply.figures[0]
    assert_alt(gallery)
    assert gallery.alt.startswith("The model's most confident mistakes: 10 images"), gallery.alt
    assert "said" in gallery.alt and "is" in gallery.alt


def test_filters_are_refused_for_a_model_without_convolutions(tutor_instance, one_layer):
    before = snapshot(one_layer)
    reply = say(tutor_instance, one_layer, "show filters")
    assert reply.kind == "error" and "belong to the CNN" in reply.text, reply.text
    assert not reply.figures and snapshot(one_layer) == before


def test_filters_of_a_trained_cnn(tutor_instance, session):
    start(tutor_instance, session, replace(SLICE, train_slice=2000))
    say(tutor_instance, session, "scale the pixels")
    say(tutor_instance, session, "use a cnn")
    reply = say(tutor_instance, session, "train for 1 epoch")
    assert len(session.history) == 1, reply.text

    reply = say(tutor_instance, session, "show filters")

    assert reply.kind == "tool", reply.text
    assert len(reply.figures) == 2
    for figure in reply.figures:
        assert_alt(figure)
    assert "32 images" in reply.figures[0].alt and "filter 0" in reply.figures[0].alt
    assert "validation image 0" in reply.figures[1].title and "32 images" in reply.figures[1].alt
    assert "validation image 0" in reply.text


def test_you_vs_the_model_after_two_flashcards(tutor_instance, mlp, dataset):
    reply = say(tutor_instance, mlp, "you vs the model")
    assert reply.kind == "error" and "flashcards first" in reply.text, reply.text

    mlp.rng.seed(7)
    cards = []
    for right in (True, False):
        say(tutor_instance, mlp, "another card")
        split, index = mlp.pending_card
        images, labels = dataset.split(split)
        truth = int(labels[index])
        guess = truth if right else (truth + 1) % 10
        say(tutor_instance, mlp, str(guess))
        inputs = lesson.model_inputs(mlp, images[index : index + 1])
        said = int(backend.predict_logits(mlp.model, inputs).argmax())
        cards.append((split, index, guess, said, truth))

    reply = say(tutor_instance, mlp, "you vs the model")

    assert reply.kind == "tool", reply.text
    lines = reply.text.splitlines()
    assert lines[0] == "| card | you said | model said | truth |" and lines[1] == "|---|---|---|---|"
    names = lesson.CLASS_NAMES
    for split, index, guess, said, truth in cards:
        assert f"| {split} {index} | {names[guess]} | {names[said]} | {names[truth]} |" in lines
    model_right = sum(said == truth for _, _, _, said, truth in cards)
    assert "You: **1 of 2**" in reply.text and f"The model: **{model_right} of 2**" in reply.text


LOOK_INSIDE = [
    ("show weight maps", "weight_maps"),
    ("confusion matrix", "confusion_matrix"),
    ("show mistakes", "mistakes"),
    ("show filters", "cnn_filters"),
    ("you vs the model", "you_vs_model"),
]


@pytest.mark.parametrize(("command", "tool_name"), LOOK_INSIDE, ids=[case[0] for case in LOOK_INSIDE])
def test_look_inside_before_training_is_refused(tutor_instance, session, command, tool_name):
    start(tutor_instance, session)
    say(tutor_instance, session, "use a cnn" if tool_name == "cnn_filters" else "scale the pixels")
    before = snapshot(session)
    reply = say(tutor_instance, session, command)
    assert reply.kind == "error", reply.text
    assert "Train your model first" in reply.text, reply.text
    assert not reply.figures and snapshot(session) == before


# ----- the lesson steps beyond the notebook ---------------------------------------------------

STEPS = ["scaling", "hidden-layer", "convolution", "experiments", "what-it-learned"]


@pytest.mark.parametrize("state_id", STEPS)
def test_going_to_a_step_beyond_the_notebook(tutor_instance, session, state_id):
    start(tutor_instance, session)
    reply = say(tutor_instance, session, f"go to {state_id}")
    assert session.state_id == state_id, reply.text
    assert tutor_instance.pack.get(state_id).title in reply.text, reply.text
    for figure in reply.figures:
        assert_alt(figure)


def test_what_it_learned_before_training(tutor_instance, session):
    start(tutor_instance, session)
    reply = say(tutor_instance, session, "go to what-it-learned")
    assert "A trained model is not a black box" in reply.text, reply.text
    assert "Train your model first" in reply.text
    assert not reply.figures


def test_what_it_learned_after_training(tutor_instance, session):
    start(tutor_instance, session, replace(SLICE, train_slice=1000, scaled=True))
    say(tutor_instance, session, "train for 1 epoch")
    assert len(session.history) == 1

    reply = say(tutor_instance, session, "go to what-it-learned")

    assert session.state_id == "what-it-learned"
    assert "A trained model is not a black box" in reply.text and "Train your model first" not in reply.text
    assert [figure.title for figure in reply.figures] == [
        "Weights into each output neuron", "Confusion matrix", "The model's most confident mistakes"]
    for figure in reply.figures:
        assert_alt(figure)


# ----- quick mode's cooldown and the input pipeline ----------------------------------------------

def test_quick_mode_cools_down_in_the_last_epoch_only():
    quick = TrainSettings(epochs=5, scaled=True, **lab.QUICK)
    assert [quick.rate_at(epoch) for epoch in range(5)] == pytest.approx(
        [0.005, 0.005, 0.005, 0.005, 0.0005])
    assert replace(quick, epochs=1).rate_at(0) == 0.005  # one epoch: no cooldown
    assert TrainSettings(epochs=5).rate_at(4) == 0.001  # no cooldown asked: Adam's default
    assert replace(quick, optimizer="sgd", learning_rate=None).rate_at(4) == pytest.approx(0.001)


def test_the_fit_code_shows_the_cooldown_it_runs():
    code = codegen.fit_code(TrainSettings(epochs=5, scaled=True, **lab.QUICK))
    assert "callbacks=[tf.keras.callbacks.LearningRateScheduler(" in code
    assert "lambda epoch: 0.005 if epoch < 4 else 0.0005)]" in code
    compile(code, "<fit code>", "exec")  # valid Python as the learner sees it
    assert "callbacks" not in codegen.fit_code(TrainSettings(epochs=1, scaled=True, **lab.QUICK))
    assert "callbacks" not in codegen.fit_code(TrainSettings())


def test_a_cooldown_fit_uses_the_small_step_last_then_restores_the_rate(dataset):
    settings = TrainSettings(epochs=2, scaled=True, train_slice=1000, **lab.QUICK)
    model = backend.build_model()
    backend.compile_model(model, settings)
    seen = []
    original = model.optimizer.learning_rate

    def record(update):
        if update.epoch_done:
            seen.append(float(np.asarray(original)))

    result = backend.train(model, dataset, settings, on_update=record, validation_slice=500)
    assert seen == pytest.approx([0.005, 0.0005])  # read at the end of each epoch
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.005)
    assert len(result.history) == 2
    assert set(result.history[-1]) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_the_input_pipeline_gives_every_image_once_per_epoch_shuffled(dataset):
    images, labels = dataset.train_images, dataset.train_labels
    pipeline = backend.input_pipeline(images, labels, batch_size=64, shuffle=True, count=1000)
    assert pipeline.options().autotune.enabled is False  # no model thread for fit to wait on
    epochs = []
    for _ in range(2):
        batches = list(pipeline.as_numpy_iterator())
        assert [len(batch_labels) for _, batch_labels in batches] == [64] * 15 + [40]
        seen = np.concatenate([batch_images for batch_images, _ in batches])
        seen_labels = np.concatenate([batch_labels for _, batch_labels in batches])
        order = np.argsort([image.tobytes() for image in seen], kind="stable")
        expected = np.argsort([image.tobytes() for image in images[:1000]], kind="stable")
        assert np.array_equal(seen[order], images[:1000][expected])  # each image once
        assert sorted(seen_labels.tolist()) == sorted(labels[:1000].tolist())
        epochs.append(seen)
    assert not np.array_equal(epochs[0], epochs[1])  # a fresh order every epoch
    in_order = list(backend.input_pipeline(images, labels, 256, shuffle=False,
                                           count=300).as_numpy_iterator())
    assert np.array_equal(np.concatenate([batch for batch, _ in in_order]), images[:300])
