"""The TensorFlow side: build, compile, train, summarise and predict.

Nothing here knows about chat or Gradio. Each builder has a twin in `tutor.ml.codegen` that
writes the Keras code it runs, so the learner sees exactly the code behind every result.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from tutor.ml.data import Dataset
from tutor.ml.seeds import epoch_orders, kernel_seeds, new_seed, steps_taken

OPTIMIZERS = ("adam", "sgd", "rmsprop")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
DEFAULT_RATES = {"adam": 0.001, "sgd": 0.01, "rmsprop": 0.001}  # Keras's defaults
COOLDOWN_FACTOR = 0.1  # the last epoch of a cooldown fit takes steps ten times smaller


@dataclass(frozen=True)
class ModelSpec:
    """What model to build: the notebook's one layer, hidden layers on top, or a small CNN."""

    hidden: tuple[tuple[int, str], ...] = ()
    convolutional: bool = False

    def describe(self) -> str:
        """A short human name, e.g. "Flatten → Dense(128, relu) → Dense(10)"."""
        parts = ["Flatten"] if not self.convolutional else [
            "Conv2D(32, 3x3, relu)", "MaxPooling2D", "Conv2D(64, 3x3, relu)", "MaxPooling2D",
            "Flatten",
        ]
        parts += [f"Dense({units}, {activation})" for units, activation in self.hidden]
        parts.append("Dense(10)")
        return " → ".join(parts)


@dataclass(frozen=True)
class TrainSettings:
    """How to train. The defaults are the notebook's: raw pixels, Adam, batch 32."""

    epochs: int = 5
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float | None = None
    scaled: bool = False
    train_slice: int | None = None
    steps_per_execution: int = 1
    # The last epoch (of two or more) at a tenth of the learning rate: the big steps get close
    # to the minimum fast, the small ones settle into it instead of jumping around it.
    cooldown: bool = False
    # The seed of the model's start: its first weights (`build_model`) and the order of the
    # images in every epoch (`train`). Not compared: the same settings with another seed are
    # the same experiment, started elsewhere. None: a fit draws one (and cannot be repeated).
    seed: int | None = field(default=None, compare=False)

    @property
    def base_rate(self) -> float:
        """The learning rate of every epoch but a cooldown's last: the one asked, else Keras's."""
        return self.learning_rate if self.learning_rate is not None else DEFAULT_RATES[self.optimizer]

    @property
    def cools_down(self) -> bool:
        """Whether this fit's last epoch runs at a tenth of the rate (a cooldown of two or more)."""
        return self.cooldown and self.epochs >= 2

    def rate_at(self, epoch: int) -> float:
        """The learning rate of epoch `epoch` (from 0) of this fit."""
        if self.cools_down and epoch >= self.epochs - 1:
            return self.base_rate * COOLDOWN_FACTOR
        return self.base_rate

    def steps_per_epoch(self, train_size: int) -> int:
        """Batches in one pass over the (possibly sliced) training images."""
        used = min(train_size, self.train_slice or train_size)
        return math.ceil(used / self.batch_size)


@dataclass
class TrainingUpdate:
    """One report from a running fit: where it is and the epochs finished so far."""

    epoch: int
    epochs: int
    step: int
    steps: int
    history: list[dict[str, float]]
    epoch_done: bool = False


@dataclass
class TrainingResult:
    """What a finished (or stopped) fit left behind."""

    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False
    diverged: bool = False
    steps_per_second: float = 0.0
    # How many other learners' models trained in the same computation (`tutor.ml.fused`).
    together: int = 0


def gpu_devices() -> list[str]:
    """Names of the GPUs TensorFlow can see (an empty list on a CPU-only machine)."""
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def build_model(spec: ModelSpec = ModelSpec(), number_of_classes: int = 10, seed: int | None = None):
    """Build the model of `spec` the Keras 3 way: the input declared with `keras.Input`.

    Its first weights come from `seed` (a new one when None), which `seeds.model_seed` tells.
    The layers are named as a notebook's first model names them (`flatten`, `dense`,
    `dense_1`, ...). Keras numbers names across every model in the process, so on a shared
    server a learner's summary said `dense_37`, and the model diagram, drawn once for all
    learners with the same layers, was drawn again for each because the names differed.
    """
    import keras
    from keras import layers

    seed = new_seed() if seed is None else int(seed)
    seeds = kernel_seeds(seed)
    counts: dict[str, int] = {}

    def name(kind: str) -> str:
        number = counts.get(kind, 0)
        counts[kind] = number + 1
        return kind if number == 0 else f"{kind}_{number}"

    def kernel():
        return keras.initializers.GlorotUniform(seed=next(seeds))

    stack: list = [keras.Input(shape=(28, 28))]
    if spec.convolutional:
        stack += [
            layers.Reshape((28, 28, 1), name=name("reshape")),
            layers.Conv2D(32, 3, activation="relu", name=name("conv2d"), kernel_initializer=kernel()),
            layers.MaxPooling2D(name=name("max_pooling2d")),
            layers.Conv2D(64, 3, activation="relu", name=name("conv2d"), kernel_initializer=kernel()),
            layers.MaxPooling2D(name=name("max_pooling2d")),
        ]
    stack.append(layers.Flatten(name=name("flatten")))
    for units, activation in spec.hidden:
        stack.append(layers.Dense(units, activation=activation, name=name("dense"),
                                  kernel_initializer=kernel()))
    stack.append(layers.Dense(number_of_classes, name=name("dense"), kernel_initializer=kernel()))
    model = keras.Sequential(stack, name="sequential")
    model.brain_tutor_seed = seed
    return model


def layer_table(model) -> list[dict[str, object]]:
    """One row per layer (the input first): name, kind, output shape and parameter count."""
    rows: list[dict[str, object]] = [
        {"name": "input", "kind": "Input", "output_shape": "(None, 28, 28)", "params": 0}
    ]
    for layer in model.layers:
        rows.append(
            {
                "name": layer.name,
                "kind": type(layer).__name__,
                "output_shape": str(tuple(layer.output.shape)),
                "params": int(layer.count_params()),
            }
        )
    return rows


def summary_text(model) -> str:
    """`model.summary()` as plain text, the way it prints in a notebook."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=72)
    return "\n".join(lines).strip()


def parameter_count(model) -> int:
    """Trainable and untrainable weights together."""
    return int(model.count_params())


def make_optimizer(name: str = "adam", learning_rate: float | None = None):
    """An optimizer by name; None keeps Keras's default learning rate."""
    import keras

    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
    }
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return classes[name]() if learning_rate is None else classes[name](learning_rate)


def compile_model(model, settings: TrainSettings = TrainSettings()) -> None:
    """Compile with cross-entropy on raw outputs (logits) and the accuracy metric."""
    import keras

    model.compile(
        optimizer=make_optimizer(settings.optimizer, settings.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=settings.steps_per_execution,
    )


# The validation images are scored in batches of 500, not of the training batch size: the
# scores are the same (averages over all 10,000 images), but 20 steps instead of 313 at batch
# 32. Each step costs Python time, and on a shared server that time is every learner's.
VALIDATION_BATCH_SIZE = 500


def _progress_callback(
    epochs: int,
    steps: int,
    on_update: Callable[[TrainingUpdate], None] | None,
    stop: threading.Event | None,
    every: float,
):
    """A Keras callback that reports progress and stops the fit when `stop` is set.

    Defined inside a function so that importing this module does not import Keras.
    """
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        # Only plain Python values are touched, so Keras may call us from its helper thread.
        async_safe = True

        def __init__(self) -> None:
            super().__init__()
            self.history: list[dict[str, float]] = []
            self.epoch = 0
            self.stopped = False
            self.diverged = False
            self.last_report = time.monotonic()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1
            if on_update:
                on_update(TrainingUpdate(self.epoch, epochs, 0, steps, list(self.history)))

        def on_train_batch_end(self, batch, logs=None):
            if stop is not None and stop.is_set():
                self.stopped = True
                self.model.stop_training = True
            now = time.monotonic()
            if on_update and now - self.last_report >= every and batch + 1 < steps:
                self.last_report = now
                on_update(TrainingUpdate(self.epoch, epochs, batch + 1, steps, list(self.history)))

        def on_epoch_end(self, epoch, logs=None):
            if self.stopped:
                return  # a partly finished epoch is not reported as an epoch
            row = {key: float(value) for key, value in (logs or {}).items()}
            if any(not math.isfinite(value) for value in row.values()):
                self.diverged = True
                self.model.stop_training = True
            self.history.append(row)
            if on_update:
                on_update(
                    TrainingUpdate(self.epoch, epochs, steps, steps, list(self.history), True)
                )

    return ProgressCallback()


def training_arrays(dataset: Dataset, settings: TrainSettings):
    """The arrays a fit uses: raw or scaled to 0-1, and sliced when asked."""
    train_images, train_labels = dataset.train_images, dataset.train_labels
    valid_images, valid_labels = dataset.valid_images, dataset.valid_labels
    if settings.scaled:
        train_images, valid_images = dataset.scaled("train"), dataset.scaled("valid")
    if settings.train_slice:
        train_images = train_images[: settings.train_slice]
        train_labels = train_labels[: settings.train_slice]
    return train_images, train_labels, valid_images, valid_labels


_TENSORS: dict[int, tuple[np.ndarray, object]] = {}  # id(array) -> (array, its tensor)
_TENSORS_LOCK = threading.Lock()
_TENSORS_KEPT = 8  # the data set's arrays: raw and scaled images of both splits, their labels


def cached_tensor(array: np.ndarray):
    """`array` as a TensorFlow tensor, made once per process for the shared data set arrays."""
    import tensorflow as tf

    with _TENSORS_LOCK:
        cached = _TENSORS.pop(id(array), None)
        if cached is None or cached[0] is not array:
            cached = (array, tf.convert_to_tensor(array))  # the array is kept: its id stays its own
        _TENSORS[id(array)] = cached  # most recently used last
        while len(_TENSORS) > _TENSORS_KEPT:
            del _TENSORS[next(iter(_TENSORS))]
    return cached[1]


def input_pipeline(images: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool,
                   count: int | None = None, order=None):
    """Batches of (images, labels) from the first `count` rows, as a `tf.data.Dataset`: the same
    batches `model.fit` makes of arrays, without tf.data's autotuning thread.

    `order`: a variable holding the order of the rows for the epoch about to run (`EpochOrders`
    sets it); else, with `shuffle`, tf.data draws a fresh order every epoch.

    Why: a tf.data iterator with autotuning (the default) runs a model thread, and the iterator's
    destructor joins it. Given arrays, Keras builds such a pipeline (parallel map, autotuned
    prefetch) and swaps in a fresh iterator every epoch; after a long CNN epoch, the join when
    `fit` returned sometimes waited out the thread's timed sleep: 6-25 s on a busy machine
    (benchmarks/cnn_teardown.py has the stacks and the figures). Here the
    indices are shuffled afresh every epoch and each batch is one gather from tensors made once
    per process; autotuning is off, so there is no model thread to wait for.
    """
    import tensorflow as tf

    images, labels = cached_tensor(images), cached_tensor(labels)
    count = int(images.shape[0]) if count is None else min(int(count), int(images.shape[0]))
    if order is not None:  # read when an epoch's iterator starts, after EpochOrders set it
        indices = tf.data.Dataset.range(1).flat_map(
            lambda _: tf.data.Dataset.from_tensor_slices(order.read_value()),
        ).apply(tf.data.experimental.assert_cardinality(count))  # so Keras knows the epoch's end
    else:
        indices = tf.data.Dataset.range(count)
        if shuffle:
            indices = indices.shuffle(count, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size).map(
        lambda index: (tf.gather(images, index), tf.gather(labels, index))
    )
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.with_options(options)


def train(
    model,
    dataset: Dataset,
    settings: TrainSettings = TrainSettings(),
    on_update: Callable[[TrainingUpdate], None] | None = None,
    stop: threading.Event | None = None,
    validation_slice: int | None = None,
) -> TrainingResult:
    """Fit `model` and report every epoch (and every few steps) through `on_update`.

    Setting `stop` ends the fit after the current batch; the epochs finished so far stay.
    A loss that turns into NaN or infinity ends the fit with `diverged=True`.
    The fit is the one `codegen.fit_code(settings)` shows, fed by `input_pipeline` (same batches)
    in the order `epoch_order` gives for `settings.seed`: a model built from the same seed and
    trained with the same settings learns the same way, step for step.
    """
    import keras

    # The whole arrays, which the pipelines slice: their tensors are made once per process.
    train_images, train_labels, valid_images, valid_labels = training_arrays(
        dataset, replace(settings, train_slice=None))
    count = min(len(train_images), settings.train_slice or len(train_images))
    seed = settings.seed if settings.seed is not None else new_seed()
    order, orders = epoch_orders(seed, steps_taken(model), count)
    steps = settings.steps_per_epoch(len(dataset.train_images))
    every = 0.25  # seconds between progress reports: often enough to look live, cheap
    callback = _progress_callback(settings.epochs, steps, on_update, stop, every)
    callbacks = [orders, callback]
    if settings.cools_down:
        # After the progress callback, which so keeps "learning_rate" out of the history rows.
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch: settings.rate_at(epoch)))
    base_rate = model.optimizer.learning_rate.numpy() if callbacks[2:] else None
    started = time.perf_counter()
    try:
        model.fit(
            input_pipeline(train_images, train_labels, settings.batch_size, shuffle=True,
                           count=count, order=order),
            epochs=settings.epochs,
            verbose=0,
            validation_data=input_pipeline(valid_images, valid_labels, VALIDATION_BATCH_SIZE,
                                           shuffle=False, count=validation_slice or None),
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles; saying so keeps Keras from warning
        )
    finally:
        if base_rate is not None:
            model.optimizer.learning_rate = float(base_rate)  # the next fit starts where this did
    seconds = time.perf_counter() - started
    done_steps = max(1, len(callback.history)) * steps
    return TrainingResult(
        history=callback.history,
        seconds=seconds,
        stopped=callback.stopped,
        diverged=callback.diverged,
        steps_per_second=done_steps / seconds if seconds > 0 else 0.0,
    )


def predict_logits(model, images: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Raw outputs (logits) for a batch of images, without `model.predict`'s overhead."""
    if images.ndim == 2:
        images = images[np.newaxis]
    outputs = [
        np.asarray(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, 10), dtype=np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Turn raw outputs into probabilities that sum to one (row by row)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def confusion_counts(true_labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """A classes x classes table: row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (true_labels.astype(int), predicted.astype(int)), 1)
    return matrix


def output_weights(model) -> np.ndarray:
    """The last Dense layer's kernel, (inputs, 10): what each output neuron weighs."""
    kernel = model.layers[-1].get_weights()[0]
    return np.asarray(kernel)


def copy_weights(model) -> list[np.ndarray]:
    """A snapshot of every weight, to restore the last good model after a failed fit."""
    return [np.array(weights, copy=True) for weights in model.get_weights()]


def restore_weights(model, weights: Sequence[np.ndarray]) -> None:
    """Put a snapshot from `copy_weights` back."""
    model.set_weights(list(weights))
