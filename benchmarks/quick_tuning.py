"""How quick mode's learning-rate schedule was chosen, without peeking at the validation images.

Candidates (batch size, Adam step, a per-epoch schedule) are fitted on the first 50,000
training images and scored on the last 10,000 training images (the dev split); only the chosen
one is then checked on the real split (60,000 / the 10,000 validation images) with --full.
Each candidate is fitted `R` times (environment variable, default 4), interleaved, and the
median final accuracy and fit time are printed. 5 epochs, `steps_per_execution=50`, scaled pixels.

    python benchmarks/quick_tuning.py                          # every candidate, dev split
    python benchmarks/quick_tuning.py "last/10" const          # candidates whose name matches
    R=5 python benchmarks/quick_tuning.py --full "b256 5e-3"   # the real split
    python benchmarks/quick_tuning.py --mlp ...                # Dense(128, relu) instead

Measured on 2 busy cores (dev split, median of 4): constant Adam(5e-3) 0.8489 (0.842-0.853);
halving every epoch 0.8462; cosine 0.8500; the last epoch at a tenth ("last/10") 0.8541-0.8544
(0.852-0.857); with Adam(1e-2) 0.8568; batch 512 with 1e-2 and last/10 0.8544. On the full split
(median of 5): constant 0.8416 (0.8355-0.8433), last/10 0.8449 (0.8431-0.8461), 1e-2 last/10
0.8459; the MLP (median of 3): constant 0.8735, last/10 0.8781, 1e-2 last/10 0.8763. Quick mode
keeps 5e-3 (better for the MLP) and adds the last-epoch tenth.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def half(rate, epoch, epochs):
    return rate * 0.5**epoch


def cosine(rate, epoch, epochs):
    return rate * 0.5 * (1 + math.cos(math.pi * epoch / epochs))


def linear(rate, epoch, epochs):
    return rate * (epochs - epoch) / epochs


def last_tenth(rate, epoch, epochs):
    return rate if epoch < epochs - 1 else rate * 0.1


CANDIDATES = {  # name: (batch size, Adam step, schedule or None for a constant step)
    "b256 5e-3 const": (256, 5e-3, None),
    "b256 5e-3 half": (256, 5e-3, half),
    "b256 1e-2 half": (256, 1e-2, half),
    "b256 5e-3 cos": (256, 5e-3, cosine),
    "b256 5e-3 lin": (256, 5e-3, linear),
    "b256 5e-3 last/10": (256, 5e-3, last_tenth),
    "b256 1e-2 last/10": (256, 1e-2, last_tenth),
    "b512 1e-2 half": (512, 1e-2, half),
    "b512 1e-2 cos": (512, 1e-2, cosine),
    "b512 1e-2 last/10": (512, 1e-2, last_tenth),
    "b512 5e-3 last/10": (512, 5e-3, last_tenth),
    "b1024 2e-2 last/10": (1024, 2e-2, last_tenth),
    "b128 5e-3 half": (128, 5e-3, half),
}


def main(argv: list[str]) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import keras

    from tutor.ml import backend, data

    dataset = data.load_dataset()
    images, labels = dataset.scaled("train"), dataset.train_labels
    full = "--full" in argv
    if full:
        x, y, vx, vy = images, labels, dataset.scaled("valid"), dataset.valid_labels
    else:
        x, y, vx, vy = images[:50000], labels[:50000], images[50000:], labels[50000:]
    spec = backend.ModelSpec(hidden=((128, "relu"),)) if "--mlp" in argv else backend.ModelSpec()

    class Schedule(keras.callbacks.Callback):
        def __init__(self, rate_at):
            super().__init__()
            self.rate_at = rate_at

        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = self.rate_at(epoch)

    def fit(batch, rate, schedule, epochs=5):
        settings = backend.TrainSettings(epochs=epochs, scaled=True, batch_size=batch,
                                         learning_rate=rate, steps_per_execution=50)
        model = backend.build_model(spec)
        backend.compile_model(model, settings)
        callbacks = [Schedule(lambda epoch: schedule(rate, epoch, epochs))] if schedule else []
        started = time.perf_counter()
        history = model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0,
                            validation_data=(vx, vy), callbacks=callbacks)
        return time.perf_counter() - started, history.history["val_accuracy"]

    wanted = [argument for argument in argv if not argument.startswith("--")]
    names = [name for name in CANDIDATES if not wanted or any(want in name for want in wanted)]
    repeats = int(os.environ.get("R", "4"))
    fit(256, 5e-3, None, epochs=1)  # warm-up
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            seconds, curve = fit(*CANDIDATES[name])
            gc.collect()
            results[name].append((seconds, curve[-1]))
            print(f"{name:20s} {seconds:5.2f} s  {curve[-1]:.4f}  {[round(v, 4) for v in curve]}",
                  flush=True)
    split = "full 60,000 / 10,000 validation" if full else "dev: train[:50000] -> train[50000:]"
    print(f"== {split}, {'MLP' if spec.hidden else 'one layer'}, median of {repeats}")
    for name in names:
        accuracies = sorted(accuracy for _, accuracy in results[name])
        print(f"{name:20s} median {statistics.median(s for s, _ in results[name]):5.2f} s  "
              f"median acc {statistics.median(accuracies):.4f}  all {[round(a, 4) for a in accuracies]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
