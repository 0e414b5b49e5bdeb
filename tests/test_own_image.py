"""A learner's own picture: preprocessing step by step, friendly refusals, and the prediction.

The pictures are drawn here with Pillow: a shoe outline as the sketch pad sends it, a "photo"
of a coloured item on a light-grey background, and a light item on a dark background.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tutor.ml import backend
from tutor.ml.backend import TrainSettings
from tutor.tools import lab, own_image
from tutor.tools.lesson import CLASS_NAMES

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



# The item of the noisy "photo": a T-shirt, 201 x 181 pixels, in a dark blue.
SHIRT = [(110, 40), (190, 40), (250, 90), (220, 125), (200, 110), (200, 220), (100, 220), (100, 110),
         (80, 125), (50, 90)]
SHIRT_BOX = (181, 201)  # height, width


def shirt_photo(background: int = 210, noise: float = 6.0, seed: int = 0) -> np.ndarray:
    """A dark-blue T-shirt on a light-grey background, with strong camera-like noise."""
    canvas = Image.new("RGB", (320, 260), (background,) * 3)
    ImageDraw.Draw(canvas).polygon(SHIRT, fill=(40, 70, 140))
    values = np.asarray(canvas, dtype=np.float64)
    values += np.random.default_rng(seed).normal(0.0, noise, values.shape)
    return np.clip(values, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_noisy_photo_is_cropped_to_the_item_not_the_whole_picture(seed):
    picture = shirt_photo(seed=seed)
    steps = own_image.preprocess(picture)
    assert names(steps) == ["greyscale", "inverted", "cropped", "28 x 28"]
    assert steps[0].image.shape == picture.shape[:2]
    height, width = steps[2].image.shape
    assert abs(height - SHIRT_BOX[0]) <= 3 and abs(width - SHIRT_BOX[1]) <= 3, (height, width)
    assert height * width < 0.6 * picture.shape[0] * picture.shape[1]  # much smaller than the photo
    frame = steps[-1].image
    assert_like_the_data_set(frame, tolerance=3)
    assert frame[14, 14] > 150


def test_a_light_item_on_a_dark_background_is_not_inverted():
    picture = dark_shirt()
    steps = own_image.preprocess(picture)
    assert names(steps) == ["greyscale", "cropped", "28 x 28"]
    assert np.array_equal(steps[0].image, picture)
    height, width = steps[1].image.shape
    assert abs(height - 161) <= 2 and abs(width - 171) <= 2, (height, width)  # the shirt's box
    assert steps[1].image.max() == 220  # still light: nothing was inverted
    assert_like_the_data_set(steps[-1].image)


def text_file_bytes() -> bytes:
    return b"Dear tutor,\nthis is my shopping list, not a picture.\n" * 20


def truncated_png() -> bytes:
    whole = png_bytes(sketch("RGBA"))
    return whole[: len(whole) // 2]


EMPTY = "looks empty"
BAD_INPUTS = {
    "all white": (lambda: np.full((120, 100, 3), 255, dtype=np.uint8), EMPTY),
    "all transparent RGBA": (lambda: np.zeros((280, 280, 4), dtype=np.uint8), EMPTY),
    "empty sketch pad": (lambda: {"composite": np.zeros((280, 280, 4), dtype=np.uint8), "layers": [],
                                  "background": None}, EMPTY),
    "None": (lambda: None, "didn't get a picture"),
    "sketch pad without a composite": (lambda: {"composite": None}, "didn't get a picture"),
    "3 x 3": (lambda: np.full((3, 3), 128, dtype=np.uint8), "at least 8 x 8"),
    "text file bytes": (text_file_bytes, "not a picture I can read"),
    "truncated PNG": (truncated_png, "not a picture I can read"),
    "5000 x 5000": (lambda: np.zeros((5000, 5000), dtype=np.uint8), "larger than 4096"),
}


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_pictures_get_a_clear_message(kind):
    make, phrase = BAD_INPUTS[kind]
    with pytest.raises(own_image.ToolInputError) as raised:
        own_image.preprocess(make())
    assert phrase in str(raised.value), str(raised.value)
    assert str(raised.value).rstrip().endswith((".", "!")), str(raised.value)


# ----- the prediction -------------------------------------------------------------------------


def bar_heights(plot) -> np.ndarray:
    """The ten bars of an output chart, as drawn."""
    axes = plot.figure.axes[0]
    return np.array([bar.get_height() for bar in axes.containers[0]])


@pytest.mark.parametrize("scaled", [True, False], ids=["scaled pixels", "raw pixels"])
def test_predict_own_image_shows_the_steps_and_the_ten_outputs(session, scaled):
    session.settings = TrainSettings(scaled=scaled)
    reply = lab.predict_own_image(session, photo())

    assert reply.kind == "tool", reply.text
    assert len(reply.figures) == 2
    gallery, bars = reply.figures
    for plot in reply.figures:
        assert isinstance(plot.alt, str) and len(plot.alt) > 30 and plot.title, plot.alt
    steps = ["greyscale", "inverted", "cropped", "28 x 28"] + (["scaled to 0-1"] if scaled else [])
    assert gallery.alt.startswith(f"Your picture, step by step: {len(steps)} images"), gallery.alt
    for step in steps:
        assert step in gallery.alt, (step, gallery.alt)
    assert "Bar chart of the 10 output neurons" in bars.alt

    said = [name for name in CLASS_NAMES if f"**{name}**" in reply.text]
    assert len(said) == 1, reply.text
    assert own_image.HONEST_NOTE.strip() in reply.text and "fooled" in reply.text
    assert "has not trained yet" in reply.text

    frame = own_image.preprocess(photo())[-1].image  # 28 x 28 uint8
    expected = backend.predict_logits(session.model, frame[None] / 255.0 if scaled else frame[None])[0]
    drawn = bar_heights(bars)
    assert np.allclose(drawn, expected, rtol=1e-4, atol=1e-4), (drawn, expected)
    assert said == [CLASS_NAMES[int(expected.argmax())]]
    if scaled:  # scaled once: not the near-zero outputs of a picture divided by 255 twice
        twice = backend.predict_logits(session.model, frame[None] / 255.0 / 255.0)[0]
        assert not np.allclose(drawn, twice, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("image", [None, text_file_bytes()], ids=["None", "text file bytes"])
def test_tutor_predict_own_image_turns_bad_input_into_an_error_reply(tutor_instance, session, image):
    reply = tutor_instance.predict_own_image(session, image)
    assert reply.kind == "error", reply.text
    assert reply.text and not reply.figures
    assert "picture" in reply.text and "Something went wrong" not in reply.text
    assert reply.options  # the learner always has a way on
