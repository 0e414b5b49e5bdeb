"""Does `model.fit` return promptly after its last epoch? Keras's array pipeline vs the tutor's.

The issue: a CNN fit sometimes returned 9-20 s after its last epoch, the main thread waiting in
a tf.data iterator's destructor. The cause, from gdb's native stacks taken during such a wait:
the main thread was in `RootDataset::Iterator::~Iterator` -> `UnboundedThreadPool::
LogicalThreadWrapper::~LogicalThreadWrapper` -> `Notification::WaitForNotification`, i.e. joining
the iterator's tf.data autotuning thread, which sat in `model::Model::OptimizeLoop`, in a timed
wait on its condition variable, not woken by the cancellation. That thread exists whenever
autotuning is on (the default). Why the cancellation did not end its wait at once was not
pinned down (closing such an iterator by hand after 6 s of reading took 0.001 s); the waits seen,
seconds to tens of seconds after a minute-long CNN epoch, fit a timed wait run out. Given arrays,
Keras 3 builds an autotuned pipeline (parallel map, AUTOTUNE prefetch) and swaps in a fresh
iterator at the end of every epoch; the one destroyed when `fit` returned is what blocked.
The tutor's `backend.train` feeds `fit` its own `tf.data.Dataset` with autotuning off
(`backend.input_pipeline`), so there is no such thread to wait for.

Measured on 2 busy cores (load 6-7), CNN, batch 32, 1 epoch, interleaved: Keras arrays, the gap
from the last epoch's end to `fit` returning 14.8, 0.07 and 24.5 s (earlier runs: 6.2, 17.1 s);
the tutor's pipeline 0.013, 0.018, 0.008 s. Same accuracy (0.867-0.872 both ways).

Two measurements, interleaved in one process:

1. Iterators: read batches from an iterator over each pipeline for `--read` seconds (as a
   training epoch does), then close it; the seconds the close takes.
2. The small CNN (1 epoch; `--models cnn,one` adds the one-layer model, 5 epochs), fitted by
   plain `model.fit` on arrays ("keras arrays") and by `backend.train` ("tutor pipeline"); for
   each fit, the seconds from the last `on_epoch_end` to `on_train_end` and from `on_train_end`
   to `fit` returning. With --stacks, a gap over 2 s dumps every Python thread's stack; with
   --gdb FILE, gdb writes every native stack to FILE.

    python benchmarks/cnn_teardown.py                      # both, 3 repeats
    python benchmarks/cnn_teardown.py --iterators-only     # the iterator closes only (seconds)
    python benchmarks/cnn_teardown.py --slice 10000 --repeats 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def measure_iterators(dataset, repeats: int, batch: int, seconds: float) -> dict[str, list[float]]:
    """Seconds to close an iterator after reading batches from it for `seconds`."""
    import tensorflow as tf
    from keras.src.backend.tensorflow.trainer import TFEpochIterator

    from tutor.ml import backend

    images, labels = dataset.scaled("train"), dataset.train_labels
    closes: dict[str, list[float]] = {"keras arrays": [], "tutor pipeline": []}
    for _ in range(repeats):
        for name in closes:
            if name == "keras arrays":
                epochs = TFEpochIterator(x=images, y=labels, batch_size=batch, shuffle=True,
                                         distribute_strategy=tf.distribute.get_strategy())
                pipeline = epochs._get_iterator()
            else:
                pipeline = backend.input_pipeline(images, labels, batch, shuffle=True)
            iterator = iter(pipeline)
            batches, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:  # like a training loop, slower
                next(iterator)
                batches += 1
                time.sleep(0.005)
            gc.collect()
            started = time.perf_counter()
            del iterator
            closes[name].append(time.perf_counter() - started)
            print(f"  read {batches:5d} batches in {seconds:g} s, then close the iterator of the "
                  f"{name:14s} {closes[name][-1]:6.3f} s", flush=True)
    return closes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterators-only", action="store_true", help="skip the fits")
    parser.add_argument("--fits-only", action="store_true", help="skip the iterator closes")
    parser.add_argument("--stacks", action="store_true", help="dump stacks when a gap is over 2 s")
    parser.add_argument("--gdb", type=Path, default=None, metavar="FILE",
                        help="when a gap is over 2 s, write gdb's native stacks of all threads here")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--read", type=float, default=5.0,
                        help="seconds of reading batches before closing an iterator (5)")
    parser.add_argument("--spe", type=int, default=1, help="steps_per_execution (1)")
    parser.add_argument("--slice", type=int, default=None, help="train on the first N images")
    parser.add_argument("--models", default="cnn", help="comma list of cnn,one (cnn)")
    arguments = parser.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import keras

    from tutor.ml import backend, data

    dataset = data.load_dataset()
    report = []
    if not arguments.fits_only:
        print("closing iterators ...", flush=True)
        closes = measure_iterators(dataset, arguments.repeats, arguments.batch, arguments.read)
        for name, values in closes.items():
            report.append(f"close an iterator, {name:14s}: median {statistics.median(values):6.3f} s, "
                          f"max {max(values):6.3f} s ({len(values)} runs)")
    if arguments.iterators_only:
        print("\n" + "\n".join(report))
        return 0

    marks: dict[str, float] = {}
    timers: list[threading.Timer] = []

    class Marks(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks["epoch_end"] = time.perf_counter()
            if arguments.stacks:
                faulthandler.dump_traceback_later(2.0, exit=False)
            if arguments.gdb:
                timers.append(threading.Timer(2.0, _native_stacks, (arguments.gdb,)))
                timers[-1].start()

        def on_train_end(self, logs=None):
            marks["train_end"] = time.perf_counter()

    print("fits ...", flush=True)
    gaps: dict[tuple[str, str], list[float]] = {}
    for model_name in arguments.models.split(","):
        spec = backend.ModelSpec(convolutional=model_name == "cnn")
        epochs = 1 if model_name == "cnn" else 5
        settings = backend.TrainSettings(epochs=epochs, scaled=True, batch_size=arguments.batch,
                                         steps_per_execution=arguments.spe,
                                         train_slice=arguments.slice)
        for number in range(arguments.repeats):
            for way in ("keras arrays", "tutor pipeline"):
                model = backend.build_model(spec)
                backend.compile_model(model, settings)
                marks.clear()
                started = time.perf_counter()
                if way == "keras arrays":
                    train_x, train_y, valid_x, valid_y = backend.training_arrays(dataset, settings)
                    history = model.fit(train_x, train_y, epochs=epochs,
                                        batch_size=settings.batch_size, verbose=0,
                                        validation_data=(valid_x, valid_y), callbacks=[Marks()])
                    accuracy = history.history["val_accuracy"][-1]
                else:
                    result = _train_with_marks(backend, dataset, model, settings, Marks())
                    accuracy = result.history[-1]["val_accuracy"]
                returned = time.perf_counter()
                faulthandler.cancel_dump_traceback_later()
                for timer in timers:
                    timer.cancel()
                to_end = marks["train_end"] - marks["epoch_end"]
                to_return = returned - marks["train_end"]
                gaps.setdefault((model_name, way), []).append(to_end + to_return)
                print(f"  {model_name:3s} {way:14s} run {number + 1}: fit {returned - started:6.2f} s, "
                      f"last epoch end -> train end {to_end:6.3f} s, train end -> fit returned "
                      f"{to_return:6.3f} s, val_acc {accuracy:.3f}", flush=True)
                del model
                gc.collect()
    for (model_name, way), values in gaps.items():
        report.append(f"{model_name:3s} fit, {way:14s}: after-last-epoch gap median "
                      f"{statistics.median(values):6.3f} s, max {max(values):6.3f} s "
                      f"({len(values)} fits)")
    load = os.getloadavg()
    print(f"\nload (1/5 min) {load[0]:.1f}/{load[1]:.1f} on {os.cpu_count()} CPUs")
    print("\n".join(report))
    return 0


def _train_with_marks(backend, dataset, model, settings, marks_callback):
    """`backend.train`, with the marks callback riding on its progress callback."""
    original = backend._progress_callback

    def with_marks(*args, **kwargs):
        callback = original(*args, **kwargs)
        callback.on_epoch_end = _chain(callback.on_epoch_end, marks_callback.on_epoch_end)
        callback.on_train_end = _chain(callback.on_train_end, marks_callback.on_train_end)
        return callback

    backend._progress_callback = with_marks
    try:
        return backend.train(model, dataset, settings)
    finally:
        backend._progress_callback = original


def _native_stacks(path: Path) -> None:
    """Every thread's native stack, from gdb attached to this very process."""
    with path.open("a") as out:
        subprocess.run(["gdb", "-p", str(os.getpid()), "-batch", "-ex", "thread apply all bt 25"],
                       stdout=out, stderr=subprocess.STDOUT, timeout=60, check=False)


def _chain(first, second):
    def both(*args, **kwargs):
        first(*args, **kwargs)
        second(*args, **kwargs)

    return both


if __name__ == "__main__":
    sys.exit(main())
