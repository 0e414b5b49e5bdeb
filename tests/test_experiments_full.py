"""The experiments' acceptance on all 60,000 training images, through `Tutor.respond` only.

- "scale the pixels", "add a hidden layer of 128 relu neurons", "train for 5 epochs": median
  validation accuracy of three fresh learners >= 0.86;
- then, in the first of them, "use a cnn", "train for 1 epoch": >= 0.85 (one run);
- "quick mode on" with the one-layer model, "train for 5 epochs": median of three >= 0.84, and
  its fits take at most 0.3x the seed fit's (raw pixels, batch 32), measured side by side (a
  guard against regressions: benchmarks/training.py measures the issue's 0.2x).

Several minutes on a 2-core CPU; the durations are printed so they can be quoted.
"""

from __future__ import annotations

import statistics
import time

import pytest

from tutor.ml import backend
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.tools import training

pytestmark = pytest.mark.slow

REPEATS = 3
# Quick mode with a constant Adam(5e-3) step ended at 0.817-0.846 (median 0.838): the last steps
# jumped around the minimum. With the last epoch at a tenth of the step (the cooldown, chosen on a
# split of the training images, not on these validation images) 14 runs on the full data ended at
# 0.8431-0.8463 (median 0.8447), so 0.84 is a strict bound.
QUICK_GOAL = 0.84
# The time goal is 0.2x the seed fit, measured by benchmarks/training.py. On the shared
# 2-core machine four side-by-side measurements gave medians of 0.11, 0.13, 0.15 and 0.24 (load
# 3-18; single pairs 0.13-0.31), so this test only guards against a regression.
QUICK_TIME_GUARD = 0.3


def fresh(tutor):
    """A new learner on all the data (whatever BRAIN_TUTOR_TRAIN_SLICE says), in free play."""
    learner = tutor.new_session()
    learner.settings = TrainSettings()
    tutor.respond(learner, "go to experiments")
    return learner


def run(tutor, learner, commands: list[str]) -> dict:
    """Send the commands; the last one trains. What came out, and how long it took."""
    for command in commands[:-1]:
        reply = tutor.respond(learner, command)
        assert reply.kind == "tool", (command, reply.text)
    started = time.perf_counter()
    reply = tutor.respond(learner, commands[-1])
    wall = time.perf_counter() - started
    assert training.wait_for_training(learner, timeout=600)
    assert reply.kind == "training", reply.text
    last = learner.runs[-1]
    return {
        "learner": learner,
        "run": last,
        "val_accuracy": last.final_val_accuracy,
        "curve": [round(row["val_accuracy"], 4) for row in last.history],
        "fit_seconds": last.seconds,
        "wall_seconds": wall,
    }


def report(capsys, title: str, results: list[dict]) -> None:
    with capsys.disabled():
        print(f"\n{title}")
        for number, result in enumerate(results, start=1):
            print(f"  run {number}: val_accuracy {result['val_accuracy']:.4f} "
                  f"(per epoch {result['curve']}), fit {result['fit_seconds']:.1f} s, "
                  f"turn {result['wall_seconds']:.1f} s")
        if len(results) > 1:
            median = statistics.median(result["val_accuracy"] for result in results)
            print(f"  median val_accuracy {median:.4f}")


def stop_all(results: list[dict]) -> None:
    for result in results:
        training.stop_training(result["learner"])
        training.wait_for_training(result["learner"], timeout=60)


@pytest.fixture(scope="module")
def hidden_layer(tutor_instance):
    commands = ["scale the pixels", "add a hidden layer of 128 relu neurons", "train for 5 epochs"]
    results = [run(tutor_instance, fresh(tutor_instance), commands) for _ in range(REPEATS)]
    yield results
    stop_all(results)


@pytest.fixture(scope="module")
def quick(tutor_instance, dataset):
    """Three quick-mode learners, each run right after a seed fit, so the times pair up."""
    commands = ["quick mode on", "train for 5 epochs"]
    results = []
    for _ in range(REPEATS):
        model = backend.build_model()
        backend.compile_model(model, TrainSettings())
        seed = backend.train(model, dataset, TrainSettings())
        results.append(run(tutor_instance, fresh(tutor_instance), commands))
        results[-1]["seed_fit_seconds"] = seed.seconds
    yield results
    stop_all(results)


def test_hidden_layer_on_scaled_pixels_reaches_86_percent(hidden_layer, capsys):
    report(capsys, "scaled pixels + Dense(128, relu), batch 32, Adam, 5 epochs, 60,000 images:",
           hidden_layer)
    for result in hidden_layer:
        learner, done = result["learner"], result["run"]
        assert learner.model_spec == ModelSpec(hidden=((128, "relu"),))
        assert done.settings == TrainSettings(scaled=True)  # only what was asked changed
        assert len(done.history) == 5 and not done.stopped and not done.diverged
    finals = [result["val_accuracy"] for result in hidden_layer]
    assert statistics.median(finals) >= 0.86, finals


def test_cnn_one_epoch_reaches_85_percent(tutor_instance, hidden_layer, capsys):
    learner = hidden_layer[0]["learner"]  # the order: after the hidden-layer run
    result = run(tutor_instance, learner, ["use a cnn", "train for 1 epoch"])
    report(capsys, "scaled pixels + small CNN, batch 32, Adam, 1 epoch, 60,000 images:", [result])
    assert learner.model_spec == ModelSpec(convolutional=True)
    assert result["run"].settings == TrainSettings(epochs=1, scaled=True)
    assert len(result["run"].history) == 1 and not result["run"].diverged
    assert result["val_accuracy"] >= 0.85, result["curve"]


def test_quick_mode_one_layer_reaches_84_percent_in_a_fraction_of_the_seed_fit(quick, capsys):
    report(capsys, "quick mode (scaled, batch 256, Adam 0.005, last epoch 0.0005, 50 steps per "
           "call), one layer, 5 epochs, 60,000 images:", quick)
    for result in quick:
        done = result["run"]
        assert result["learner"].model_spec == ModelSpec()
        assert done.settings == TrainSettings(batch_size=256, learning_rate=0.005, scaled=True,
                                              steps_per_execution=50, cooldown=True)
        assert len(done.history) == 5 and not done.diverged
    finals = [result["val_accuracy"] for result in quick]
    quick_seconds = statistics.median(result["fit_seconds"] for result in quick)
    seed_seconds = statistics.median(result["seed_fit_seconds"] for result in quick)
    with capsys.disabled():
        print(f"  seed fits (raw, batch 32) {[round(r['seed_fit_seconds'], 1) for r in quick]} s: "
              f"quick/seed {quick_seconds / seed_seconds:.3f}")
    assert statistics.median(finals) >= QUICK_GOAL, finals
    assert quick_seconds <= QUICK_TIME_GUARD * seed_seconds, (quick_seconds, seed_seconds)
