"""Figures of pictures: one image with its colour bar, a grid of labelled samples, a captioned gallery.

They show the learner that an image is a grid of numbers, how varied each class is, and a few
chosen pictures side by side (mistakes, preprocessing steps, filters, activations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from tutor.figures.cache import shared_between_learners
from tutor.figures.common import (
    PlotInputError,
    _class_index,
    _class_names,
    _grid_shape,
    _join_limited,
    _number,
)
from tutor.reply import Plot

__all__ = ["image_gallery", "image_with_colorbar", "sample_grid"]


def _image_2d(image: object, what: str) -> np.ndarray:
    """Return a picture as an array imshow can draw, or say clearly why it is not one."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        ok = array.size > 0
    elif array.ndim == 3:
        ok = array.size > 0 and array.shape[-1] in (3, 4)
    else:
        ok = False
    if not ok:
        raise PlotInputError(
            f"{what} must be a non-empty 2-D greyscale image (height, width) "
            f"or an RGB(A) image; got shape {array.shape}"
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise PlotInputError(f"{what} must hold numbers; got dtype {array.dtype}")
    return array


# --------------------------------------------------------------------------- figures


@shared_between_learners
def image_with_colorbar(
    image: np.ndarray, title: str, label_name: str | None = None
) -> Plot:
    """Show one picture with a colour bar, so the learner sees an image is just a grid of numbers.

    With ``label_name=None`` the label is hidden (a flashcard before the reveal) and neither
    the figure nor the alt text gives the class away.
    """
    array = _image_2d(image, "image")
    if array.ndim != 2:
        raise PlotInputError(
            f"image must be 2-D (height, width); got shape {array.shape}"
        )
    height, width = array.shape
    low, high = _number(np.nanmin(array)), _number(np.nanmax(array))

    fig = Figure(figsize=(4.8, 4.2), layout="constrained")
    ax = fig.add_subplot()
    shown = ax.imshow(array, cmap="gray")
    fig.colorbar(shown, ax=ax, label="pixel value")
    caption = (
        f"label: {label_name}"
        if label_name is not None
        else "label: hidden – make your guess"
    )
    ax.set_title(f"{title}\n{caption}")
    ax.set_xlabel("column")
    ax.set_ylabel("row")

    if label_name is not None:
        described = f"labelled {label_name}"
    else:
        described = "whose label is hidden until you guess"
    alt = (
        f"{title}, a {height} by {width} greyscale picture {described}; pixel values run "
        f"from {low} (black) to {high} (white), see the colour bar."
    )
    return Plot(figure=fig, alt=alt, title=title)


@shared_between_learners
def sample_grid(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    indices: Sequence[int] | None = None,
    rows: int = 5,
    cols: int = 5,
) -> Plot:
    """Show many labelled examples at once, so the learner sees how varied each class is."""
    pictures = np.asarray(images)
    targets = np.asarray(labels)
    names = _class_names(class_names)
    if pictures.ndim != 3 or pictures.shape[0] == 0:
        raise PlotInputError(
            f"images must have shape (count, height, width); got {pictures.shape}"
        )
    if targets.ndim != 1:
        raise PlotInputError(
            f"labels must be 1-D class indices; got shape {targets.shape}"
        )
    if len(targets) != len(pictures):
        raise PlotInputError(f"{len(pictures)} images but {len(targets)} labels")
    if isinstance(rows, bool) or isinstance(cols, bool) or rows < 1 or cols < 1:
        raise PlotInputError(
            f"rows and cols must be at least 1; got rows={rows}, cols={cols}"
        )
    if indices is None:
        chosen = list(range(min(rows * cols, len(pictures))))
    else:
        chosen = [_class_index(i, len(pictures), "index") for i in indices]
        if not chosen:
            raise PlotInputError("indices is empty")
        if len(chosen) > rows * cols:
            raise PlotInputError(
                f"{len(chosen)} indices do not fit a {rows} by {cols} grid"
            )
    classes = [
        _class_index(targets[i], len(names), f"label of image {i}") for i in chosen
    ]

    grid_rows = math.ceil(len(chosen) / cols)
    grid_cols = min(cols, len(chosen))
    fig = Figure(
        figsize=(1.3 * grid_cols + 0.3, 1.45 * grid_rows + 0.5), layout="constrained"
    )
    for slot, (index, cls) in enumerate(zip(chosen, classes, strict=True)):
        ax = fig.add_subplot(grid_rows, grid_cols, slot + 1)
        ax.imshow(pictures[index], cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{index}: {names[cls]}", fontsize=8)
    title = "Fashion-MNIST samples and their labels"
    fig.suptitle(title)

    counts: dict[str, int] = {}
    for cls in classes:
        counts[names[cls]] = counts.get(names[cls], 0) + 1
    mix = ", ".join(
        f"{count} {name}"
        for name, count in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    first, last = chosen[0], chosen[-1]
    span = (
        f"indices {first} to {last}"
        if indices is None
        else f"{len(chosen)} chosen indices"
    )
    alt = (
        f"A {grid_rows} by {grid_cols} grid of {len(chosen)} greyscale images ({span}), each "
        f"captioned with its index and class name; it shows {mix}."
    )
    return Plot(figure=fig, alt=alt, title=title)


def image_gallery(
    images: np.ndarray | Sequence[np.ndarray],
    captions: Sequence[str],
    title: str,
    cols: int = 5,
) -> Plot:
    """Show a few captioned pictures side by side (mistakes, preprocessing steps, filters).

    Images may differ in size, so a list of arrays is accepted as well as one stacked array.
    """
    if isinstance(images, np.ndarray) and images.ndim == 2:
        raise PlotInputError(
            "images must be several pictures; wrap a single image in a list"
        )
    pictures = [_image_2d(picture, f"image {i}") for i, picture in enumerate(images)]
    if not pictures:
        raise PlotInputError("images is empty: nothing to show")
    if isinstance(captions, str):
        raise PlotInputError("captions must be a sequence of strings, one per image")
    texts = list(captions)
    if len(texts) != len(pictures):
        raise PlotInputError(f"{len(pictures)} images but {len(texts)} captions")
    if not all(isinstance(text, str) for text in texts):
        raise PlotInputError("captions must all be strings")
    if isinstance(cols, bool) or cols < 1:
        raise PlotInputError(f"cols must be at least 1; got {cols}")

    rows, grid_cols = _grid_shape(len(pictures), cols)
    lines = max(text.count("\n") + 1 for text in texts)
    width = min(7.0, 1.4 * grid_cols + 0.4)
    fig = Figure(
        figsize=(max(width, 2.5), (1.45 + 0.15 * lines) * rows + 0.5),
        layout="constrained",
    )
    for slot, (picture, text) in enumerate(zip(pictures, texts, strict=True)):
        ax = fig.add_subplot(rows, grid_cols, slot + 1)
        ax.imshow(picture, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(text, fontsize=8)
    fig.suptitle(title)

    flat = [
        ", ".join(line.strip() for line in text.splitlines() if line.strip())
        for text in texts
    ]
    alt = (
        f"{title}: {len(pictures)} image{'s' if len(pictures) != 1 else ''} in a {rows} by "
        f"{grid_cols} grid, captioned {_join_limited(flat)}."
    )
    return Plot(figure=fig, alt=alt, title=title)
