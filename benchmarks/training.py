"""How much does the tutor cost on top of plain Keras? Two measurements, side by side, in one run.

Why this exists: the tutor promises that training through the chat is as fast as the notebook the
learner would type by hand, and that the page opens about as fast as Gradio itself imports. The
machines are shared and noisy, so absolute seconds mean little; what this script reports are
ratios of runs interleaved in one process (or in fresh processes for start-up), with their medians.

1. Seed fit, tutor vs plain Keras. The notebook's fit: raw 0-255 pixels, batch 32, 5 epochs,
   Adam, SparseCategoricalCrossentropy(from_logits=True), accuracy, validation on the 10,000
   validation images, Flatten + Dense(10).
   - "plain Keras" is the script a learner would type; only `model.fit(...)` is timed, with
     `verbose=0` (the tutor prints nothing either, so the progress bar would be an unfair cost).
   - "tutor" is the whole chat turn `tutor.stream(session, "train for 5 epochs")`, consumed to
     the end as the UI does: building and compiling the model, the background training thread,
     the progress callback and queue, and the curves figure at every epoch end and at the end.
   Runs are interleaved (plain, tutor, plain, tutor, ...) after a warm-up on 256 images, so no
   timed run pays TensorFlow's import or first-graph costs. Goal: tutor/plain <= 1.05.
2. Time to first page vs `import gradio`, in fresh processes, interleaved: the wall time of
   `python -c "import gradio"`, and the time from starting `python app.py` until
   `http://127.0.0.1:<port>/` answers HTTP 200. Goal: first page / import gradio <= 1.2 (on the
   path to the first byte: Gradio, the lesson text and the page's layout; the tutor's warm-up
   starts once the page is served, see tutor/web/serving.py).
   On Linux it also says whether TensorFlow's library was already mapped into the app's processes
   when the page first answered, i.e. whether its import had started (it should not have: the
   app serves before it imports TensorFlow).
3. The models table: the one-layer model, an MLP (Dense(128, relu)) and the small CNN, each with
   the notebook's settings (raw pixels, batch 32, Adam's default step) and with quick mode's
   (`tutor.tools.lab.QUICK`), through `backend.train`, interleaved; median seconds and final
   validation accuracy, and the quick/notebook time ratio. The one-layer row is the issue's
   check: quick mode >= 0.84 median validation accuracy at <= 0.2x the seed fit's time.

Run it from the repository root:

    python benchmarks/training.py                          # both parts, median of 3
    python benchmarks/training.py --skip-page --repeats 5  # the fit only
    python benchmarks/training.py --slice 6000 --repeats 1 --skip-page   # a quick smoke run
    python benchmarks/training.py --skip-fit --app-command "python -m http.server"  # mechanism
    python benchmarks/training.py --json artifacts/training.json          # also write JSON
    python benchmarks/training.py --skip-page --skip-fit                  # the models table only
    python benchmarks/training.py --skip-fit --skip-table --repeats 5     # the first page only
    python benchmarks/training.py --skip-page --skip-fit --repeats 1 --models one   # quickest

The full fit part takes a few minutes on 2 CPU cores (about 13 s per fit, 2 x repeats fits); the
models table about 70 s per repeat on a quiet machine (the notebook's batch 32 dominates).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 5
FIT_GOAL = 1.05
PAGE_GOAL = 1.2
POLL_SECONDS = 0.05
PAGE_TIMEOUT_SECONDS = 120.0
WARMUP_IMAGES = 256

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ----- the fit ---------------------------------------------------------------------------------
def _load_data(train_slice: int | None) -> dict[str, Any]:
    """Fashion-MNIST through the tutor's loader, so both sides train on the very same arrays."""
    from tutor.ml import data

    dataset = data.load_dataset()
    train_images, train_labels = dataset.train_images, dataset.train_labels
    if train_slice:
        train_images, train_labels = train_images[:train_slice], train_labels[:train_slice]
    return {
        "dataset": dataset,
        "train_images": train_images,
        "train_labels": train_labels,
        "valid_images": dataset.valid_images,
        "valid_labels": dataset.valid_labels,
    }


def plain_keras_fit(arrays: dict[str, Any], epochs: int = EPOCHS) -> dict[str, Any]:
    """The notebook's code as a learner types it; only `model.fit` is timed."""
    import tensorflow as tf

    train_images, train_labels = arrays["train_images"], arrays["train_labels"]
    valid_images, valid_labels = arrays["valid_images"], arrays["valid_labels"]
    number_of_classes = int(train_labels.max()) + 1
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(28, 28)),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(number_of_classes),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    history = model.fit(
        train_images,
        train_labels,
        epochs=epochs,
        verbose=0,
        validation_data=(valid_images, valid_labels),
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "loss": float(history.history["loss"][-1]),
    }


class _FigureTimer:
    """Counts and times the curves figures the tutor builds, by wrapping `curve_plots.training_curves`.

    The wrapper adds two clock readings per call; it is there to explain the overhead, not to
    change it.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._original: Callable[..., Any] | None = None

    def __enter__(self) -> _FigureTimer:
        from tutor.figures import curve_plots

        self._original = original = curve_plots.training_curves

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - started

        curve_plots.training_curves = timed
        return self

    def __exit__(self, *exc: object) -> None:
        from tutor.figures import curve_plots

        if self._original is not None:
            curve_plots.training_curves = self._original


def tutor_turn(tutor: Any, train_slice: int | None, epochs: int = EPOCHS) -> dict[str, Any]:
    """One chat turn "train for N epochs" in a fresh session, consumed to the end like the UI."""
    from tutor.ml import backend
    from tutor.tools import training

    session = tutor.new_session()
    tutor.start(session)  # the welcome step, untimed: the learner is past it when they train
    if train_slice:
        session.settings = backend.TrainSettings(train_slice=train_slice)
    replies = 0
    errors: list[str] = []
    first_reply = last_progress = 0.0
    with _FigureTimer() as figures:
        started = time.perf_counter()
        for reply in tutor.stream(session, f"train for {epochs} epochs"):
            replies += 1
            now = time.perf_counter() - started
            if replies == 1:
                first_reply = now
            if not reply.final:
                last_progress = now
            if reply.kind == "error":
                errors.append(reply.text)
        seconds = time.perf_counter() - started
    training.wait_for_training(session, timeout=60)
    run = session.runs[-1] if session.runs else None
    result = {
        "seconds": seconds,
        "val_accuracy": run.final_val_accuracy if run else None,
        "loss": run.history[-1]["loss"] if run and run.history else None,
        "fit_seconds": run.seconds if run else None,  # backend.train's own model.fit timing
        "setup_seconds": first_reply,  # build + compile + weight copy + thread start
        "tail_seconds": seconds - last_progress,  # after the last progress update: final reply
        "replies": replies,
        "figures": figures.calls,
        "figure_seconds": figures.seconds,
        "errors": errors,
    }
    session.model = None
    return result


def measure_fit(repeats: int, train_slice: int | None) -> dict[str, Any]:
    """Warm up, then interleave plain and tutor fits; medians and the ratio."""
    print("loading data and warming up TensorFlow ...", flush=True)
    started = time.perf_counter()
    import keras
    import tensorflow as tf

    from tutor import Tutor

    arrays = _load_data(train_slice)
    warm = {
        "train_images": arrays["train_images"][:WARMUP_IMAGES],
        "train_labels": arrays["train_labels"][:WARMUP_IMAGES],
        "valid_images": arrays["valid_images"][:WARMUP_IMAGES],
        "valid_labels": arrays["valid_labels"][:WARMUP_IMAGES],
    }
    plain_keras_fit(warm, epochs=1)
    tutor = Tutor()
    tutor_turn(tutor, WARMUP_IMAGES, epochs=1)  # imports matplotlib, builds a first figure
    gc.collect()
    warmup_seconds = time.perf_counter() - started
    images = len(arrays["train_images"])
    print(f"  warm-up done in {warmup_seconds:.1f} s; training on {images:,} images", flush=True)

    plain: list[dict[str, Any]] = []
    tutor_runs: list[dict[str, Any]] = []
    for number in range(1, repeats + 1):
        plain.append(plain_keras_fit(arrays))
        gc.collect()
        print(
            f"  run {number}/{repeats} plain Keras fit {plain[-1]['seconds']:6.2f} s   "
            f"val_acc {plain[-1]['val_accuracy']:.3f}",
            flush=True,
        )
        tutor_runs.append(tutor_turn(tutor, train_slice))
        gc.collect()
        run = tutor_runs[-1]
        val = "n/a" if run["val_accuracy"] is None else f"{run['val_accuracy']:.3f}"
        fit = "n/a" if run["fit_seconds"] is None else f"{run['fit_seconds']:.2f} s"
        print(
            f"  run {number}/{repeats} tutor turn     {run['seconds']:6.2f} s   val_acc {val}   "
            f"(its model.fit {fit}, {run['figures']} figures {run['figure_seconds']:.2f} s, "
            f"setup {run['setup_seconds']:.2f} s, tail {run['tail_seconds']:.2f} s)",
            flush=True,
        )
        for error in run["errors"]:
            print(f"    tutor reported an error: {error[:200]}", flush=True)

    def median(runs: list[dict[str, Any]], key: str) -> float | None:
        values = [run[key] for run in runs if run.get(key) is not None]
        return statistics.median(values) if values else None

    plain_median = median(plain, "seconds")
    tutor_median = median(tutor_runs, "seconds")
    return {
        "repeats": repeats,
        "train_images": images,
        "epochs": EPOCHS,
        "warmup_seconds": warmup_seconds,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "plain": plain,
        "tutor": tutor_runs,
        "plain_median_seconds": plain_median,
        "tutor_median_seconds": tutor_median,
        "plain_median_val_accuracy": median(plain, "val_accuracy"),
        "tutor_median_val_accuracy": median(tutor_runs, "val_accuracy"),
        "tutor_median_fit_seconds": median(tutor_runs, "fit_seconds"),
        "tutor_median_figure_seconds": median(tutor_runs, "figure_seconds"),
        "tutor_median_setup_seconds": median(tutor_runs, "setup_seconds"),
        "tutor_median_tail_seconds": median(tutor_runs, "tail_seconds"),
        "ratio": tutor_median / plain_median if plain_median and tutor_median else None,
        "pair_ratios": _pair_ratios(tutor_runs, plain),
        "goal": FIT_GOAL,
    }


# ----- the first page --------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """End the process and everything it started (it leads its own process group)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _group_pids(group: int) -> list[int]:
    """The processes of a process group (Linux /proc), the leader first."""
    pids = [group]
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == group:
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == group:  # fields: state, ppid, pgrp, ...
                    pids.append(int(entry))
    return pids


def tensorflow_loaded(group: int) -> bool | None:
    """Whether any process of the group has TensorFlow's library mapped; None if unknowable."""
    if not Path("/proc/self/maps").exists():
        return None
    for pid in _group_pids(group):
        with contextlib.suppress(OSError):
            maps = Path(f"/proc/{pid}/maps").read_text()
            if "libtensorflow" in maps or "_pywrap_tensorflow" in maps:
                return True
    return False


def time_import_gradio() -> float:
    """Wall time of a fresh `python -c "import gradio"`, process start to exit."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import gradio"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def time_first_page(command: Sequence[str]) -> dict[str, Any]:
    """Start `command` on a free port; seconds until `/` answers HTTP 200 (or why it did not)."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        outcome: dict[str, Any] = {"seconds": None, "tensorflow_loaded": None, "error": None}
        try:
            while time.perf_counter() - started < PAGE_TIMEOUT_SECONDS:
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            outcome["seconds"] = time.perf_counter() - started
                            outcome["tensorflow_loaded"] = tensorflow_loaded(process.pid)
                            break
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                if process.poll() is not None:
                    outcome["error"] = f"exited with code {process.returncode} before serving"
                    break
                time.sleep(POLL_SECONDS)
            else:
                outcome["error"] = f"no HTTP 200 within {PAGE_TIMEOUT_SECONDS:.0f} s"
        finally:
            _kill_group(process)
        if outcome["error"]:
            log.seek(0)
            tail = log.read().decode(errors="replace").strip().splitlines()[-5:]
            outcome["output_tail"] = tail
    return outcome


def measure_page(repeats: int, command: Sequence[str]) -> dict[str, Any]:
    """Interleave `import gradio` and first-page runs in fresh processes; medians and the ratio."""
    imports: list[float] = []
    pages: list[dict[str, Any]] = []
    for number in range(1, repeats + 1):
        imports.append(time_import_gradio())
        print(f"  run {number}/{repeats} import gradio     {imports[-1]:6.2f} s", flush=True)
        pages.append(time_first_page(command))
        page = pages[-1]
        if page["seconds"] is None:
            print(f"  run {number}/{repeats} first page        failed: {page['error']}", flush=True)
            for line in page.get("output_tail", []):
                print(f"    | {line}", flush=True)
        else:
            print(
                f"  run {number}/{repeats} first page served {page['seconds']:6.2f} s   "
                f"TensorFlow mapped then: {_yes_no(page['tensorflow_loaded'])}",
                flush=True,
            )
    served = [page["seconds"] for page in pages if page["seconds"] is not None]
    import_median = statistics.median(imports)
    page_median = statistics.median(served) if len(served) == len(pages) else None
    pairs = [{"seconds": value} for value in imports]
    return {
        "repeats": repeats,
        "command": list(command),
        "import_gradio": imports,
        "first_page": pages,
        "import_median_seconds": import_median,
        "page_median_seconds": page_median,
        "ratio": page_median / import_median if page_median and import_median else None,
        "pair_ratios": _pair_ratios(pages, pairs),
        "goal": PAGE_GOAL,
    }


# ----- the report ------------------------------------------------------------------------------
def _pair_ratios(numerators: list[dict[str, Any]], denominators: list[dict[str, Any]]) -> list[float]:
    """Run i over run i: interleaved neighbours share the machine's mood, so these show the noise."""
    return [
        top["seconds"] / bottom["seconds"]
        for top, bottom in zip(numerators, denominators, strict=True)
        if top.get("seconds") and bottom.get("seconds")
    ]


def _pairs(ratios: list[float]) -> str:
    return ", ".join(f"{ratio:.2f}" for ratio in ratios) or "n/a"


def _load() -> str:
    """The 1- and 5-minute load averages: above the CPU count, other work shares the machine."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f}/{five:.1f}"


def _load_note(before: str, after: str) -> str:
    note = f"machine load (1/5 min) {before} before, {after} after, on {os.cpu_count()} CPUs"
    with contextlib.suppress(ValueError):
        if max(float(value.split("/")[1]) for value in (before, after)) > (os.cpu_count() or 1):
            note += ": busy, other work shared the CPUs; trust the ratios over the seconds"
    return note


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _goal(ratio: float | None, goal: float) -> str:
    if ratio is None:
        return "   n/a"
    verdict = "met" if ratio <= goal else "MISSED"
    return f"{ratio:6.2f}   (goal <= {goal:g}: {verdict})"


def _seconds(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f} s"


def _accuracy(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_fit(fit: dict[str, Any]) -> None:
    images = fit["train_images"]
    print(
        f"\nseed fit (raw pixels, batch 32, {fit['epochs']} epochs, {images:,} training images, "
        f"validation on 10,000), median of {fit['repeats']}"
    )
    print(
        f"  plain Keras fit      {_seconds(fit['plain_median_seconds'])}   "
        f"val_acc {_accuracy(fit['plain_median_val_accuracy'])}   (model.fit only, verbose=0)"
    )
    print(
        f"  tutor turn           {_seconds(fit['tutor_median_seconds'])}   "
        f"val_acc {_accuracy(fit['tutor_median_val_accuracy'])}   (the whole chat turn)"
    )
    print(f"  ratio tutor/plain    {_goal(fit['ratio'], fit['goal'])}")
    print(f"  run-by-run ratios    {_pairs(fit['pair_ratios'])}")
    print("  where the tutor's time goes (medians):")
    print(f"    its model.fit      {_seconds(fit['tutor_median_fit_seconds'])}   (inside backend.train)")
    print(
        f"    before first reply {_seconds(fit['tutor_median_setup_seconds'])}   "
        "(build, compile, copy weights, start thread)"
    )
    print(
        f"    after last update  {_seconds(fit['tutor_median_tail_seconds'])}   "
        "(final reply: table, explanation, figure)"
    )
    print(
        f"    curves figures     {_seconds(fit['tutor_median_figure_seconds'])}   "
        "(all figures of a turn, on the chat thread)"
    )


def print_page(page: dict[str, Any]) -> None:
    loaded = [run["tensorflow_loaded"] for run in page["first_page"] if run["seconds"] is not None]
    print(f"\nfirst page vs import gradio (fresh processes), median of {page['repeats']}")
    print(f"  import gradio        {_seconds(page['import_median_seconds'])}")
    print(f"  first page served    {_seconds(page['page_median_seconds'])}   ({shlex.join(page['command'])})")
    print(f"  ratio page/import    {_goal(page['ratio'], page['goal'])}")
    print(f"  run-by-run ratios    {_pairs(page['pair_ratios'])}")
    if loaded:
        print(
            f"  TensorFlow library mapped in the app when the page first answered: "
            f"{', '.join(_yes_no(value) for value in loaded)}"
        )


MODEL_ROWS = (  # (key, name, ModelSpec keyword arguments, epochs)
    ("one", "one layer", {}, 5),
    ("mlp", "MLP 128 relu", {"hidden": ((128, "relu"),)}, 5),
    ("cnn", "small CNN", {"convolutional": True}, 1),
)


def measure_table(repeats: int, train_slice: int | None,
                  models: Sequence[str] = ("one", "mlp", "cnn")) -> list[dict[str, Any]]:
    """Notebook settings against the quick path for each model, through the tutor's backend.

    Notebook: raw pixels, batch 32, Adam's default step. Quick: what "quick mode on" sets
    (`tutor.tools.lab.QUICK`: scaled float32 pixels kept once per process, batch 256, Adam(5e-3) with
    the last epoch at a tenth of it, steps_per_execution=50). Interleaved: notebook, quick,
    notebook, quick, ... so that both see the same machine.
    """
    from tutor.ml import backend, data
    from tutor.tools.lab import QUICK

    dataset = data.load_dataset()
    # Warm-up, untimed: the scaled pixels and the tensors both pipelines read are made once per
    # process, so the first timed fit of either kind should not pay for them.
    for settings in (backend.TrainSettings(epochs=1, train_slice=WARMUP_IMAGES),
                     backend.TrainSettings(epochs=1, scaled=True, train_slice=WARMUP_IMAGES, **QUICK)):
        model = backend.build_model()
        backend.compile_model(model, settings)
        backend.train(model, dataset, settings, validation_slice=WARMUP_IMAGES)
    rows = []
    for key, name, spec_arguments, epochs in MODEL_ROWS:
        if key not in models:
            continue
        spec = backend.ModelSpec(**spec_arguments)
        notebook = backend.TrainSettings(epochs=epochs, train_slice=train_slice)
        quick = backend.TrainSettings(epochs=epochs, scaled=True, train_slice=train_slice, **QUICK)
        results: dict[str, list[tuple[float, float]]] = {"notebook": [], "quick": []}
        for _ in range(repeats):
            for label, settings in (("notebook", notebook), ("quick", quick)):
                model = backend.build_model(spec)
                backend.compile_model(model, settings)
                result = backend.train(model, dataset, settings)
                results[label].append((result.seconds, result.history[-1]["val_accuracy"]))
                print(f"  {name:13s} {label:8s} {result.seconds:6.1f} s  "
                      f"val_acc {result.history[-1]['val_accuracy']:.4f}", flush=True)
                del model
                gc.collect()
        row = {"model": name, "epochs": epochs, "runs": results}
        for label, values in results.items():
            row[f"{label}_seconds"] = statistics.median(seconds for seconds, _ in values)
            row[f"{label}_val_accuracy"] = statistics.median(accuracy for _, accuracy in values)
        row["ratio"] = row["quick_seconds"] / row["notebook_seconds"]
        row["pair_ratios"] = [q / n for (q, _), (n, _) in zip(results["quick"], results["notebook"],
                                                              strict=True)]
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    repeats = len(rows[0]["runs"]["quick"]) if rows else 0
    print(f"\nmodels: notebook settings vs quick path (medians of {repeats}, validation on 10,000)")
    print(f"  {'model':13s} {'epochs':>6s} {'notebook':>10s} {'val acc':>8s} {'quick':>8s} "
          f"{'val acc':>8s} {'quick/notebook':>15s}  run-by-run")
    for row in rows:
        print(f"  {row['model']:13s} {row['epochs']:6d} {row['notebook_seconds']:9.1f}s "
              f"{row['notebook_val_accuracy']:8.4f} {row['quick_seconds']:7.1f}s "
              f"{row['quick_val_accuracy']:8.4f} {row['ratio']:15.3f}  {_pairs(row['pair_ratios'])}")
    one_layer = next((row for row in rows if row["model"] == "one layer"), None)
    if one_layer is not None:
        time_verdict = ("met" if one_layer["ratio"] <= 0.15 else "0.2 met, 0.15 missed"
                        if one_layer["ratio"] <= 0.2 else "MISSED")
        accuracy_verdict = "met" if one_layer["quick_val_accuracy"] >= 0.84 else "MISSED"
        print(f"  one-layer quick path vs seed fit: {one_layer['ratio']:.3f}x the time (goal <= 0.2, "
              f"beyond that 0.15: {time_verdict}) at {one_layer['quick_val_accuracy']:.4f} median "
              f"val accuracy (goal >= 0.84: {accuracy_verdict})")


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each (3)")
    parser.add_argument("--skip-fit", action="store_true", help="skip the fit comparison")
    parser.add_argument("--skip-page", action="store_true", help="skip the first-page comparison")
    parser.add_argument("--skip-table", action="store_true",
                        help="skip the one-layer / MLP / CNN table of notebook vs quick settings")
    parser.add_argument("--models", default="one,mlp,cnn", metavar="LIST",
                        help="the table's rows, a comma list of one, mlp, cnn (all three)")
    parser.add_argument(
        "--slice",
        type=int,
        default=None,
        metavar="N",
        help="train on the first N images only (a quick smoke run)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write every figure to this JSON file"
    )
    parser.add_argument(
        "--app-command",
        default=None,
        metavar="COMMAND",
        help="the command that serves the app (default: python app.py)",
    )
    arguments = parser.parse_args(argv)
    if arguments.repeats < 1:
        parser.error("--repeats must be at least 1")
    if arguments.slice is not None and arguments.slice < 1:
        parser.error("--slice must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # `python benchmarks/training.py` puts benchmarks/ first
    report: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    report["load_before"] = _load()
    print(
        f"Python {report['python']}, {report['cpus']} CPUs; interleaved runs, "
        f"repeats={arguments.repeats}; load (1/5 min) {report['load_before']}"
    )
    if not arguments.skip_page:
        command = shlex.split(arguments.app_command) if arguments.app_command else [sys.executable, "app.py"]
        print("\nfirst page vs import gradio ...", flush=True)
        if arguments.app_command is None and not (ROOT / "app.py").exists():
            print("  app.py missing: first page not measured")
            report["page"] = {"error": "app.py missing"}
        else:
            report["page"] = measure_page(arguments.repeats, command)
    if not arguments.skip_fit:
        print("\nseed fit: plain Keras vs the tutor's turn ...", flush=True)
        report["fit"] = measure_fit(arguments.repeats, arguments.slice)
    if not arguments.skip_table:
        print("\nmodels: notebook vs quick settings ...", flush=True)
        report["table"] = measure_table(arguments.repeats, arguments.slice,
                                        [model.strip() for model in arguments.models.split(",")])
    report["load_after"] = _load()
    print("\n" + "=" * 78)
    print(_load_note(report["load_before"], report["load_after"]))
    if "fit" in report:
        print_fit(report["fit"])
    if "table" in report:
        print_table(report["table"])
    if "page" in report and "error" not in report["page"]:
        print_page(report["page"])
    elif "page" in report:
        print("\nfirst page vs import gradio: app.py missing")
    if arguments.json is not None:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nfigures written to {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
