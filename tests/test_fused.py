"""Fits together (`tutor.ml.fused`): the same mathematics as each learner's own `model.fit`.

Real data, real TensorFlow, on slices: the notebook's model and an MLP, every optimizer, fitted
lone (Keras's `fit`, `backend.train`) and fused with other learners' models, from the same first
weights and seed. Then per-learner Stop and NaN, the fusion key, the queue's grouping through the
public API, and the worker process's protocol.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

from tutor import Tutor
from tutor.ml import backend, data, fused, saving
from tutor.ml.together import FitGroup
from tutor.ml.workers import TrainingWorkers

SEEDS = (11, 22, 33)


@pytest.fixture(scope="module")
def dataset():
    return data.load_dataset()


def _models(spec: backend.ModelSpec, settings: backend.TrainSettings, seeds=SEEDS):
    models = []
    for seed in seeds:
        model = backend.build_model(spec, seed=seed)
        backend.compile_model(model, settings)
        models.append(model)
    return models


def _learners_at_the_training_step(tutor: Tutor, count: int) -> list:
    """`count` learners who opened the lesson and went to the step before training."""
    sessions = []
    for _ in range(count):
        session = tutor.new_session()
        tutor.respond(session, "")
        tutor.respond(session, "go to loss and optimizer")
        sessions.append(session)
    return sessions


def _fit_together(models, dataset, settings, seeds=SEEDS, validation_slice=2000, **callbacks):
    key = fused.fusion_key(models[0], settings, validation_slice)
    assert key is not None
    members = [fused.Member.from_model(model, seed, **callbacks)
               for model, seed in zip(models, seeds, strict=True)]
    return fused.train_together(members, dataset, settings, fused.dense_activations(models[0]), key[3],
                                validation_slice)


@pytest.mark.parametrize("spec, settings, tolerance", [
    # the notebook's model and fit: raw pixels, Adam; a cooldown's last epoch at a tenth of the rate
    # Raw pixels make large logits, where rounding differences grow step by step: 32 steps here.
    (backend.ModelSpec(), backend.TrainSettings(epochs=2, train_slice=500, cooldown=True), 1e-5),
    (backend.ModelSpec(hidden=((32, "relu"),)),
     backend.TrainSettings(epochs=2, train_slice=1000, scaled=True, optimizer="rmsprop"), 2e-5),
    (backend.ModelSpec(hidden=((16, "tanh"),)),
     backend.TrainSettings(epochs=1, train_slice=1000, scaled=True, optimizer="sgd", batch_size=50), 2e-5),
])
def test_a_fused_fit_learns_what_each_lone_fit_learns(dataset, spec, settings, tolerance):
    """Same seed, same batch order: every member's weights, optimizer state and scores equal the
    lone fit's to float32 rounding (the sums run in another order, nothing else differs)."""
    lone_models = _models(spec, settings)
    outcomes = _fit_together(_models(spec, settings), dataset, settings)
    assert len(outcomes) == len(SEEDS)
    for model, seed, outcome in zip(lone_models, SEEDS, outcomes, strict=True):
        lone = backend.train(model, dataset, replace(settings, seed=seed), validation_slice=2000)
        for lone_weights, fused_weights in zip(model.get_weights(), outcome.weights, strict=True):
            assert lone_weights.shape == fused_weights.shape
            np.testing.assert_allclose(fused_weights, lone_weights, rtol=0, atol=tolerance)
        state = saving.optimizer_state(model)
        assert int(outcome.optimizer_state[0]) == int(state[0])  # the steps taken
        assert float(outcome.optimizer_state[1]) == pytest.approx(float(state[1]))  # rate restored
        for lone_slot, fused_slot in zip(state[2:], outcome.optimizer_state[2:], strict=True):
            # The moments average the last batches' gradients, and a raw-pixel model's logits
            # are large: an image whose softmax flips on a rounding-sized difference moves them
            # where it barely moves the weights. So: close as a whole (2 %), not entry by entry.
            distance = np.linalg.norm(fused_slot - lone_slot) / max(np.linalg.norm(lone_slot), 1e-12)
            assert distance < 0.02
        assert [sorted(row) for row in outcome.result.history] == [sorted(row) for row in lone.history]
        for lone_row, fused_row in zip(lone.history, outcome.result.history, strict=True):
            for name, value in lone_row.items():
                assert fused_row[name] == pytest.approx(value, rel=1e-3, abs=1e-3), name
        assert outcome.result.together == len(SEEDS) - 1
    # and the members really are different models: their own starts and orders
    assert not np.allclose(outcomes[0].weights[0], outcomes[1].weights[0])


def test_each_member_starts_where_its_own_model_left_off(dataset):
    """A model trained before (Adam's step count and moments) goes on as its own fit would."""
    settings = backend.TrainSettings(epochs=1, train_slice=640)
    first = _models(backend.ModelSpec(), settings, seeds=(5,))[0]
    backend.train(first, dataset, replace(settings, seed=5))  # 20 steps already taken
    fresh = _models(backend.ModelSpec(), settings, seeds=(6,))[0]
    grouped = [fused.Member.from_model(first, 5), fused.Member.from_model(fresh, 6)]
    outcomes = fused.train_together(grouped, dataset, settings, ("linear",), "adam")
    backend.train(first, dataset, replace(settings, seed=5))
    assert int(outcomes[0].optimizer_state[0]) == 40 and int(outcomes[1].optimizer_state[0]) == 20
    for lone_weights, fused_weights in zip(first.get_weights(), outcomes[0].weights, strict=True):
        np.testing.assert_allclose(fused_weights, lone_weights, rtol=0, atol=2e-5)


def test_a_member_who_stops_gets_their_model_at_once_and_the_others_go_on(dataset):
    settings = backend.TrainSettings(epochs=3, train_slice=3000)
    models = _models(backend.ModelSpec(), settings)
    stop = threading.Event()
    finished_while_others_ran: list[bool] = []
    order: list[int] = []

    def first_update(update: backend.TrainingUpdate) -> None:
        if update.epoch == 2:
            stop.set()  # the first learner presses Stop during the second epoch

    members = [fused.Member.from_model(models[0], SEEDS[0], stop=stop, on_update=first_update,
                       on_done=lambda outcome: order.append(0))]
    members += [fused.Member.from_model(model, seed, on_done=lambda outcome, index=index: order.append(index))
                for index, (model, seed) in enumerate(zip(models[1:], SEEDS[1:], strict=True), start=1)]
    members[0].on_done = lambda outcome: (order.append(0), finished_while_others_ran.append(len(order) == 1))
    outcomes = fused.train_together(members, dataset, settings, ("linear",), "adam")
    stopped, *others = outcomes
    assert order[0] == 0 and finished_while_others_ran == [True]
    assert stopped.result.stopped and len(stopped.result.history) == 1  # a part-done epoch is not reported
    assert all(not other.result.stopped and len(other.result.history) == 3 for other in others)
    steps = settings.steps_per_epoch(len(dataset.train_images))
    assert steps <= int(stopped.optimizer_state[0]) < 2 * steps  # its weights went no further
    assert all(int(other.optimizer_state[0]) == 3 * steps for other in others)


def test_a_member_whose_loss_turns_nan_diverges_alone(dataset):
    settings = backend.TrainSettings(epochs=2, train_slice=640)
    models = _models(backend.ModelSpec(), settings)
    members = [fused.Member.from_model(model, seed) for model, seed in zip(models, SEEDS, strict=True)]
    members[1].weights = [np.full_like(weights, np.nan) for weights in members[1].weights]
    outcomes = fused.train_together(members, dataset, settings, ("linear",), "adam")
    assert outcomes[1].result.diverged and len(outcomes[1].result.history) == 1
    for index in (0, 2):
        result = outcomes[index].result
        assert not result.diverged and len(result.history) == 2
        assert all(np.isfinite(value) for row in result.history for value in row.values())


def test_the_fusion_key_groups_the_same_model_and_settings_only():
    settings = backend.TrainSettings()
    dense = _models(backend.ModelSpec(), settings, seeds=(1, 2))
    assert fused.fusion_key(dense[0], replace(settings, seed=1)) == fused.fusion_key(
        dense[1], replace(settings, seed=2))  # another start: the same experiment
    assert fused.fusion_key(dense[0], settings) != fused.fusion_key(dense[0], replace(settings, epochs=3))
    mlp = _models(backend.ModelSpec(hidden=((128, "relu"),)), settings, seeds=(1,))[0]
    assert fused.dense_activations(mlp) == ("relu", "linear")
    assert fused.fusion_key(mlp, settings) != fused.fusion_key(dense[0], settings)
    cnn = _models(backend.ModelSpec(convolutional=True), settings, seeds=(1,))[0]
    assert fused.fusion_key(cnn, settings) is None  # a CNN fits alone
    momentum = backend.build_model(seed=3)
    import keras

    momentum.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert fused.fusion_key(momentum, settings) is None  # formulas not repeated here: alone


def test_learners_queued_with_the_same_fit_train_together_through_the_api():
    """One slot, held by the test; three learners ask to train; when it frees they fit as one,
    each told so, each with their own run recorded and a model that predicts."""
    tutor = Tutor(train_slice=600, training_slots=1, max_messages_per_minute=None)
    sessions = _learners_at_the_training_step(tutor, 3)
    holder = tutor.slots.ticket()
    assert tutor.slots.wait(holder, 5.0)
    results: dict[int, list] = {index: [] for index in range(3)}
    threads = []
    for index, session in enumerate(sessions):
        def run(session=session, into=results[index]) -> None:
            into.extend(tutor.stream(session, "train for 2 epochs"))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
    waited = threading.Event()
    for _ in range(600):
        if tutor.slots.keyed == 3:  # queued, each with its fusion key
            break
        waited.wait(0.1)
    assert tutor.slots.keyed == 3
    tutor.slots.release(holder)
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive()
    for index, session in enumerate(sessions):
        final = results[index][-1]
        assert final.kind == "training" and "Training finished" in final.text, final.text
        assert "together with 2 other" in final.text
        assert len(session.history) == 2 and len(session.runs) == 1
        assert session.runs[0].seed is not None
    for _ in range(600):  # the group frees its slot just after the last result
        if tutor.slots.running == 0:
            break
        waited.wait(0.1)
    assert tutor.slots.running == 0 and tutor.slots.queued == 0
    seeds = {session.runs[0].seed for session in sessions}
    assert len(seeds) == 3  # three starts, three models
    reply = tutor.respond(sessions[0], "show me the predictions")
    assert reply.kind != "error"


def test_a_worker_process_fits_a_group_and_forwards_each_members_stop(dataset):
    settings = backend.TrainSettings(epochs=2, train_slice=640, scaled=True)
    models = _models(backend.ModelSpec(), settings)
    lone_models = _models(backend.ModelSpec(), settings)
    stop = threading.Event()
    done: dict[int, fused.Outcome] = {}
    members = []
    for index, (model, seed) in enumerate(zip(models, SEEDS, strict=True)):
        members.append(fused.Member.from_model(
            model, seed, stop=stop if index == 2 else None,
            on_done=lambda outcome, index=index: done.__setitem__(index, outcome)))
    stop.set()  # the third learner stopped as the fit began: it ends after the first chunk
    workers = TrainingWorkers(1)
    try:
        workers.train_together(members, settings, ("linear",), "adam", None)
    finally:
        workers.close()
    assert sorted(done) == [0, 1, 2]
    assert done[2].result.stopped and not done[2].result.history
    lone = backend.train(lone_models[0], dataset, replace(settings, seed=SEEDS[0]))
    assert len(done[0].result.history) == 2
    for lone_weights, fused_weights in zip(lone_models[0].get_weights(), done[0].weights, strict=True):
        np.testing.assert_allclose(fused_weights, lone_weights, rtol=0, atol=1e-5)
    assert done[0].result.history[-1]["val_accuracy"] == pytest.approx(
        lone.history[-1]["val_accuracy"], abs=2e-3)


def _joins_at_second_epoch(joiner: fused.Member):
    """A `fused.Joiners` that brings `joiner` at the second epoch's start, and records calls."""
    calls: list[int] = []

    def joiners(running: int) -> list[fused.Member]:
        calls.append(running)
        return [joiner] if len(calls) == 2 else []

    return joiners, calls


def test_a_fit_that_joins_a_running_group_learns_what_its_lone_fit_learns(dataset):
    """A fit asked for while a group runs joins at the next epoch: its own epochs from its own
    first one, the same numbers as its lone fit; the members already fitting go on unchanged."""
    settings = backend.TrainSettings(epochs=2, train_slice=640, scaled=True)
    models = _models(backend.ModelSpec(hidden=((16, "relu"),)), settings)
    lone_models = _models(backend.ModelSpec(hidden=((16, "relu"),)), settings)
    members = [fused.Member.from_model(model, seed)
               for model, seed in zip(models[:2], SEEDS[:2], strict=True)]
    joiner = fused.Member.from_model(models[2], SEEDS[2])
    joiners, calls = _joins_at_second_epoch(joiner)
    outcomes = fused.train_together(members, dataset, settings, ("relu", "linear"), "adam", None, joiners)
    assert calls == [2, 2, 1, 0]  # first epoch: 2 fits; second: 2 + the joiner; third: the joiner's last
    assert len(outcomes) == 3
    for model, seed, outcome in zip(lone_models, SEEDS, outcomes, strict=True):
        lone = backend.train(model, dataset, replace(settings, seed=seed))
        assert len(outcome.result.history) == 2 and not outcome.result.stopped
        for lone_weights, fused_weights in zip(model.get_weights(), outcome.weights, strict=True):
            np.testing.assert_allclose(fused_weights, lone_weights, rtol=0, atol=2e-5)
        assert int(outcome.optimizer_state[0]) == int(saving.optimizer_state(model)[0])
        assert outcome.result.history[-1]["val_accuracy"] == pytest.approx(
            lone.history[-1]["val_accuracy"], abs=2e-3)
    assert [outcome.result.together for outcome in outcomes] == [2, 2, 2]


def test_a_fit_joins_a_group_running_in_a_worker_process(dataset):
    settings = backend.TrainSettings(epochs=2, train_slice=640, scaled=True)
    models = _models(backend.ModelSpec(), settings)
    lone = _models(backend.ModelSpec(), settings, seeds=SEEDS[2:])[0]
    done: dict[int, fused.Outcome] = {}
    members = [fused.Member.from_model(model, seed,
                                       on_done=lambda outcome, index=index: done.__setitem__(index, outcome))
               for index, (model, seed) in enumerate(zip(models[:2], SEEDS[:2], strict=True))]
    updates: list[backend.TrainingUpdate] = []
    joiner = fused.Member.from_model(models[2], SEEDS[2], on_update=updates.append,
                                     on_done=lambda outcome: done.__setitem__(2, outcome))
    joiners, calls = _joins_at_second_epoch(joiner)
    workers = TrainingWorkers(1)
    try:
        workers.train_together(members, settings, ("linear",), "adam", None, joiners=joiners)
    finally:
        workers.close()
    assert calls == [2, 2, 1, 0] and sorted(done) == [0, 1, 2]
    backend.train(lone, dataset, replace(settings, seed=SEEDS[2]))
    assert len(done[2].result.history) == 2 and done[2].result.together == 2
    for lone_weights, fused_weights in zip(lone.get_weights(), done[2].weights, strict=True):
        np.testing.assert_allclose(fused_weights, lone_weights, rtol=0, atol=1e-5)
    assert updates[0].epoch == 1 and updates[-1].epoch == 2 and updates[-1].epoch_done  # its own epochs


def test_a_learner_who_asks_while_a_group_trains_joins_it_instead_of_queueing():
    """One slot, taken by a group of two; a third learner asks meanwhile: no place in a queue,
    their fit joins the group at its next epoch, and the page says it ran together."""
    tutor = Tutor(train_slice=20000, training_slots=1, max_messages_per_minute=None)
    sessions = _learners_at_the_training_step(tutor, 3)
    holder = tutor.slots.ticket()
    assert tutor.slots.wait(holder, 5.0)
    results: dict[int, list] = {index: [] for index in range(3)}

    def start(index: int) -> threading.Thread:
        def run() -> None:
            results[index].extend(tutor.stream(sessions[index], "train for 4 epochs"))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    threads = [start(0), start(1)]
    waited = threading.Event()
    for _ in range(600):
        if tutor.slots.keyed == 2:
            break
        waited.wait(0.1)
    assert tutor.slots.keyed == 2
    tutor.slots.release(holder)
    for _ in range(600):  # the group of two has begun: its first progress reports arrived
        if all(any(reply.progress is not None and reply.progress.step > 0 for reply in results[index])
               for index in (0, 1)):
            break
        waited.wait(0.1)
    assert tutor.slots.running == 1
    threads.append(start(2))
    for thread in threads:
        thread.join(timeout=600)
        assert not thread.is_alive()
    assert not any("Waiting for a free training slot" in reply.text for reply in results[2])
    for index in range(3):
        final = results[index][-1]
        assert "Training finished" in final.text and "together with" in final.text, final.text
        assert len(sessions[index].history) == 4
    assert tutor.slots.queued == 0


def test_beside_another_training_a_fit_opens_a_group_that_later_fits_join():
    """Two slots, one held (another training); the first learner's fit takes the other: beside a
    training, a class is likely on its way, so it opens a group; the next two join it."""
    tutor = Tutor(train_slice=20000, training_slots=2, max_messages_per_minute=None)
    sessions = _learners_at_the_training_step(tutor, 3)
    holder = tutor.slots.ticket()
    assert tutor.slots.wait(holder, 5.0)
    results: dict[int, list] = {index: [] for index in range(3)}

    def start(index: int) -> threading.Thread:
        def run() -> None:
            results[index].extend(tutor.stream(sessions[index], "train for 6 epochs"))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    threads = [start(0)]
    waited = threading.Event()
    for _ in range(600):
        if any(reply.progress is not None and reply.progress.step > 0 for reply in results[0]):
            break
        waited.wait(0.1)
    threads += [start(1), start(2)]
    for thread in threads:
        thread.join(timeout=600)
        assert not thread.is_alive()
    for index in range(3):
        assert not any("Waiting for a free training slot" in reply.text for reply in results[index])
        final = results[index][-1]
        assert "Training finished" in final.text and "together with 2 other" in final.text, final.text
    for _ in range(600):  # the group frees its slot just after the last result
        if tutor.slots.running == 1:
            break
        waited.wait(0.1)
    assert tutor.slots.running == 1  # the held one
    tutor.slots.release(holder)


def test_with_a_slot_free_a_fit_opens_a_second_group_instead_of_joining_the_first():
    """A group's loop keeps one core busy: with a slot free, the next fit opens a group there,
    and a fit that finds no free slot joins the smaller group."""
    tutor = Tutor(train_slice=20000, training_slots=3, max_messages_per_minute=None)
    sessions = _learners_at_the_training_step(tutor, 3)
    holder = tutor.slots.ticket()
    assert tutor.slots.wait(holder, 5.0)
    results: dict[int, list] = {index: [] for index in range(3)}
    threads = []
    waited = threading.Event()
    most_running = 0
    for index in range(3):
        def run(index=index) -> None:
            results[index].extend(tutor.stream(sessions[index], "train for 6 epochs"))

        threads.append(threading.Thread(target=run, daemon=True))
        threads[-1].start()
        for _ in range(600):  # this learner's fit has begun
            if any(reply.progress is not None and reply.progress.step > 0 for reply in results[index]):
                break
            waited.wait(0.1)
        most_running = max(most_running, tutor.slots.running)
    for thread in threads:
        thread.join(timeout=600)
        assert not thread.is_alive()
    assert most_running == 3  # the held slot and two groups
    finals = [results[index][-1].text for index in range(3)]
    assert all("Training finished" in text for text in finals), finals
    assert sum("together with 1 other" in text for text in finals) == 2, finals  # one pair, one alone
    tutor.slots.release(holder)


def test_a_stop_pressed_while_waiting_to_join_leaves_the_model_as_it_was(dataset):
    """Stop pressed between asking and the group's next epoch: no step is taken, the model is
    as it was, and the group's other member did not train 'together' with it."""
    settings = backend.TrainSettings(epochs=3, train_slice=20000)
    models = _models(backend.ModelSpec(), settings, seeds=(11, 22))
    before = [weights.copy() for weights in models[1].get_weights()]
    key = fused.fusion_key(models[0], settings)
    released = threading.Event()
    group = FitGroup([1], key, release=lambda _: released.set())
    group.start()
    began = threading.Event()
    results: list[backend.TrainingResult] = []
    runner = threading.Thread(target=lambda: results.append(group.join(
        1, models[0], dataset, replace(settings, seed=11),
        on_update=lambda update: update.step > 0 and began.set())), daemon=True)
    runner.start()
    assert began.wait(300)
    assert group.offer(2)
    stop = threading.Event()
    stop.set()
    stopped = group.join(2, models[1], dataset, replace(settings, seed=22), stop=stop)
    assert stopped is not None and stopped.stopped and not stopped.history
    for old, new in zip(before, models[1].get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    runner.join(timeout=300)
    assert released.wait(60)
    assert len(results[0].history) == 3 and results[0].together == 0


def test_a_stop_pressed_before_joining_a_group_in_a_worker_ends_that_fit_at_once(dataset):
    settings = backend.TrainSettings(epochs=2, train_slice=640, scaled=True)
    models = _models(backend.ModelSpec(), settings)
    done: dict[int, fused.Outcome] = {}
    members = [fused.Member.from_model(model, seed,
                                       on_done=lambda outcome, index=index: done.__setitem__(index, outcome))
               for index, (model, seed) in enumerate(zip(models[:2], SEEDS[:2], strict=True))]
    stop = threading.Event()
    stop.set()
    joiner = fused.Member.from_model(models[2], SEEDS[2], stop=stop,
                                     on_done=lambda outcome: done.__setitem__(2, outcome))
    joiners, _calls = _joins_at_second_epoch(joiner)
    workers = TrainingWorkers(1)
    try:
        workers.train_together(members, settings, ("linear",), "adam", None, joiners=joiners)
    finally:
        workers.close()
    assert sorted(done) == [0, 1, 2]
    assert done[2].result.stopped and not done[2].result.history and done[2].result.together == 0
    assert int(done[2].optimizer_state[0]) == 0  # not one step
    assert [done[index].result.together for index in (0, 1)] == [1, 1]
