"""A learner's own picture: preprocessing step by step, friendly refusals, and the prediction.

The pictures are drawn here with Pillow: a shoe outline as the sketch pad sends it, a "photo"
of a coloured item on a light-grey background, and a light item on a dark background.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tutor import own_image

# An ankle boot seen from the side: the shaft on the left, the toe on the right.
BOOT = [(40, 40), (110, 40), (120, 140), (180, 160), (245, 185), (250, 235), (30, 235), (30, 140)]
# The item of the "photo": a shoe-like polygon, 221 x 151 pixels.
SHOE = [(50, 50), (130, 40), (150, 70), (260, 90), (270, 190), (50, 190)]
SHOE_BOX = (151, 221)  # height, width


def sketch(mode: str = "RGBA", size: tuple[int, int] = (280, 280)) -> np.ndarray:
    """Black strokes on a transparent (RGBA, like the sketch pad) or white (RGB) canvas."""
    background = (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255)
    ink = (0, 0, 0, 255) if mode == "RGBA" else (0, 0, 0)
    canvas = Image.new(mode, size, background)
    ImageDraw.Draw(canvas).line([*BOOT, BOOT[0]], fill=ink, width=8, joint="curve")
    return np.asarray(canvas)


def photo(background: int = 232, noise: float = 2.5, seed: int = 0) -> np.ndarray:
    """A dark-red shoe on a light-grey background, with camera-like noise."""
    canvas = Image.new("RGB", (320, 240), (background,) * 3)
    ImageDraw.Draw(canvas).polygon(SHOE, fill=(150, 40, 40))
    values = np.asarray(canvas, dtype=np.float64)
    values += np.random.default_rng(seed).normal(0.0, noise, values.shape)
    return np.clip(values, 0, 255).astype(np.uint8)


def dark_shirt() -> np.ndarray:
    """A light T-shirt shape on a black background, like the data set's own pictures."""
    canvas = Image.new("L", (200, 220), 0)
    ImageDraw.Draw(canvas).polygon(
        [(60, 30), (140, 30), (185, 70), (160, 95), (145, 80), (145, 190), (55, 190), (55, 80),
         (40, 95), (15, 70)], fill=220)
    return np.asarray(canvas)


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def names(steps) -> list[str]:
    return [step.name for step in steps]


def centre_of_mass(frame: np.ndarray) -> tuple[float, float]:
    weights = frame.astype(np.float64)
    rows, columns = np.indices(frame.shape)
    return float((rows * weights).sum() / weights.sum()), float((columns * weights).sum() / weights.sum())


def assert_like_the_data_set(frame: np.ndarray, tolerance: float = 4.0) -> None:
    """28 x 28 uint8, the item light on a dark frame, roughly centred and filling most of it."""
    assert frame.shape == (28, 28) and frame.dtype == np.uint8
    border = np.concatenate([frame[0], frame[-1], frame[:, 0], frame[:, -1]])
    assert border.mean() < 10, border.mean()  # dark around the item
    assert frame.max() > 150  # a light item
    row, column = centre_of_mass(frame)
    assert abs(row - 13.5) <= tolerance and abs(column - 13.5) <= tolerance, (row, column)
    ink = frame > own_image.INK_THRESHOLD
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1
    assert max(height, width) >= 22, (height, width)  # the long side fills the frame
    assert min(height, width) >= 12, (height, width)


# ----- preprocessing --------------------------------------------------------------------------

SKETCHES = {
    "sketch pad (RGBA dict)": lambda: {"composite": sketch("RGBA"), "layers": [], "background": None},
    "RGBA array": lambda: sketch("RGBA"),
    "RGB array": lambda: sketch("RGB"),
    "PIL image": lambda: Image.fromarray(sketch("RGB")),
    "PNG bytes": lambda: png_bytes(sketch("RGBA")),
}


@pytest.mark.parametrize("kind", list(SKETCHES))
def test_a_drawn_outline_is_inverted_cropped_and_framed(kind):
    steps = own_image.preprocess(SKETCHES[kind]())
    assert names(steps) == ["greyscale", "inverted", "cropped", "28 x 28"]
    grey = steps[0].image
    assert grey.shape == (280, 280) and grey.dtype == np.uint8
    assert grey[0, 0] == 255 and grey.min() == 0  # transparent paper became white, the ink black
    assert steps[1].image[0, 0] == 0 and steps[1].image.max() == 255
    height, width = steps[2].image.shape
    assert abs(height - (235 - 40 + 8)) <= 4 and abs(width - (250 - 30 + 8)) <= 4  # the boot's box
    assert_like_the_data_set(steps[-1].image)


def test_every_input_form_of_the_same_sketch_gives_the_same_frame():
    frames = [own_image.preprocess(make())[-1].image for make in SKETCHES.values()]
    for frame in frames[1:]:
        assert np.array_equal(frame, frames[0])


def test_a_photo_on_a_light_grey_background():
    picture = photo()
    steps = own_image.preprocess(picture)
    assert names(steps) == ["greyscale", "inverted", "cropped", "28 x 28"]
    assert steps[0].image.shape == picture.shape[:2]
    height, width = steps[2].image.shape
    assert abs(height - SHOE_BOX[0]) <= 3 and abs(width - SHOE_BOX[1]) <= 3, (height, width)
    frame = steps[-1].image
    assert_like_the_data_set(frame, tolerance=3)
    assert frame[14, 14] > 150  # the darker item became the light part

