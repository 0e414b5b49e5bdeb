"""Keras models to bytes and back, and a model's state into another process's copy of it.

The storage side keeps the bytes (SQLite or PostgreSQL) and never imports Keras itself.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any


def model_to_bytes(model: Any) -> bytes:
    """The model as a `.keras` file's bytes (architecture, weights and optimizer state)."""
    with tempfile.TemporaryDirectory(prefix="brain-tutor-model-") as folder:
        path = Path(folder) / "model.keras"
        model.save(str(path))
        return path.read_bytes()


def load_model_file(path: Path) -> Any:
    """A model saved by `model_to_bytes` (or `model.save`), compiled as it was saved; only
    Keras's safe loading (no arbitrary code in a saved file)."""
    import keras

    with warnings.catch_warnings():
        # A model compiled but never trained has an optimizer without state: nothing is lost.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        return keras.saving.load_model(str(path), compile=True, safe_mode=True)


def model_from_bytes(data: bytes) -> Any:
    """The model whose `.keras` file `data` is."""
    with tempfile.TemporaryDirectory(prefix="brain-tutor-model-") as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(bytes(data))
        return load_model_file(path)


def optimizer_state(model: Any) -> list:
    """The optimizer's variables as arrays (step count, learning rate, then its slots): what
    `load_state` puts back, in another process or after a fit together."""
    return [variable.numpy() for variable in model.optimizer.variables]


def load_state(model: Any, weights: list, optimizer_state: list) -> None:
    """Put weights and optimizer state (Adam's moments, the step count) into a compiled `model`.

    Both ends use it: the worker before a fit, the server after. An optimizer that has never
    stepped holds only its step count and learning rate, which come first in a built one too;
    so a built optimizer takes all of a fitted state, and the first two of an unfitted one.
    """
    model.set_weights(weights)
    optimizer = model.optimizer
    if len(optimizer.variables) != len(optimizer_state):
        optimizer.build(model.trainable_variables)  # make the slots to fill
    for variable, value in zip(optimizer.variables, optimizer_state, strict=False):
        variable.assign(value)
