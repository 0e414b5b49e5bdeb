"""Runs that can be repeated: a seed per model start decides its first weights and the order of
the images in every epoch, so the same seed gives the same run, here or in a worker process;
`train again with the same start` repeats the last run; the exported notebook carries the seed.

Real data and real TensorFlow on a 2,000-image slice, two epochs a fit.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf

from tutor import Tutor
from tutor.export import build_notebook, split_code
from tutor.ml import backend, codegen, saving, seeds
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.ml.workers import TrainingWorkers
from tutor.tools import training

SLICE = 2000
SETTINGS = TrainSettings(epochs=2, train_slice=SLICE)  # raw pixels, as in the notebook
CRASH = "Something went wrong"


def fit(dataset, seed: int, settings: TrainSettings = SETTINGS):
    """A fresh model from `seed`, trained here; its validation accuracy per epoch and weights."""
    model = backend.build_model(seed=seed)
    backend.compile_model(model, settings)
    result = backend.train(model, dataset, replace(settings, seed=seed))
    return [row["val_accuracy"] for row in result.history], model.get_weights()


def to_4(values):
    return [round(value, 4) for value in values]


def say(tutor, learner, message: str):
    """One turn; a training it started is joined before the next turn."""
    reply = tutor.respond(learner, message)
    assert training.wait_for_training(learner, timeout=300)
    assert CRASH not in reply.text and reply.kind != "error", reply.text
    return reply


def test_the_same_seed_gives_the_same_run(dataset):
    first, first_weights = fit(dataset, 2024)
    second, second_weights = fit(dataset, 2024)
    assert len(first) == 2 and to_4(first) == to_4(second)
    for one, other in zip(first_weights, second_weights, strict=True):
        np.testing.assert_allclose(one, other, atol=1e-6)
    other_seed, _ = fit(dataset, 2025)
    assert other_seed != first  # another start, another curve


def test_different_seeds_start_from_different_weights():
    one, same, other = (backend.build_model(ModelSpec(hidden=((32, "relu"),)), seed=seed)
                        for seed in (7, 7, 8))
    for a, b in zip(one.get_weights(), same.get_weights(), strict=True):
        assert np.array_equal(a, b)
    kernels = [(a, b) for a, b in zip(one.get_weights(), other.get_weights(), strict=True) if a.ndim == 2]
    assert kernels and all(not np.array_equal(a, b) for a, b in kernels)
    assert seeds.model_seed(one) == 7 and seeds.starts_from(one, 7) and not seeds.starts_from(one, 8)
    # the order of the images: a permutation, another for each epoch, seed and starting step
    order = seeds.epoch_order(7, 0, 0, 1000)
    assert sorted(order.tolist()) == list(range(1000))
    assert np.array_equal(order, seeds.epoch_order(7, 0, 0, 1000))
    for other_order in (seeds.epoch_order(8, 0, 0, 1000), seeds.epoch_order(7, 0, 1, 1000),
                        seeds.epoch_order(7, 63, 0, 1000)):
        assert not np.array_equal(order, other_order)


@pytest.mark.parametrize("spec", [ModelSpec(), ModelSpec(hidden=((64, "relu"), (16, "tanh"))),
                                  ModelSpec(convolutional=True)], ids=["one-layer", "mlp", "cnn"])
def test_the_code_the_learner_sees_builds_the_same_first_weights(dataset, spec):
    """`keras.utils.set_random_seed(seed)` in a notebook, then the model's code, gives the
    weights the tutor's model started from (the tutor seeds each layer, never the process)."""
    namespace = {"tf": tf, "train_labels": dataset.train_labels}
    code = codegen.model_code(spec, seed=4242)
    assert codegen.seed_code(4242) in code and codegen.seed_from_code(code) == 4242
    exec(code, namespace)
    ours = backend.build_model(spec, seed=4242)
    for theirs, mine in zip(namespace["model"].get_weights(), ours.get_weights(), strict=True):
        assert np.array_equal(theirs, mine)
    assert codegen.with_seed(codegen.model_code(spec), 4242) == code
    experiment = code + "\n\n" + codegen.compile_code()  # one cell in a notebook, as before
    assert split_code(f"{codegen.GPU_CODE}\n\n{experiment}") == [codegen.GPU_CODE, experiment]


def test_a_saved_model_is_known_by_its_seed_and_an_unknown_start_gets_one(tutor_instance, session):
    session.model = saving.model_from_bytes(saving.model_to_bytes(backend.build_model(seed=99)))
    session.settings = TrainSettings(seed=99)
    assert seeds.model_seed(session.model) is None  # the file does not keep the tag...
    assert training.model_start(session) == 99  # ...but its layers' initializers say so
    session.settings = TrainSettings(seed=98)  # a seed that is not this model's
    session.model = saving.model_from_bytes(saving.model_to_bytes(backend.build_model(seed=99)))
    seed = training.model_start(session)  # untrained: started afresh from a new seed
    assert seed not in (98, None) and session.settings.seed == seed
    assert all(np.array_equal(a, b) for a, b in
               zip(session.model.get_weights(), backend.build_model(seed=seed).get_weights(),
                   strict=True))


def test_train_again_with_the_same_start(tutor_instance, session):
    tutor = tutor_instance
    session.settings = TrainSettings(train_slice=SLICE)
    say(tutor, session, "go to experiments")
    trained = say(tutor, session, "train for 2 epochs")
    first = session.runs[-1]
    assert first.seed is not None and session.settings.seed == first.seed
    assert f"Seed {first.seed}: `train again with the same start`" in trained.text

    reply = say(tutor, session, "train again with the same start")
    repeat = session.runs[-1]
    assert repeat.number == first.number + 1 and repeat.seed == first.seed
    assert f"seed {first.seed}" in reply.text and "Training finished" in reply.text
    assert to_4(r["val_accuracy"] for r in repeat.history) == \
        to_4(r["val_accuracy"] for r in first.history)
    assert round(repeat.final_val_accuracy, 4) == round(first.final_val_accuracy, 4)

    table = say(tutor, session, "compare runs").text  # "what seed did my run use?"
    assert table.count(f"seed {first.seed}") == 2

    say(tutor, session, "train again")  # a fresh start: a new seed
    fresh = session.runs[-1]
    assert fresh.seed is not None and fresh.seed != first.seed
    assert say(tutor, session, "same start")  # the last run now is the fresh one
    assert session.runs[-1].seed == fresh.seed

    notebook = build_notebook(session, tutor.pack)
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert codegen.seed_code(first.seed) in sources and codegen.seed_code(fresh.seed) in sources
    fits = [record for entry in session.code_log for record in entry.get("records", [])
            if record["tool"] == "train"]
    assert [record["settings"]["seed"] for record in fits] == [run.seed for run in session.runs]
    notes = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert f"The model started from seed {first.seed}." in notes


def test_the_lessons_model_gets_its_seed_in_the_notebook(tutor_instance, session):
    """The lesson builds its model from a seed of the learner's own and shows it; the export keeps it."""
    tutor = tutor_instance
    session.settings = TrainSettings(train_slice=SLICE)
    say(tutor, session, "go to architecture")
    say(tutor, session, "go to training")
    run = session.runs[-1]
    assert run.seed is not None
    cells = [cell for cell in build_notebook(session, tutor.pack).cells
             if "model = tf.keras.Sequential(" in cell.source]
    assert cells and codegen.seed_code(run.seed) in cells[0].source


def test_the_same_start_in_a_worker_process_repeats_the_run_here():
    """The first run fits in this process, its repeat in a worker: the same numbers."""
    tutor = Tutor(train_slice=SLICE, max_messages_per_minute=None)
    learner = tutor.new_session()
    say(tutor, learner, "go to experiments")
    say(tutor, learner, "train for 2 epochs")
    tutor.slots.workers = TrainingWorkers(1)
    try:
        say(tutor, learner, "repeat the run with the same seed")
        assert tutor.slots.workers._started  # the repeat ran in a worker process
    finally:
        tutor.slots.workers.close()
    here, there = learner.runs
    assert there.seed == here.seed
    assert to_4(r["val_accuracy"] for r in there.history) == to_4(r["val_accuracy"] for r in here.history)


def test_a_fit_without_a_seed_still_trains(dataset):
    model = backend.build_model()
    backend.compile_model(model, SETTINGS)
    result = backend.train(model, dataset, replace(SETTINGS, epochs=1), stop=threading.Event())
    assert len(result.history) == 1


def test_the_same_start_needs_a_run_with_a_seed(tutor_instance, session):
    say(tutor_instance, session, "go to experiments")
    reply = tutor_instance.respond(session, "train again with the same start")
    assert reply.kind == "error" and "no run to repeat" in reply.text and not session.runs
