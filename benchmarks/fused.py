"""Fits together (`tutor.ml.fused`) against lone fits: the same accuracy, and what they cost.

Why this exists: a class's fits run as one computation only if each learner gets what their own
`model.fit` would give. tests/test_fused.py checks the mathematics step by step on slices; here,
on the full data and the notebook's settings (raw pixels, batch 32, Adam, 5 epochs), the final
validation accuracies of `--runs` lone fits (Keras's `fit`, `backend.train`) and of `--runs`
models fitted in one group are compared as distributions (medians; goal: within 0.01). Both use
the same seeds (paired: the same first weights and orders), since a raw-pixel fit's accuracy
swings by a few points from seed to seed; over 9,375 steps the rounding differences still
carry each pair apart, so the pairs are not copies. The times are printed side by side: the
lone fits one after another, the group at once, and their ratio; then one epoch of groups of
1, 10 and 30 models against one lone epoch, to show how the cost grows with the class.

    python benchmarks/fused.py                  # 5 + 5 fits and the scaling rows (a few minutes)
    python benchmarks/fused.py --runs 3 --epochs 1 --sizes 1,10   # quicker
    python benchmarks/fused.py --json artifacts/fused.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tutor.ml import backend, data, fused

GOAL_MEDIAN_GAP = 0.01


def _compiled(seed: int, settings: backend.TrainSettings):
    model = backend.build_model(seed=seed)
    backend.compile_model(model, settings)
    return model


def _member(seed: int, settings: backend.TrainSettings) -> fused.Member:
    return fused.Member.from_model(_compiled(seed, settings), seed)


def lone_fits(dataset, settings: backend.TrainSettings, seeds: list[int]) -> tuple[list[float], list[float]]:
    """Final validation accuracies and seconds of lone fits, one after another."""
    accuracies, seconds = [], []
    for seed in seeds:
        model = _compiled(seed, settings)
        started = time.perf_counter()
        result = backend.train(model, dataset, replace(settings, seed=seed))
        seconds.append(time.perf_counter() - started)
        accuracies.append(result.history[-1]["val_accuracy"])
        print(f"  lone  seed {seed:>4}  val_accuracy {accuracies[-1]:.4f}  {seconds[-1]:6.1f} s", flush=True)
    return accuracies, seconds


def group_fit(dataset, settings: backend.TrainSettings, seeds: list[int]) -> tuple[list[float], float]:
    """Final validation accuracies of one group of models, and the group's seconds."""
    members = [_member(seed, settings) for seed in seeds]
    started = time.perf_counter()
    outcomes = fused.train_together(members, dataset, settings, ("linear",), settings.optimizer)
    seconds = time.perf_counter() - started
    accuracies = [outcome.result.history[-1]["val_accuracy"] for outcome in outcomes]
    for seed, accuracy in zip(seeds, accuracies, strict=True):
        print(f"  group seed {seed:>4}  val_accuracy {accuracy:.4f}", flush=True)
    print(f"  group of {len(seeds)}: {seconds:6.1f} s", flush=True)
    return accuracies, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="lone fits, and models in the group (5)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per fit (5, the notebook's)")
    parser.add_argument("--sizes", default="1,10,30", help="group sizes for the one-epoch rows")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    arguments = parser.parse_args(argv)
    dataset = data.load_dataset()
    settings = backend.TrainSettings(epochs=arguments.epochs)
    warm = replace(settings, epochs=1, train_slice=256)
    backend.train(_compiled(1, warm), dataset, replace(warm, seed=1))  # TensorFlow's first graphs
    group_fit(dataset, warm, [1, 2])

    runs, epochs = arguments.runs, arguments.epochs
    print(f"\n{runs} lone fits and a group of {runs}, {epochs} epoch(s), full data")
    lone_accuracies, lone_seconds = lone_fits(dataset, settings, [101 + i for i in range(arguments.runs)])
    group_accuracies, group_seconds = group_fit(dataset, settings, [101 + i for i in range(arguments.runs)])
    gap = abs(statistics.median(lone_accuracies) - statistics.median(group_accuracies))
    print(f"\nmedian val_accuracy: lone {statistics.median(lone_accuracies):.4f}, "
          f"together {statistics.median(group_accuracies):.4f}, gap {gap:.4f} "
          f"(goal <= {GOAL_MEDIAN_GAP}: {'met' if gap <= GOAL_MEDIAN_GAP else 'NOT MET'})")
    lone_median = statistics.median(lone_seconds)
    print(f"time: lone fits one after another {sum(lone_seconds):.1f} s (median {lone_median:.1f} s each), "
          f"the group {group_seconds:.1f} s: {group_seconds / lone_median:.2f}x one lone fit")

    rows = []
    one_epoch = replace(settings, epochs=1)
    _, lone_epoch = lone_fits(dataset, one_epoch, [301])
    for size in (int(part) for part in arguments.sizes.split(",") if part):
        _, seconds = group_fit(dataset, one_epoch, [400 + i for i in range(size)])
        rows.append({"models": size, "seconds": seconds, "per_lone_epoch": seconds / lone_epoch[0]})
    print(f"\none epoch, full data: lone (Keras fit) {lone_epoch[0]:.1f} s")
    for row in rows:
        ratio = row["per_lone_epoch"]
        print(f"  group of {row['models']:>2}: {row['seconds']:6.1f} s  = {ratio:.2f}x a lone epoch"
              f"  ({ratio / row['models']:.3f}x per model)")
    if arguments.json:
        arguments.json.write_text(json.dumps({
            "lone_accuracies": lone_accuracies, "group_accuracies": group_accuracies, "median_gap": gap,
            "lone_seconds": lone_seconds, "group_seconds": group_seconds, "lone_epoch_seconds": lone_epoch[0],
            "groups": rows}, indent=2))
    return 0 if gap <= GOAL_MEDIAN_GAP else 1


if __name__ == "__main__":
    sys.exit(main())
