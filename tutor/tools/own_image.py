"""Turn a learner's own picture (photo, drawing, webcam frame) into a Fashion-MNIST-like input.

Each step is kept so the learner sees what the model really gets: greyscale, inverted so the
item is light on dark, cropped to the item, resized into a 28 x 28 frame, scaled to 0-1.
Pure NumPy and Pillow; no Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from tutor.tools.registry import ToolInputError

MAX_SIDE = 4096
INK_THRESHOLD = 40  # pixel value above which (after inverting) a pixel counts as part of the item
HONEST_NOTE = (
    "\n\nA word of honesty: Fashion-MNIST pictures are small, centred, light-on-black product "
    "photos with no background. Real photos have shadows, backgrounds, angles and colours the "
    "model never saw, so it is easily fooled. Getting the preprocessing right (the steps above) "
    "matters as much as the model."
)


@dataclass(frozen=True)
class Step:
    """One preprocessing step: its name and the picture after it."""

    name: str
    image: np.ndarray


def to_array(image: Any) -> np.ndarray:
    """An RGB(A) or grey array from what the UI or the API hands over; friendly errors otherwise."""
    if isinstance(image, dict):  # a Gradio sketchpad value: {"composite": ..., "layers": ...}
        image = image.get("composite") if image.get("composite") is not None else image.get("background")
    if image is None:
        raise ToolInputError("I didn't get a picture. Upload one, draw on the sketch pad, or use "
                             "the webcam, then press Predict.")
    if isinstance(image, Image.Image):
        image = np.asarray(image)
    if isinstance(image, (bytes, bytearray)):
        import io

        try:
            image = np.asarray(Image.open(io.BytesIO(image)))
        except (UnidentifiedImageError, OSError) as error:
            raise ToolInputError("That file is not a picture I can read. Try a PNG or JPEG.") from error
    array = np.asarray(image)
    if array.dtype == object or array.ndim not in (2, 3) or min(array.shape[:2]) < 8:
        raise ToolInputError("That doesn't look like a picture (it should be at least 8 x 8 "
                             "pixels). Try a PNG or JPEG photo or a drawing.")
    if max(array.shape[:2]) > MAX_SIDE:
        raise ToolInputError(f"That picture is larger than {MAX_SIDE} pixels on a side; please "
                             "use a smaller one.")
    return array


def greyscale(array: np.ndarray) -> np.ndarray:
    """0-255 grey; transparent areas (a sketch's background) become white paper."""
    values = array.astype(np.float32)
    if values.max() <= 1.0 and array.dtype.kind == "f":
        values = values * 255.0
    if values.ndim == 2:
        return np.clip(values, 0, 255).astype(np.uint8)
    channels = values.shape[2]
    if channels == 4:
        alpha = values[:, :, 3:4] / 255.0
        values = values[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    elif channels == 2:
        alpha = values[:, :, 1:2] / 255.0
        values = values[:, :, :1] * alpha + 255.0 * (1.0 - alpha)
    if values.shape[2] == 1:
        return np.clip(values[:, :, 0], 0, 255).astype(np.uint8)
    grey = values[:, :, 0] * 0.299 + values[:, :, 1] * 0.587 + values[:, :, 2] * 0.114
    return np.clip(grey, 0, 255).astype(np.uint8)


def preprocess(image: Any) -> list[Step]:
    """Every step from the learner's picture to the 28 x 28 input the model reads."""
    array = to_array(image)
    grey = greyscale(array)
    steps = [Step("greyscale", grey)]
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 127:  # a light background: the data set has light items on black
        grey = 255 - grey
        steps.append(Step("inverted", grey))
    # the item is what stands out from the background (the border), whatever its noise
    edge = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]]).astype(np.float32)
    threshold = max(INK_THRESHOLD, float(np.median(edge)) + max(30.0, 4.0 * float(edge.std())))
    ink = grey > threshold
    if ink.sum() < 10 or grey.max() - grey.min() < 30:
        raise ToolInputError("The picture looks empty: I can't find an item in it. Draw the "
                             "outline of a piece of clothing, or upload a photo of one.")
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    cropped = grey[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    steps.append(Step("cropped", cropped))
    height, width = cropped.shape
    scale = 24.0 / max(height, width)  # the items fill most of the 28 x 28 frame in the data set
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(cropped).resize(size, Image.Resampling.LANCZOS))
    frame = np.zeros((28, 28), dtype=np.uint8)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = resized
    steps.append(Step("28 x 28", frame))
    return steps
