"""The weights and optimizer slots of several dense models, stacked on a learner axis.

`tutor.ml.fused` runs the fits; this module holds their numbers: one variable per layer's
kernel or bias with the learners first, `[learners, inputs, outputs]`, the optimizer's slots
alike, a step count and a learning rate per learner, and one compiled loop that takes a step
of every learner's model at once (a batched matrix product instead of many small ones).
Keras's update formulas for Adam, SGD and RMSprop are repeated term by term, so a learner's
model learns the same numbers as in their own `model.fit`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tutor.ml.backend import VALIDATION_BATCH_SIZE

# Keras's defaults, which the update formulas below repeat; a model whose optimizer differs
# (momentum, clipping, weight decay...) is not fused (`fused.fusion_key`).
ADAM_DEFAULTS = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}
RMSPROP_DEFAULTS = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}
SGD_DEFAULTS = {"momentum": 0.0, "nesterov": False}
SLOTS_PER_VARIABLE = {"adam": 2, "sgd": 0, "rmsprop": 1}  # momentum and velocity; velocity

State = tuple[Sequence[np.ndarray], Sequence[np.ndarray]]  # a model's weights, its optimizer's variables


def _assign(variable, value, keep, masked: bool) -> None:
    """`variable` = `value`, but for the members `keep` leaves out when `masked`."""
    import tensorflow as tf

    variable.assign(tf.where(keep, value, variable) if masked else value)


class Stack:
    """The members' weights and optimizer slots as variables with a learner axis first.

    Built from each member's state as `model.get_weights()` and `model.optimizer.variables`
    lay them out (`saving.optimizer_state`); `member_state` gives them back the same way.
    """

    def __init__(self, states: Sequence[State], activations: Sequence[str], optimizer: str) -> None:
        import tensorflow as tf

        if not states:
            raise ValueError("a stack needs at least one model")
        if optimizer not in SLOTS_PER_VARIABLE:
            raise ValueError(f"unknown optimizer {optimizer!r}: choose one of adam, sgd, rmsprop")
        self.activations = list(activations)
        self.optimizer = optimizer
        self.count = len(states)
        layers = len(self.activations)
        shapes = [np.shape(weight) for weight in states[0][0]]
        if len(shapes) != 2 * layers or any(
            [np.shape(w) for w in weights] != shapes for weights, _ in states
        ):
            raise ValueError("the models of a fused fit must have the same layers")
        self.weights = [tf.Variable(np.stack([weights[i] for weights, _ in states]).astype(np.float32))
                        for i in range(len(shapes))]
        per_variable = SLOTS_PER_VARIABLE[optimizer]
        self.slots: list[list[tf.Variable]] = []  # per weight: Adam's [momentum, velocity]
        for i, shape in enumerate(shapes):
            values = []
            for slot in range(per_variable):
                position = 2 + i * per_variable + slot
                values.append(tf.Variable(np.stack([
                    np.asarray(state[position], np.float32) if len(state) > position
                    else np.zeros(shape, np.float32)
                    for _, state in states])))
            self.slots.append(values)
        self.iterations = tf.Variable(np.array(
            [int(state[0]) if len(state) else 0 for _, state in states], np.int64))
        # The rate each member's optimizer holds; a cooldown sets each member's every epoch.
        self.base_rates = [float(state[1]) if len(state) > 1 else None for _, state in states]
        self.rate = tf.Variable(np.zeros(self.count, np.float32))
        self.active = np.ones(self.count, bool)
        self.active_mask = tf.Variable(np.ones(self.count, bool))
        self.order = tf.Variable(np.zeros((self.count, 1), np.int64), shape=(self.count, None))
        self.loss_sum = tf.Variable(np.zeros(self.count, np.float32))
        self.correct = tf.Variable(np.zeros(self.count, np.float32))
        self.seen = tf.Variable(0.0)

    def begin_epoch(self, orders: np.ndarray, rates: Sequence[float]) -> None:
        """Each member's image order for the coming epoch, and the rate it trains at."""
        self.order.assign(orders.astype(np.int64))
        self.rate.assign(np.asarray(rates, np.float32))
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
        """A loop over steps [first, end) of the epoch, every member at once: `run(first, end, masked)`.

        The full batches run in one compiled loop whose shapes are all known when it is traced
        (three times faster than the same loop with a batch size known only when it runs: one
        model's epoch on the full data 0.6 s against 1.9 s); the last batch, when the images do
        not divide into full ones, is a step of its own.
        """
        import tensorflow as tf

        pixels = int(np.prod(images.shape[1:]))
        full_steps = count // batch_size
        rest = count - full_steps * batch_size

        def take_step(begin, size: int, masked: bool) -> None:
            index = self.order[:, begin:begin + size]
            inputs = tf.reshape(tf.cast(tf.gather(images, index), tf.float32), [self.count, size, pixels])
            targets = tf.cast(tf.gather(labels, index), tf.int64)
            with tf.GradientTape() as tape:
                logits = self.forward(inputs)
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
                # Each member's loss as Keras takes it: the sum over the batch / the batch size.
                member_losses = tf.reduce_sum(losses, axis=1) / float(size)
                total = tf.reduce_sum(member_losses)  # its gradient in a member's weights is theirs
            gradients = tape.gradient(total, self.weights)
            self._apply(gradients, masked)
            self.loss_sum.assign_add(member_losses * float(size))
            hits = tf.equal(tf.argmax(logits, axis=-1), targets)
            self.correct.assign_add(tf.reduce_sum(tf.cast(hits, tf.float32), axis=1))
            self.seen.assign_add(float(size))

        @tf.function(reduce_retracing=True)
        def full(first, end, masked):
            for step in tf.range(first, end):
                take_step(step * batch_size, batch_size, masked)

        @tf.function
        def last(masked):
            take_step(tf.constant(full_steps * batch_size, tf.int64), rest, masked)

        def run(first: int, end: int, masked: bool) -> None:
            stop = min(end, full_steps)
            if first < stop:
                full(tf.constant(first, tf.int64), tf.constant(stop, tf.int64), masked)
            if rest and end > full_steps:
                last(masked)

        return run

    def _apply(self, gradients, masked: bool) -> None:
        """One optimizer step of every active member, Keras's formulas term by term.

        `masked`: some members have stopped, and their weights and slots must stay as they are
        (while every member runs, the masks are left out: a third fewer passes over the weights).
        """
        import tensorflow as tf

        mask = self.active_mask
        local_step = tf.cast(self.iterations + 1, tf.float32)
        if self.optimizer == "adam":
            beta_1 = ADAM_DEFAULTS["beta_1"]
            beta_2 = ADAM_DEFAULTS["beta_2"]
            alpha = self.rate * tf.sqrt(1 - tf.pow(tf.cast(beta_2, tf.float32), local_step)) / (
                1 - tf.pow(tf.cast(beta_1, tf.float32), local_step))
        for variable, gradient, slots in zip(self.weights, gradients, self.slots, strict=True):
            keep = tf.reshape(mask, [-1] + [1] * (len(variable.shape) - 1))
            rate = tf.reshape(self.rate, keep.shape)
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
        base = self.base_rates[index]
        rate = base if base is not None else float(self.rate[index].numpy())
        state: list[np.ndarray] = [np.asarray(self.iterations[index].numpy(), np.int64),
                                   np.asarray(rate, np.float32)]
        for slots in self.slots:
            state.extend(slot[index].numpy() for slot in slots)
        return weights, state
