"""Seeds: where a model's first weights and its images' order come from, so a run can be repeated.

A model starts from one seed (`tutor.ml.backend.build_model`): its kernels' initializers are
seeded from it, and every epoch of every fit shuffles the training images in an order that the
seed, the steps the model took before the fit and the epoch decide (`epoch_order`). Nothing here
touches process-wide state (`keras.utils.set_random_seed` would): a server builds and trains
many learners' models at once, in threads and in worker processes, and each keeps its own seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np

SEED_RANGE = (1, 1_000_000)  # short enough to read out and type back


def new_seed(rng: random.Random | None = None) -> int:
    """A seed for a new model's start, from the learner's own `rng` (else from the OS)."""
    return (rng or random.SystemRandom()).randrange(*SEED_RANGE)


def kernel_seeds(seed: int) -> Iterator[int]:
    """The seeds of the kernels' initializers, layer by layer, for a model started from `seed`.

    They are the ones Keras draws itself after `keras.utils.set_random_seed(seed)` (each
    unseeded initializer takes `random.randint(1, 10**9)` from Python's generator, which that
    call seeds), so the code the learner sees builds the same first weights. Here the generator
    is the model's own: `set_random_seed` is process-wide, and a server builds and trains many
    learners' models at once, in threads and worker processes.
    """
    draws = random.Random(seed)
    while True:
        yield draws.randint(1, int(1e9))


def model_seed(model) -> int | None:
    """The seed `build_model` started `model` from; None for a model loaded from a file."""
    return getattr(model, "brain_tutor_seed", None)


def starts_from(model, seed: int) -> bool:
    """Whether `model`'s layers were built from `seed` (read from their initializers' seeds,
    which a saved model keeps)."""
    found = [getattr(layer.kernel_initializer, "seed", None)
             for layer in model.layers if hasattr(layer, "kernel_initializer")]
    seeds = kernel_seeds(seed)
    return bool(found) and found == [next(seeds) for _ in found]


def epoch_order(seed: int, start: int, epoch: int, count: int) -> np.ndarray:
    """The order of the first `count` training images in `epoch` (from 0) of a fit that began
    after `start` steps of a model started from `seed`: the same numbers give the same order,
    in this process or another, whatever else runs there."""
    return np.random.default_rng([int(seed), int(start), int(epoch)]).permutation(count)


def epoch_orders(seed: int, start: int, count: int):
    """A variable with the images' order and the callback that sets it as each epoch begins
    (Keras starts an epoch's pass over the data after calling `on_epoch_begin`)."""
    import keras
    import tensorflow as tf

    order = tf.Variable(epoch_order(seed, start, 0, count), trainable=False, dtype=tf.int64)

    class EpochOrders(keras.callbacks.Callback):
        async_safe = True  # on_epoch_begin is never dispatched to a helper thread

        def on_epoch_begin(self, epoch, logs=None):
            order.assign(epoch_order(seed, start, epoch, count))

    return order, EpochOrders()


def steps_taken(model) -> int:
    """How many steps the model's optimizer has taken: where a fit begins in its history."""
    try:
        return int(model.optimizer.iterations.numpy())
    except AttributeError:  # not compiled: a fit would fail anyway
        return 0
