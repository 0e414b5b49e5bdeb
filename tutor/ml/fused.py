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
    VALIDATION_BATCH_SIZE,
    TrainingResult,
    TrainingUpdate,
    TrainSettings,
    cached_tensor,
    training_arrays,
)
from tutor.ml.data import Dataset
from tutor.ml.seeds import epoch_order

# Keras's defaults, which the update formulas below repeat; a model whose optimizer differs
# (momentum, clipping, weight decay...) is not fused.
ADAM_DEFAULTS = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}
RMSPROP_DEFAULTS = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}
SGD_DEFAULTS = {"momentum": 0.0, "nesterov": False}
_NO_EXTRAS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
              "use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None}
_DEFAULTS = {"adam": ADAM_DEFAULTS, "sgd": SGD_DEFAULTS, "rmsprop": RMSPROP_DEFAULTS}
SLOTS_PER_VARIABLE = {"adam": 2, "sgd": 0, "rmsprop": 1}  # momentum and velocity; velocity
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
REPORT_SECONDS = 0.25  # between progress reports, as a lone fit reports...
# ...but every report is a turn's update that the server streams to a page: a group reports as
# often in all as two lone fits do (its members each less often), up to every 2 s.
MOST_REPORT_SECONDS = 2.0


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


def train_together(
    members: Sequence[Member],
    dataset: Dataset,
    settings: TrainSettings,
    activations: Sequence[str],
    optimizer: str,
    validation_slice: int | None = None,
) -> list[Outcome]:
    """Fit every member's model as one computation; each member's `on_done` hears of its end.

    `settings` are the group's (every member's but the seed); `activations` the Dense layers'.
    """
    import tensorflow as tf

    if not members:
        return []
    if optimizer not in SLOTS_PER_VARIABLE:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose one of adam, sgd, rmsprop")
    train_images, train_labels, valid_images, valid_labels = training_arrays(
        dataset, replace(settings, train_slice=None))
    count = min(len(train_images), settings.train_slice or len(train_images))
    valid_count = min(len(valid_images), validation_slice or len(valid_images))
    steps = settings.steps_per_epoch(len(dataset.train_images))
    stack = _Stack(members, activations, optimizer)
    images, labels = cached_tensor(train_images), cached_tensor(train_labels)
    starts = [int(state[0]) if len(state) else 0 for state in (m.optimizer_state for m in members)]
    histories: list[list[dict[str, float]]] = [[] for _ in members]
    outcomes: list[Outcome | None] = [None] * len(members)
    step_fit = stack.step_function(images, labels, settings.batch_size, count)
    started = time.perf_counter()

    def finish(index: int, stopped: bool = False, diverged: bool = False) -> None:
        seconds = time.perf_counter() - started
        done_steps = max(1, len(histories[index])) * steps
        weights, optimizer_state = stack.member_state(index)
        outcome = Outcome(
            TrainingResult(history=histories[index], seconds=seconds, stopped=stopped,
                           diverged=diverged, steps_per_second=done_steps / seconds if seconds else 0.0,
                           together=len(members) - 1),
            weights, optimizer_state)
        outcomes[index] = outcome
        stack.active[index] = False
        if members[index].on_done is not None:
            members[index].on_done(outcome)

    for epoch in range(settings.epochs):
        running = [index for index, outcome in enumerate(outcomes) if outcome is None]
        if not running:
            break
        for index in running:
            _report(members[index], TrainingUpdate(epoch + 1, settings.epochs, 0, steps,
                                                   list(histories[index])))
        orders = np.stack([epoch_order(member.seed, start, epoch, count)
                           for member, start in zip(members, starts, strict=True)])
        # The rate each optimizer holds, as in a lone fit; a cooldown's schedule sets every epoch's.
        rate = settings.rate_at(epoch) if settings.cools_down or stack.base_rate is None else stack.base_rate
        stack.begin_epoch(orders, rate)
        step, chunk, last_report = 0, 8, time.monotonic()
        while step < steps:
            _finish_stopped(members, outcomes, finish)  # also before the first chunk: a Stop
            if all(outcome is not None for outcome in outcomes):  # pressed while it waited
                break
            chunk_started = time.perf_counter()
            end = min(steps, step + chunk)
            if not stack.all_active:
                stack.active_mask.assign(stack.active)
            step_fit(tf.constant(step, tf.int64), tf.constant(end, tf.int64), not stack.all_active)
            step = end
            took = time.perf_counter() - chunk_started  # aim at a chunk of about a tenth of a second
            chunk = max(1, min(500, int(chunk * 0.1 / took) if took > 0 else chunk * 2))
            _finish_stopped(members, outcomes, finish)
            still = sum(outcome is None for outcome in outcomes)
            if time.monotonic() - last_report >= report_seconds(still) and step < steps:
                last_report = time.monotonic()
                for index in (i for i, outcome in enumerate(outcomes) if outcome is None):
                    _report(members[index], TrainingUpdate(epoch + 1, settings.epochs, step, steps,
                                                           list(histories[index])))
        if step < steps:
            break
        losses, accuracies = stack.epoch_scores()
        valid_losses, valid_accuracies = stack.evaluate(valid_images[:valid_count],
                                                        valid_labels[:valid_count])
        for index in (i for i, outcome in enumerate(outcomes) if outcome is None):
            row = {"accuracy": accuracies[index], "loss": losses[index],
                   "val_accuracy": valid_accuracies[index], "val_loss": valid_losses[index]}
            histories[index].append(row)
            _report(members[index], TrainingUpdate(epoch + 1, settings.epochs, steps, steps,
                                                   list(histories[index]), True))
            if any(not math.isfinite(value) for value in row.values()):
                finish(index, diverged=True)
    for index, outcome in enumerate(outcomes):
        if outcome is None:
            finish(index)
    return [outcome for outcome in outcomes if outcome is not None]


def _finish_stopped(members: Sequence[Member], outcomes: list, finish: Callable[..., None]) -> None:
    """End the fit of every running member whose Stop is set (a part-done epoch is not
    reported, as in Keras)."""
    for index, member in enumerate(members):
        if outcomes[index] is None and member.stop is not None and member.stop.is_set():
            finish(index, stopped=True)


def _report(member: Member, update: TrainingUpdate) -> None:
    if member.on_update is not None:
        member.on_update(update)


def _assign(variable, value, keep, masked: bool) -> None:
    """`variable` = `value`, but for the members `keep` leaves out when `masked`."""
    import tensorflow as tf

    variable.assign(tf.where(keep, value, variable) if masked else value)


class _Stack:
    """The members' weights and optimizer slots as variables with a learner axis first."""

    def __init__(self, members: Sequence[Member], activations: Sequence[str], optimizer: str) -> None:
        import tensorflow as tf

        self.activations = list(activations)
        self.optimizer = optimizer
        self.count = len(members)
        layers = len(self.activations)
        shapes = [weight.shape for weight in members[0].weights]
        if len(shapes) != 2 * layers or any(
            [w.shape for w in member.weights] != shapes for member in members
        ):
            raise ValueError("the models of a fused fit must have the same layers")
        self.weights = [tf.Variable(np.stack([member.weights[i] for member in members]).astype(np.float32))
                        for i in range(len(shapes))]
        per_variable = SLOTS_PER_VARIABLE[optimizer]
        self.slots: list[list[tf.Variable]] = []  # per weight: Adam's [momentum, velocity]
        for i, shape in enumerate(shapes):
            values = []
            for slot in range(per_variable):
                stacked = []
                for member in members:
                    state = member.optimizer_state
                    position = 2 + i * per_variable + slot
                    stacked.append(np.asarray(state[position], np.float32) if len(state) > position
                                   else np.zeros(shape, np.float32))
                values.append(tf.Variable(np.stack(stacked)))
            self.slots.append(values)
        self.iterations = tf.Variable(np.array(
            [int(member.optimizer_state[0]) if len(member.optimizer_state) else 0 for member in members],
            np.int64))
        rates = [float(member.optimizer_state[1]) for member in members if len(member.optimizer_state) > 1]
        self.base_rate = rates[0] if rates else None
        self.rate = tf.Variable(0.0, dtype=tf.float32)
        self.active = np.ones(self.count, bool)
        self.active_mask = tf.Variable(np.ones(self.count, bool))
        self.order = tf.Variable(np.zeros((self.count, 1), np.int64), shape=(self.count, None))
        self.loss_sum = tf.Variable(np.zeros(self.count, np.float32))
        self.correct = tf.Variable(np.zeros(self.count, np.float32))
        self.seen = tf.Variable(0.0)

    def begin_epoch(self, orders: np.ndarray, rate: float) -> None:
        self.order.assign(orders.astype(np.int64))
        self.rate.assign(rate)
        self.active_mask.assign(self.active)
        for variable in (self.loss_sum, self.correct):
            variable.assign(np.zeros(self.count, np.float32))
        self.seen.assign(0.0)

    def forward(self, inputs):
        """Each member's logits for `inputs`, [learners, batch, inputs] or [1, batch, inputs]."""
        import tensorflow as tf

        outputs = inputs
        for layer, activation in enumerate(self.activations):
            kernel, bias = self.weights[2 * layer], self.weights[2 * layer + 1]
            outputs = tf.matmul(outputs, kernel) + bias[:, tf.newaxis, :]
            if activation != "linear":
                outputs = {"relu": tf.nn.relu, "sigmoid": tf.nn.sigmoid, "tanh": tf.tanh}[activation](outputs)
        return outputs

    def step_function(self, images, labels, batch_size: int, count: int):
        """A compiled loop over steps [first, end) of the epoch, every member at once."""
        import tensorflow as tf

        pixels = int(np.prod(images.shape[1:]))

        @tf.function(reduce_retracing=True)
        def run(first, end, masked):
            for step in tf.range(first, end):
                begin = step * batch_size
                stop = tf.minimum(begin + batch_size, count)
                index = self.order[:, begin:stop]
                size = stop - begin
                inputs = tf.reshape(tf.cast(tf.gather(images, index), tf.float32),
                                    [self.count, -1, pixels])
                targets = tf.cast(tf.gather(labels, index), tf.int64)
                with tf.GradientTape() as tape:
                    logits = self.forward(inputs)
                    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
                    # Each member's loss as Keras takes it: the sum over the batch / the batch size.
                    member_losses = tf.reduce_sum(losses, axis=1) / tf.cast(size, tf.float32)
                    total = tf.reduce_sum(member_losses)  # its gradient in a member's weights is theirs
                gradients = tape.gradient(total, self.weights)
                self._apply(gradients, masked)
                batch = tf.cast(size, tf.float32)
                self.loss_sum.assign_add(member_losses * batch)
                hits = tf.equal(tf.argmax(logits, axis=-1), targets)
                self.correct.assign_add(tf.reduce_sum(tf.cast(hits, tf.float32), axis=1))
                self.seen.assign_add(batch)

        return run

    def _apply(self, gradients, masked: bool) -> None:
        """One optimizer step of every active member, Keras's formulas term by term.

        `masked`: some members have stopped, and their weights and slots must stay as they are
        (while every member runs, the masks are left out: a third fewer passes over the weights).
        """
        import tensorflow as tf

        mask = self.active_mask
        rate = self.rate
        local_step = tf.cast(self.iterations + 1, tf.float32)
        if self.optimizer == "adam":
            beta_1 = ADAM_DEFAULTS["beta_1"]
            beta_2 = ADAM_DEFAULTS["beta_2"]
            alpha = rate * tf.sqrt(1 - tf.pow(tf.cast(beta_2, tf.float32), local_step)) / (
                1 - tf.pow(tf.cast(beta_1, tf.float32), local_step))
        for variable, gradient, slots in zip(self.weights, gradients, self.slots, strict=True):
            keep = tf.reshape(mask, [-1] + [1] * (len(variable.shape) - 1))
            if self.optimizer == "adam":
                momentum, velocity = slots
                new_momentum = momentum + (gradient - momentum) * (1 - beta_1)
                new_velocity = velocity + (tf.square(gradient) - velocity) * (1 - beta_2)
                scale = tf.reshape(alpha, keep.shape)
                step = (new_momentum * scale) / (tf.sqrt(new_velocity) + ADAM_DEFAULTS["epsilon"])
                _assign(momentum, new_momentum, keep, masked)
                _assign(velocity, new_velocity, keep, masked)
            elif self.optimizer == "rmsprop":
                (velocity,) = slots
                rho = RMSPROP_DEFAULTS["rho"]
                new_velocity = rho * velocity + (1 - rho) * tf.square(gradient)
                step = (rate * gradient) / tf.sqrt(new_velocity + RMSPROP_DEFAULTS["epsilon"])
                _assign(velocity, new_velocity, keep, masked)
            else:
                step = gradient * rate
            _assign(variable, variable - step, keep, masked)
        self.iterations.assign_add(tf.cast(mask, tf.int64))

    @property
    def all_active(self) -> bool:
        return bool(self.active.all())

    def epoch_scores(self) -> tuple[list[float], list[float]]:
        seen = max(1.0, float(self.seen.numpy()))
        return ([float(value) / seen for value in self.loss_sum.numpy()],
                [float(value) / seen for value in self.correct.numpy()])

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> tuple[list[float], list[float]]:
        """Every member's mean loss and accuracy on the validation images, in batches as Keras's."""
        import tensorflow as tf

        loss_sum = np.zeros(self.count, np.float64)
        correct = np.zeros(self.count, np.float64)
        for begin in range(0, len(images), VALIDATION_BATCH_SIZE):
            batch = images[begin:begin + VALIDATION_BATCH_SIZE]
            targets = tf.constant(labels[begin:begin + VALIDATION_BATCH_SIZE].astype(np.int64))
            inputs = tf.reshape(tf.cast(batch, tf.float32), [1, len(batch), -1])
            logits = self.forward(inputs)
            every = tf.broadcast_to(targets, logits.shape[:2])
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=every, logits=logits)
            loss_sum += tf.reduce_sum(losses, axis=1).numpy()
            correct += tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1), every), tf.float32),
                                     axis=1).numpy()
        seen = max(1, len(images))
        return [float(value) / seen for value in loss_sum], [float(value) / seen for value in correct]

    def member_state(self, index: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Member `index`'s weights and optimizer state, laid out as Keras's model and optimizer."""
        weights = [variable[index].numpy() for variable in self.weights]
        rate = self.base_rate if self.base_rate is not None else float(self.rate.numpy())
        state: list[np.ndarray] = [np.asarray(self.iterations[index].numpy(), np.int64),
                                   np.asarray(rate, np.float32)]
        for slots in self.slots:
            state.extend(slot[index].numpy() for slot in slots)
        return weights, state
