"""Several learners' fits of the same dense model as one computation, each still its own fit.

Why: a class reaches the training step within minutes, and a fit of the notebook's Dense(10) on
60,000 images is 9,375 tiny steps, each mostly overhead (Python, Keras, op dispatch), not
arithmetic. Thirty such fits one after another on two cores kept learners waiting minutes. Here
the models' weights are stacked along a learner axis, `[learners, inputs, outputs]`, and one
compiled loop takes a step of every model at once: a batched matrix product instead of thirty
small ones, the overhead paid once.

It is the same mathematics as each learner's own `model.fit` (`backend.train`): the learner's
own first weights, their own order of the images in every epoch (`seeds.epoch_order` of their
seed and their model's past steps), their own optimizer state (Adam's moments and step count),
the loss averaged over each learner's batch and the gradient of that learner's loss only, and
Keras's update formulas term by term. The history rows hold the same figures Keras reports:
the epoch's mean loss and accuracy, then the loss and accuracy on the validation images.
Stop, NaN and progress stay per learner: a learner who stops gets their model back at once
and the others go on.

A group stays open while it runs: a fit of the same model and settings that asks later joins
at the next epoch's start (`joiners`), so a class whose learners reach the training step a few
seconds apart still trains together. Each member trains for its own epochs, from its own
first one; the group ends when no member has an epoch left and no one waits to join.
The stacked numbers and the compiled step are `tutor.ml.stacked`.

Only models of Flatten and Dense layers, compiled by `backend.compile_model` with an optimizer
at its defaults but the learning rate, go together (`fusion_key`); a CNN fits alone.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tutor.ml import saving
from tutor.ml.backend import (
    TrainingResult,
    TrainingUpdate,
    TrainSettings,
    cached_tensor,
    training_arrays,
)
from tutor.ml.data import Dataset
from tutor.ml.seeds import epoch_order
from tutor.ml.stacked import ADAM_DEFAULTS, RMSPROP_DEFAULTS, SGD_DEFAULTS, SLOTS_PER_VARIABLE, Stack

_NO_EXTRAS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
              "use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None}
_DEFAULTS = {"adam": ADAM_DEFAULTS, "sgd": SGD_DEFAULTS, "rmsprop": RMSPROP_DEFAULTS}
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
REPORT_SECONDS = 0.25  # between progress reports, as a lone fit reports...
# ...but every report is a turn's update that the server streams to a page: a group reports as
# often in all as two lone fits do (its members each less often), up to every 3 s.
MOST_REPORT_SECONDS = 3.0


def report_seconds(running: int) -> float:
    """Seconds between a member's progress reports when `running` members are fitting."""
    return min(MOST_REPORT_SECONDS, REPORT_SECONDS * max(1.0, running / 2))


@dataclass
class Member:
    """One learner's fit in a group: where their model starts, and how to reach them."""

    weights: list[np.ndarray]  # as `model.get_weights()`: kernel, bias of each Dense layer
    optimizer_state: list[np.ndarray]  # as `model.optimizer.variables`: step, rate, slots
    seed: int  # the model's seed: with the steps taken, it orders the images of every epoch
    on_update: Callable[[TrainingUpdate], None] | None = None
    stop: threading.Event | None = None
    on_done: Callable[[Outcome], None] | None = None  # called once, as soon as this fit ends

    @classmethod
    def from_model(cls, model, seed: int, **callbacks: Any) -> Member:
        """A member that starts where `model` is (its weights and optimizer state)."""
        return cls(weights=model.get_weights(), optimizer_state=saving.optimizer_state(model),
                   seed=seed, **callbacks)


@dataclass
class Outcome:
    """A member's finished (or stopped, or diverged) fit: what `backend.train` would leave."""

    result: TrainingResult
    weights: list[np.ndarray] = field(default_factory=list)
    optimizer_state: list[np.ndarray] = field(default_factory=list)


def fusion_key(model, settings: TrainSettings, validation_slice: int | None = None) -> tuple | None:
    """What a fit must share with others to run together with them; None when it runs alone.

    The layers (units and activations), the optimizer and its learning rate, and the settings
    but the seed (`TrainSettings` leaves the seed out of its equality).
    """
    activations = dense_activations(model)
    optimizer = _optimizer_name(model)
    if activations is None or optimizer is None:
        return None
    units = tuple(int(layer.units) for layer in model.layers if hasattr(layer, "units"))
    rate = float(model.optimizer.learning_rate.numpy())
    return ("dense", units, activations, optimizer, rate, replace(settings, seed=None),
            validation_slice)


def dense_activations(model) -> tuple[str, ...] | None:
    """The activations of a Flatten-then-Dense model's layers, in order; None for other models."""
    names: list[str] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Flatten":
            if names:
                return None
            continue
        if kind != "Dense" or not layer.use_bias or layer.kernel_regularizer is not None:
            return None
        activation = getattr(layer.activation, "__name__", "")
        if activation not in ACTIVATIONS:
            return None
        names.append(activation)
    if not names or tuple(model.inputs[0].shape[1:]) != (28, 28):
        return None
    return tuple(names)


def _optimizer_name(model) -> str | None:
    """adam, sgd or rmsprop when compiled as `backend.compile_model` does; else None."""
    import keras

    optimizer = getattr(model, "optimizer", None)
    loss = getattr(model, "loss", None)
    if optimizer is None or not isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
        return None
    if not loss.get_config().get("from_logits"):
        return None
    name = {"Adam": "adam", "SGD": "sgd", "RMSprop": "rmsprop"}.get(type(optimizer).__name__)
    if name is None:
        return None
    config = optimizer.get_config()
    expected = {**_NO_EXTRAS, **_DEFAULTS[name]}
    if any(config.get(key, value) != value for key, value in expected.items()):
        return None
    return name


# Called at every epoch's start with the number of fits going on (the first time: the members
# given); returns the fits that join now. With none going on, it may wait a moment for fits on
# their way, and its empty answer then ends the group.
Joiners = Callable[[int], Sequence[Member]]


@dataclass(eq=False)
class _Fit:
    """A member's fit as it goes: where its model is, its epochs done, whom it trained with."""

    member: Member
    weights: Sequence[np.ndarray]
    optimizer_state: Sequence[np.ndarray]
    start: int  # the steps its model had taken before this fit: with the seed, the image orders
    began: float = field(default_factory=time.perf_counter)
    epoch: int = 0  # epochs done in this fit
    history: list[dict[str, float]] = field(default_factory=list)
    partners: set[int] = field(default_factory=set)  # the other fits it shared an epoch with
    outcome: Outcome | None = None

    @classmethod
    def of(cls, member: Member) -> _Fit:
        state = member.optimizer_state
        return cls(member, member.weights, state, int(state[0]) if len(state) else 0)


def train_together(
    members: Sequence[Member],
    dataset: Dataset,
    settings: TrainSettings,
    activations: Sequence[str],
    optimizer: str,
    validation_slice: int | None = None,
    joiners: Joiners | None = None,
) -> list[Outcome]:
    """Fit every member's model as one computation; each member's `on_done` hears of its end.

    `settings` are the group's (every member's but the seed); `activations` the Dense layers'.
    `joiners`, when given, brings the fits that join at each epoch's start. The outcomes come
    back in the order the fits began.
    """
    if optimizer not in SLOTS_PER_VARIABLE:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose one of adam, sgd, rmsprop")
    train_images, train_labels, valid_images, valid_labels = training_arrays(
        dataset, replace(settings, train_slice=None))
    count = min(len(train_images), settings.train_slice or len(train_images))
    valid_count = min(len(valid_images), validation_slice or len(valid_images))
    steps = settings.steps_per_epoch(len(dataset.train_images))
    images, labels = cached_tensor(train_images), cached_tensor(train_labels)
    arriving = list(members)
    fits: list[_Fit] = []  # every fit, in the order they began
    rows: list[_Fit] = []  # the fits in the stack, in its order
    stack: Stack | None = None
    step_fit: Any = None

    def finish(fit: _Fit, stopped: bool = False, diverged: bool = False) -> None:
        assert stack is not None
        row = rows.index(fit)
        seconds = time.perf_counter() - fit.began
        weights, optimizer_state = stack.member_state(row)
        done_steps = int(optimizer_state[0]) - fit.start
        fit.outcome = Outcome(
            TrainingResult(history=fit.history, seconds=seconds, stopped=stopped, diverged=diverged,
                           steps_per_second=done_steps / seconds if seconds else 0.0,
                           together=len(fit.partners)),
            weights, optimizer_state)
        stack.active[row] = False
        if fit.member.on_done is not None:
            fit.member.on_done(fit.outcome)

    while True:
        running = [fit for fit in rows if fit.outcome is None]
        if joiners is not None:
            arriving.extend(joiners(len(running) + len(arriving)))
        if not running and not arriving:
            break
        if arriving or len(running) < len(rows):  # restack: the fits going on, then the new ones
            for row, fit in enumerate(rows):
                if fit.outcome is None and stack is not None:
                    fit.weights, fit.optimizer_state = stack.member_state(row)
            new = [_Fit.of(member) for member in arriving]
            arriving = []
            fits.extend(new)
            rows = running + new
            stack = Stack([(fit.weights, fit.optimizer_state) for fit in rows], activations, optimizer)
            step_fit = stack.step_function(images, labels, settings.batch_size, count)
        assert stack is not None
        for fit in rows:
            _report(fit.member, TrainingUpdate(fit.epoch + 1, settings.epochs, 0, steps, list(fit.history)))
        orders = np.stack([epoch_order(fit.member.seed, fit.start, fit.epoch, count) for fit in rows])
        # The rate each optimizer holds, as in a lone fit; a cooldown's schedule sets every epoch's.
        stack.begin_epoch(orders, [
            settings.rate_at(fit.epoch) if settings.cools_down or base is None else base
            for fit, base in zip(rows, stack.base_rates, strict=True)])
        step, chunk, last_report = 0, 8, time.monotonic()
        while step < steps:
            _finish_stopped(rows, finish)  # also before the first chunk: a Stop pressed while it waited
            if all(fit.outcome is not None for fit in rows):
                break
            chunk_started = time.perf_counter()
            end = min(steps, step + chunk)
            if not stack.all_active:
                stack.active_mask.assign(stack.active)
            step_fit(step, end, not stack.all_active)
            if step == 0:  # the fits that took this epoch's first steps trained together
                going = [fit for fit in rows if fit.outcome is None]
                for fit in going:
                    fit.partners.update(id(other) for other in going if other is not fit)
            step = end
            took = time.perf_counter() - chunk_started  # aim at a chunk of about a tenth of a second
            chunk = max(1, min(500, int(chunk * 0.1 / took) if took > 0 else chunk * 2))
            _finish_stopped(rows, finish)
            still = [fit for fit in rows if fit.outcome is None]
            if time.monotonic() - last_report >= report_seconds(len(still)) and step < steps:
                last_report = time.monotonic()
                for fit in still:
                    _report(fit.member, TrainingUpdate(fit.epoch + 1, settings.epochs, step, steps,
                                                       list(fit.history)))
        if step < steps:
            continue  # every fit of this epoch stopped; fits that join still train
        losses, accuracies = stack.epoch_scores()
        valid_losses, valid_accuracies = stack.evaluate(valid_images[:valid_count],
                                                        valid_labels[:valid_count])
        for row, fit in enumerate(rows):
            if fit.outcome is not None:
                continue
            scores = {"accuracy": accuracies[row], "loss": losses[row],
                      "val_accuracy": valid_accuracies[row], "val_loss": valid_losses[row]}
            fit.history.append(scores)
            fit.epoch += 1
            _report(fit.member, TrainingUpdate(fit.epoch, settings.epochs, steps, steps,
                                               list(fit.history), True))
            if any(not math.isfinite(value) for value in scores.values()):
                finish(fit, diverged=True)
            elif fit.epoch >= settings.epochs:
                finish(fit)
    return [fit.outcome for fit in fits if fit.outcome is not None]


def _finish_stopped(rows: Sequence[_Fit], finish: Callable[..., None]) -> None:
    """End the fit of every running member whose Stop is set (a part-done epoch is not
    reported, as in Keras)."""
    for fit in rows:
        if fit.outcome is None and fit.member.stop is not None and fit.member.stop.is_set():
            finish(fit, stopped=True)


def _report(member: Member, update: TrainingUpdate) -> None:
    if member.on_update is not None:
        member.on_update(update)
