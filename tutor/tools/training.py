"""Training: the thread that fits the learner's model, the stream of progress it feeds, and
what is kept of each run.

`train` starts a daemon thread (queued behind a free training slot on a server) and returns an
iterator of Replies: progress while it runs, then the table, curves and an explanation. The
thread records each run on the session; `stop_training` and `wait_for_training` are how the
rest of the tutor ends or waits for it.

Every run records the seed its model started from (`Run.seed`; the learner's current one is
`session.settings.seed`): the first weights and each epoch's order of images come from it
(`tutor.ml.seeds`), so `train_same_start` repeats a run: same start, same curve.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from tutor.figures import curve_plots
from tutor.ml import backend, codegen, data, fused, seeds
from tutor.reply import Progress, Reply
from tutor.session import Run, Session, TrainingJob
from tutor.tools.lesson import ensure_model
from tutor.tools.registry import ToolInputError, _not_while_training, tool

MAX_EPOCHS = 50


@tool
def train(session: Session, epochs: int = 5) -> Iterator[Reply]:
    """Train the model for some epochs, streaming progress, then show the curves.

    Args:
        epochs: how many passes over the training images, from 1 to the tutor's maximum.
    """
    try:
        epochs = int(epochs)
    except (TypeError, ValueError) as error:
        raise ToolInputError("The number of epochs is a whole number, like 5.") from error
    if not 1 <= epochs <= MAX_EPOCHS:
        raise ToolInputError(
            f"I can train for 1 to {MAX_EPOCHS} epochs at a time; {epochs:,} is out of range."
        )
    if session.is_training:
        raise ToolInputError("Your model is already training. Press Stop to end it early.")
    dataset = data.load_dataset()
    notes = ensure_model(session)
    with session.model_lock:
        seed = model_start(session)
    settings = backend.TrainSettings(**{**session.settings.__dict__, "epochs": epochs})
    return _train_stream(session, dataset, settings, notes, seed)


def model_start(session: Session) -> int | None:
    """The seed the learner's model started from, kept in `session.settings.seed` (saved with
    their progress); None when nobody knows (a model trained before seeds were kept).

    A model built here carries its seed; one loaded from a save is checked against the saved
    seed (its layers keep their initializers' seeds). An untrained model of unknown start is
    started afresh from a new seed: nothing it learned is lost. Call with the model lock held.
    """
    model = session.model
    seed = seeds.model_seed(model)
    saved = session.settings.seed
    if seed is None and saved is not None and seeds.starts_from(model, saved):
        seed = saved
    if seed is None and not session.history:
        seed = seeds.new_seed(session.rng)
        backend.restore_weights(model, backend.build_model(session.model_spec, seed=seed).get_weights())
        model.brain_tutor_seed = seed
    if session.settings.seed != seed:
        session.settings = replace(session.settings, seed=seed)
    return seed


@tool
def train_same_start(session: Session) -> Iterator[Reply]:
    """Train a fresh model from the last run's seed and settings, for as many epochs: the same
    first weights and the same order of images, so the same curve."""
    _not_while_training(session)
    if not session.runs:
        raise ToolInputError("There is no run to repeat yet. Train once (say `train for 5 epochs`), "
                             "then ask again.")
    run = session.runs[-1]
    if run.seed is None:
        raise ToolInputError(f"Run {run.number} was trained before the tutor kept seeds, so I "
                             "cannot give it the same start. Say `train again` for a fresh one.")
    dataset = data.load_dataset()
    settings = replace(run.settings, seed=run.seed)
    continued = len(session.history) > len(run.history) and session.settings.seed == run.seed
    with session.model_lock:
        session.model_spec, session.settings = run.spec, settings
        session.model = backend.build_model(run.spec, seed=run.seed)
        backend.compile_model(session.model, settings)
        session.compiled = True
        session.history = []
    accuracy = run.final_val_accuracy
    text = (f"**The same start as run {run.number}:** seed {run.seed}, so the same first weights "
            f"and the same order of images in every epoch. {run.spec.describe()}, "
            f"{settings.epochs} epoch(s)"
            + (f"; run {run.number} ended at {accuracy:.1%} validation accuracy, and so should "
               "this one." if accuracy is not None and not run.diverged and not run.stopped
               else "."))
    if run.stopped:
        text += f" Run {run.number} was stopped early; this one trains all {settings.epochs} epochs."
    if continued:
        text += (f" Run {run.number} went on from a model that had already trained; this one "
                 "starts fresh, so its curve is the fresh model's.")
    first = Reply(text=text, kind="tool",
                  code=codegen.model_code(run.spec, run.seed) + "\n\n" + codegen.compile_code(settings),
                  records=[codegen.record("train_same_start", spec=run.spec, settings=settings)])
    return _same_start_stream(first, _train_stream(session, dataset, settings, [], run.seed))


def _same_start_stream(first: Reply, training: Iterator[Reply]) -> Iterator[Reply]:
    yield first
    yield from training


def _train_stream(
    session: Session, dataset: data.Dataset, settings: backend.TrainSettings, notes: list[str],
    seed: int | None,
) -> Iterator[Reply]:
    """Fit in a thread and stream its progress; the run records `seed`, the model's start (the
    fit shuffles from a new one when that is unknown)."""
    fit_settings = replace(settings, seed=seed if seed is not None else seeds.new_seed(session.rng))
    updates: queue.Queue = queue.Queue()
    job = TrainingJob(stop=threading.Event())
    start_epoch = len(session.history)
    previous_weights = backend.copy_weights(session.model)

    def on_update(update: backend.TrainingUpdate) -> None:
        job.latest = update
        updates.put(update)

    def work() -> None:
        _yield_cpu_to_chat()
        slots = session.slots
        ticket = 0
        if slots is not None:
            # fits with the same model and settings run together: beside other trainings this
            # one joins a group running now, or opens one in a free slot, or waits, and then
            # others may join it. Alone, it starts at once, without reading its key.
            key = _fusion_key(session, fit_settings) if slots.running else None
            ticket = slots.ticket(key)
            queued = not slots.wait(ticket, 0)
            if queued and key is None:
                slots.set_key(ticket, _fusion_key(session, fit_settings))
            shown_place = None
            while queued and not slots.wait(ticket, 0.5):
                if job.stop.is_set():
                    slots.leave(ticket)
                    updates.put(backend.TrainingResult(stopped=True))
                    return
                place = slots.place(ticket)
                if place != shown_place:  # a new line only when the place moves: a full
                    shown_place = place  # queue would otherwise redraw every chat twice a second
                    updates.put(("queued", place))
        try:
            with session.model_lock:
                # Stop pressed while queued can meet the slot in the same wait (the wait looks
                # at Stop only when it times out): a stopped training never starts, records no run
                if job.stop.is_set():
                    updates.put(backend.TrainingResult(stopped=True))
                    return
                if slots is not None:  # alone or with others' fits, in a worker or here
                    result = slots.fit(ticket, session.model, dataset, fit_settings, on_update, job.stop)
                else:
                    result = backend.train(session.model, dataset, fit_settings, on_update, job.stop)
                if result.diverged:
                    backend.restore_weights(session.model, previous_weights)
            _record_run(session, settings, result, seed)
            updates.put(result)
        except Exception as error:  # reported to the learner, never raised into the chat
            job.error = f"{type(error).__name__}: {error}"
            updates.put(error)
        finally:
            if slots is not None:
                slots.release(ticket)

    job.thread = threading.Thread(target=work, name=f"train-{session.id[:6]}", daemon=True)
    session.training = job
    job.thread.start()
    code = codegen.fit_code(settings)
    records = [codegen.record("train", spec=session.model_spec, settings=settings)]
    lead = " ".join(notes)
    steps = settings.steps_per_epoch(len(dataset.train_images))
    yield Reply(
        text=(lead + " " if lead else "")
        + f"Training for {settings.epochs} epoch(s), {steps:,} steps each...",
        code=code, records=records,
        progress=Progress(1, settings.epochs, 0, steps),
        final=False,
        kind="training",
    )
    while True:
        item = updates.get()
        if isinstance(item, tuple) and item[0] == "queued":
            yield Reply(
                text=f"Waiting for a free training slot: you are number {item[1]} in the queue. "
                "Ask me anything meanwhile, or press Stop to cancel.",
                code=code, records=records,
                progress=Progress(0, settings.epochs, 0, steps),
                final=False,
                kind="training",
            )
            continue
        if isinstance(item, backend.TrainingUpdate):
            progress = Progress(item.epoch, item.epochs, item.step, item.steps, item.history)
            yield Reply(  # the history is in the progress: a page draws its live curve from it
                text=_progress_line(item),
                code=code, records=records,
                progress=progress,
                final=False,
                kind="training",
            )
            continue
        if isinstance(item, Exception):
            yield Reply(
                text="Training failed, and your model is as it was before. "
                "You can try again, or ask me what went wrong.",
                code=code, records=records,
                kind="error",
            )
            return
        job.thread.join(timeout=10)  # so the next command never sees this training as running
        yield _training_done(session, settings, item, code, records, start_epoch)
        return


def _fusion_key(session: Session, settings: backend.TrainSettings) -> Any:
    """The fit's fusion key; None (fit alone) when the model cannot tell it, e.g. it was just reset."""
    try:
        return fused.fusion_key(session.model, settings)
    except Exception:  # never let a queued ticket die before its `try`: the queue would stall
        return None


TRAINING_NICENESS = 10


def _yield_cpu_to_chat() -> None:
    """Run this training thread at a lower CPU priority than chat turns.

    Two trainings can keep both cores of a small server busy; at nice 10 the scheduler still
    gives them every idle cycle, but a learner's question or Next goes first. On Linux nice is
    per thread, so this touches only the calling (training) thread; elsewhere it does nothing.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux or not allowed: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAINING_NICENESS)


def _progress_line(update: backend.TrainingUpdate) -> str:
    line = f"Epoch {update.epoch}/{update.epochs}, step {update.step:,}/{update.steps:,}"
    if update.history:
        last = update.history[-1]
        line += (
            f" - last epoch: loss {last.get('loss', float('nan')):.3f}, accuracy "
            f"{last.get('accuracy', float('nan')):.3f}, val_loss "
            f"{last.get('val_loss', float('nan')):.3f}, val_accuracy "
            f"{last.get('val_accuracy', float('nan')):.3f}"
        )
    return line


def _record_run(
    session: Session, settings: backend.TrainSettings, result: backend.TrainingResult,
    seed: int | None,
) -> None:
    if not result.diverged:
        session.history = session.history + result.history
    if result.history:
        session.steps_per_second = result.steps_per_second
    session.runs.append(
        Run(
            number=len(session.runs) + 1,
            model=session.model_spec.describe(),
            settings=settings,
            history=list(result.history),
            seconds=result.seconds,
            stopped=result.stopped,
            diverged=result.diverged,
            spec=session.model_spec,
            weights=None if result.diverged else backend.copy_weights(session.model),
            seed=seed,
        )
    )


def _training_done(
    session: Session,
    settings: backend.TrainSettings,
    result: backend.TrainingResult,
    code: str,
    records: list[dict[str, Any]],
    start_epoch: int,
) -> Reply:
    if result.diverged:
        return Reply(
            text="The loss became NaN (not a number): the updates grew so big that the numbers "
            "overflowed. I put back the model you had before this training. A smaller learning "
            "rate or scaled pixels avoid this.",
            code=code, records=records,
            kind="error",
        )
    if result.stopped and not result.history:
        return Reply(text="Training stopped early, before any epoch finished. Your model is as it was.",
                     code=code, records=records, kind="training",
                     progress=Progress(0, settings.epochs, 0, 0, [], done=True, stopped=True))
    history = session.history
    rows = [
        f"| {start_epoch + number} | {row['loss']:.2f} | {row['accuracy']:.3f} | "
        f"{row.get('val_loss', float('nan')):.2f} | {row.get('val_accuracy', float('nan')):.3f} |"
        for number, row in enumerate(result.history, start=1)
    ]
    table = (
        "| epoch | loss | accuracy | val_loss | val_accuracy |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    heading = "Training stopped early" if result.stopped else "Training finished"
    text = (
        f"**{heading}** after {len(result.history)} epoch(s) in {result.seconds:.1f} s "
        f"({result.steps_per_second:,.0f} steps per second).\n\n{table}"
    )
    if result.history:
        text += "\n\n" + explain_history(result.history, settings)
    if result.together:
        text += (f"\n\n*Your model trained together with {result.together} other learner(s)' "
                 "models of the same design in one computation: each with its own start, order "
                 "of images and optimizer, so the same numbers as alone, sooner.*")
    if settings.seed is not None:
        text += f"\n\n*Seed {settings.seed}: `train again with the same start` repeats this run.*"
    figures = [curve_plots.training_curves(history)] if history else []
    last = result.history[-1] if result.history else {}
    return Reply(
        text=text,
        code=code, records=records,
        figures=figures,
        progress=Progress(len(result.history), settings.epochs, 0, 0, list(result.history),
                          done=True, stopped=result.stopped),
        kind="training",
    ) if last or result.stopped else Reply(text=text, code=code, records=records, kind="training")


def explain_history(history: list[dict[str, float]], settings: backend.TrainSettings) -> str:
    """Why the numbers look the way they do, in a sentence or three."""
    last = history[-1]
    val_accuracy = last.get("val_accuracy")
    lines = []
    if val_accuracy is not None:
        lines.append(
            f"On the quiz images it never saw, your model is right **{val_accuracy:.1%}** of "
            "the time; guessing would give 10%."
        )
    if not settings.scaled and last.get("loss", 0) > 2:
        lines.append(
            f"The loss (about {last['loss']:.1f}) looks huge because the pixels go up to 255: "
            "the raw outputs become big numbers, so confident mistakes are punished hard and "
            "each update is a big jump. Scaling the pixels to 0-1 would calm it down."
        )
    values = [row["val_accuracy"] for row in history if "val_accuracy" in row]
    if len(values) > 1 and max(values) - min(values) > 0.04:
        lines.append(
            f"Validation accuracy jumped between {min(values):.1%} and {max(values):.1%} from "
            "epoch to epoch: with raw 0-255 inputs, each step overshoots a little, so the "
            "quiz score wobbles."
        )
    return " ".join(lines)


@tool
def show_curves(session: Session) -> Reply:
    """Show the loss and accuracy curves of everything the model has trained so far."""
    if not session.history:
        raise ToolInputError("Your model has not trained yet. Say 'train for 5 epochs'.")
    text = (
        f"Your model has trained for {len(session.history)} epoch(s) so far. "
        + explain_history(session.history, session.settings)
    )
    return Reply(text=text, figures=[curve_plots.training_curves(session.history)], kind="tool")


def wait_for_training(session: Session, timeout: float | None = None) -> bool:
    """Block until this learner's training thread ends; True if it has."""
    job = session.training
    if job is None or job.thread is None:
        return True
    job.thread.join(timeout)
    return not job.thread.is_alive()


def stop_training(session: Session) -> bool:
    """Ask a running training to stop after its current batch; False if none runs."""
    if not session.is_training:
        return False
    session.training.stop.set()
    return True
