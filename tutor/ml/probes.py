"""Looking inside a trained model: what its layers compute for an image."""

from __future__ import annotations

from typing import Any

import numpy as np


def first_convolution(model: Any, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the first Conv2D layer's kernels for the first input channel, shape (height, width,
    filters); that layer's output for `images[0]`, shape (rows, cols, filters)).

    Raises ValueError when the model has no Conv2D layer.
    """
    import keras

    convolution = next((layer for layer in model.layers if type(layer).__name__ == "Conv2D"), None)
    if convolution is None:
        raise ValueError("this model has no convolution layer")
    kernels = np.asarray(convolution.get_weights()[0])[:, :, 0, :]
    probe = keras.Model(model.inputs[0], convolution.output)
    activations = np.asarray(probe(images, training=False))[0]
    return kernels, activations
