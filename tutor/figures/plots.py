"""Figures the tutor shows, each with a one-sentence alt text built from the same data.

Every function takes plain numpy arrays, lists and dicts and returns a ``Plot``. Figures are
made with ``matplotlib.figure.Figure`` directly and never through ``matplotlib.pyplot``:
pyplot keeps global state that is not thread-safe, and many learners share one server
process. Nothing here imports Keras, TensorFlow or Gradio, so the figures can be drawn
and tested anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import MaxNLocator

from tutor.reply import Plot

__all__ = [
    "PlotInputError",
    "compare_curves",
    "confusion_matrix",
    "image_gallery",
    "image_with_colorbar",
    "model_diagram",
    "output_bars",
    "sample_grid",
    "save_png",
    "to_png_bytes",
    "training_curves",
    "weight_maps",
]


class PlotInputError(ValueError):
    """Data a plot cannot be drawn from; a ValueError, so callers may catch either."""


# Colours chosen to stay distinguishable for the common colour-vision deficiencies.
_TRAIN_COLOUR = "#1f77b4"
_VAL_COLOUR = "#d95f02"
_PREDICTED_COLOUR = "#d95f02"
_OTHER_COLOUR = "#b8c0cc"
_LAYER_COLOURS = {
    "Input": "#e8e8e8",
    "InputLayer": "#e8e8e8",
    "Flatten": "#fff2cc",
    "Dense": "#dae8fc",
    "Conv2D": "#d5e8d4",
    "MaxPooling2D": "#f8cecc",
    "Dropout": "#e1d5e7",
    "Rescaling": "#fde9d9",
}
_MAX_ALT_ITEMS = 10


# --------------------------------------------------------------------------- output helpers


def to_png_bytes(plot: Plot) -> bytes:
    """Render a plot to PNG bytes, for a browser or a notebook that wants the image inline."""
    return plot.png()


def save_png(plot: Plot, path: str | Path) -> Path:
    """Write a plot to a PNG file (creating its folder) and return where it went."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(plot.png())
    return target


# --------------------------------------------------------------------------- shared figures

# Figures kept. Drawn in this process, one holds 1.2 MB (a flashcard) to 6.5 MB (the 25-image
# grid) with its canvas; drawn by the helper process (a server), only its PNG is added.
SHARED_PLOT_LIMIT = 32
_shared_plots: OrderedDict[tuple, tuple[Plot, list[np.ndarray]]] = OrderedDict()
_shared_lock = threading.Lock()


def _argument_key(value: object, keep: list[np.ndarray]) -> object:
    """A hashable stand-in for one argument; raises TypeError for what it cannot describe.

    Small arrays are keyed by their bytes. A large read-only array (the shared data set) is
    keyed by its identity, and `keep` holds it so that the identity cannot be reused while
    the figure is cached; hashing 47 MB of training images per call would cost more than
    some figures.
    """
    if isinstance(value, np.ndarray):
        if value.nbytes > 1_000_000 and not value.flags.writeable:
            keep.append(value)
            return ("array", id(value), value.shape, value.dtype.str)
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16)
        return ("array", value.shape, value.dtype.str, digest.digest())
    if value is None or isinstance(value, (str, bool, int, float, np.generic)):
        return (type(value).__name__, value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, (list, tuple)):
        return ("sequence", tuple(_argument_key(item, keep) for item in value))
    if isinstance(value, Mapping):
        return ("mapping", tuple((str(key), _argument_key(item, keep)) for key, item in value.items()))
    raise TypeError(f"cannot key a {type(value).__name__}")


def shared_between_learners(function: Callable[..., Plot]) -> Callable[..., Plot]:
    """Draw a figure once for everyone who asks for it with the same data.

    Many learners see the same figures (the first 25 training images, the flashcards, the
    model diagram): drawing each again for every learner kept one core busy under a class of
    twenty. The cached Plot is shared read-only, and its PNG is drawn once (`Plot.png`).
    Only figures of the shared data and of model shapes use this; a learner's own curves and
    predictions are drawn for them alone.
    """

    @functools.wraps(function)
    def cached(*args: object, **kwargs: object) -> Plot:
        keep: list[np.ndarray] = []
        try:
            key = (function.__name__, _argument_key(args, keep), _argument_key(kwargs, keep))
        except TypeError:
            return function(*args, **kwargs)
        with _shared_lock:
            if key in _shared_plots:
                _shared_plots.move_to_end(key)
                return _shared_plots[key][0]
        plot = function(*args, **kwargs)  # two first askers may both draw; either result is right
        with _shared_lock:
            _shared_plots[key] = (plot, keep)
            while len(_shared_plots) > SHARED_PLOT_LIMIT:
                _shared_plots.popitem(last=False)
        return plot

    return cached


# --------------------------------------------------------------------------- small helpers


def _number(value: float) -> str:
    """Write a number the way a person would say it: whole numbers plainly, others to 3 digits."""
    value = float(value)
    if not math.isfinite(value):
        return (
            "not a number"
            if math.isnan(value)
            else ("infinity" if value > 0 else "minus infinity")
        )
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.3g}"


def _percent(value: float) -> str:
    """Write a 0-1 fraction as a percentage; non-finite values are named, not printed as nan%."""
    value = float(value)
    if not math.isfinite(value):
        return _number(value)
    return f"{value * 100:.1f}%"


def _loss(value: float) -> str:
    """Write a loss to three decimals, the precision Keras prints."""
    value = float(value)
    return f"{value:.3f}" if math.isfinite(value) else _number(value)


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


def _is_numeric(data: object) -> bool:
    """True when data converts to a numeric array (so we can say 'must be numbers' clearly)."""
    try:
        array = np.asarray(data)
    except (TypeError, ValueError):
        return False
    return bool(np.issubdtype(array.dtype, np.number) or array.dtype == bool)


def _class_names(class_names: Sequence[str], expected: int | None = None) -> list[str]:
    """Check the class names are strings (and as many as the data needs)."""
    if isinstance(class_names, str):
        raise PlotInputError("class_names must be a sequence of names, not one string")
    names = list(class_names)
    if not names:
        raise PlotInputError("class_names is empty")
    if not all(isinstance(name, str) for name in names):
        raise PlotInputError("class_names must all be strings")
    if expected is not None and len(names) != expected:
        raise PlotInputError(f"expected {expected} class names, got {len(names)}")
    return names


def _class_index(value: object, count: int, what: str) -> int:
    """Turn a label into a valid class index, refusing floats like 2.5 and out-of-range ints."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PlotInputError(f"{what} must be an integer class index; got {value!r}")
    index = int(value)
    if not 0 <= index < count:
        raise PlotInputError(
            f"{what} {index} is outside the {count} classes (0 to {count - 1})"
        )
    return index


def _series(
    history: Sequence[Mapping[str, float]],
    key: str,
    *,
    required: bool,
    what: str = "history",
) -> tuple[list[int], list[float]]:
    """Pull one metric out of a per-epoch history as (epoch numbers from 1, values)."""
    epochs: list[int] = []
    values: list[float] = []
    for number, logs in enumerate(history, start=1):
        if not isinstance(logs, Mapping):
            raise PlotInputError(
                f"epoch {number} of the {what} is not a dict of metrics: {logs!r}"
            )
        if key not in logs:
            if required:
                raise PlotInputError(
                    f"epoch {number} of the {what} has no {key!r} value"
                )
            continue
        try:
            value = float(logs[key])
        except (TypeError, ValueError):
            raise PlotInputError(
                f"epoch {number} of the {what} has a non-numeric {key!r}: {logs[key]!r}"
            ) from None
        epochs.append(number)
        values.append(value)
    return epochs, values


def _metric_label(metric: str) -> str:
    """Say a Keras metric name in words: 'val_accuracy' becomes 'validation accuracy'."""
    if metric.startswith("val_"):
        return "validation " + metric[4:].replace("_", " ")
    return "training " + metric.replace("_", " ")


def _metric_value(metric: str, value: float) -> str:
    """Accuracies read best as percentages, losses as plain numbers."""
    return _percent(value) if "acc" in metric else _loss(value)


def _join_limited(items: list[str]) -> str:
    """Join items for an alt text, cutting long lists so a screen reader stays brief."""
    if len(items) > _MAX_ALT_ITEMS:
        shown = items[:_MAX_ALT_ITEMS]
        return "; ".join(shown) + f"; and {len(items) - _MAX_ALT_ITEMS} more"
    return "; ".join(items)


def _article(word: str) -> str:
    """'a' or 'an' before a layer kind, so the alt text reads 'an Input layer'."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _epoch_axis(ax: Axes, last_epoch: int) -> None:
    """Label the x axis with whole epochs from 1, even when only one epoch is done yet."""
    ax.set_xlabel("epoch")
    ax.set_xlim(0.5, last_epoch + 0.5)
    if last_epoch <= 12:
        ax.set_xticks(range(1, last_epoch + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _grid_shape(count: int, cols: int) -> tuple[int, int]:
    """Rows and columns for count small multiples with at most cols per row."""
    cols = max(1, min(cols, count))
    return math.ceil(count / cols), cols


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


def training_curves(history: Sequence[Mapping[str, float]]) -> Plot:
    """Draw loss and accuracy per epoch, so the learner sees learning (and overfitting) happen.

    Works on a partial history too, so the UI can redraw it live after every epoch.
    """
    if isinstance(history, Mapping):
        raise PlotInputError(
            "history must be a list of per-epoch dicts, not one dict of lists"
        )
    history = list(history)
    if not history:
        raise PlotInputError("history is empty: train for at least one epoch first")
    epochs, loss = _series(history, "loss", required=True)
    _, accuracy = _series(history, "accuracy", required=True)
    val_loss_epochs, val_loss = _series(history, "val_loss", required=False)
    val_acc_epochs, val_accuracy = _series(history, "val_accuracy", required=False)

    # fixed margins, as for the output bars: drawn after every learner's every training
    fig = Figure(figsize=(7.0, 3.3))
    fig.subplots_adjust(left=0.105, right=0.98, top=0.8, bottom=0.15, wspace=0.36)
    loss_ax, acc_ax = fig.subplots(1, 2)
    panels = (
        (
            loss_ax,
            "Loss (lower is better)",
            "loss",
            (epochs, loss),
            (val_loss_epochs, val_loss),
        ),
        (
            acc_ax,
            "Accuracy (higher is better)",
            "accuracy",
            (epochs, accuracy),
            (val_acc_epochs, val_accuracy),
        ),
    )
    for ax, heading, ylabel, train, val in panels:
        ax.plot(*train, marker="o", color=_TRAIN_COLOUR, label="training")
        if val[0]:
            ax.plot(
                *val, marker="s", linestyle="--", color=_VAL_COLOUR, label="validation"
            )
        ax.set_title(heading)
        ax.set_ylabel(ylabel)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)  # fits the margin
        _epoch_axis(ax, len(history))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    title = "Training curves"
    fig.suptitle(
        f"{title} after {len(history)} epoch{'s' if len(history) != 1 else ''}"
    )

    count = len(history)
    train_part = (
        f"training accuracy is {_percent(accuracy[-1])} with loss {_loss(loss[-1])}"
    )
    if val_accuracy and val_loss:
        val_part = f"validation accuracy is {_percent(val_accuracy[-1])} with loss {_loss(val_loss[-1])}"
    elif val_accuracy:
        val_part = f"validation accuracy is {_percent(val_accuracy[-1])}"
    elif val_loss:
        val_part = f"validation loss is {_loss(val_loss[-1])}"
    else:
        val_part = "there is no validation data"
    alt = (
        f"Loss and accuracy per epoch over {count} epoch{'s' if count != 1 else ''}: "
        f"after epoch {count} the {train_part}, and {val_part}."
    )
    return Plot(figure=fig, alt=alt, title=title)


def output_bars(
    outputs: np.ndarray,
    class_names: Sequence[str],
    true_label: int | None,
    title: str = "What the ten output neurons say",
) -> Plot:
    """Show the output neurons as bars: the tallest one is the model's answer."""
    values = np.asarray(outputs, dtype=float) if _is_numeric(outputs) else None
    if values is None:
        raise PlotInputError("outputs must be numbers")
    if values.ndim == 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 1 or values.size == 0:
        raise PlotInputError(
            f"outputs must be one row of neuron outputs; got shape {values.shape}"
        )
    names = _class_names(class_names, expected=values.size)
    if not np.all(np.isfinite(values)):
        raise PlotInputError(
            "outputs contain NaN or infinity; the model may have diverged"
        )
    true_index = (
        None
        if true_label is None
        else _class_index(true_label, len(names), "true_label")
    )
    predicted = int(np.argmax(values))

    # fixed margins instead of constrained layout: a third less drawing time, and every
    # learner draws this figure at the prediction step, often many within the same second
    fig = Figure(figsize=(6.5, 4.0))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.21)
    ax = fig.add_subplot()
    colours = [
        _PREDICTED_COLOUR if i == predicted else _OTHER_COLOUR
        for i in range(len(names))
    ]
    bars = ax.bar(
        range(len(names)), values, color=colours, edgecolor="#555555", linewidth=0.6
    )
    ax.axhline(0, color="black", linewidth=0.8)
    handles = [
        Patch(
            facecolor=_PREDICTED_COLOUR,
            edgecolor="#555555",
            label=f"predicted: {names[predicted]}",
        ),
    ]
    if true_index is not None:
        bar = bars[true_index]
        bar.set_hatch("//")
        bar.set_edgecolor("black")
        bar.set_linewidth(1.6)
        top = max(float(values[true_index]), 0.0)
        ax.annotate(
            "true",
            xy=(true_index, top),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            fontweight="bold",
        )
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="black",
                hatch="//",
                label=f"true: {names[true_index]}",
            )
        )
    handles.append(
        Patch(facecolor=_OTHER_COLOUR, edgecolor="#555555", label="other classes")
    )
    ax.set_xticks(
        range(len(names)), names, rotation=40, ha="right", rotation_mode="anchor"
    )
    ax.set_ylabel("neuron output")
    ax.set_title(title)
    ax.margins(y=0.15)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=handles, fontsize=8, loc="best")

    alt = (
        f"Bar chart of the {len(names)} output neurons: the largest output is "
        f"{names[predicted]} at {_number(values[predicted])}, so the model predicts {names[predicted]}"
    )
    if true_index is None:
        alt += "."
    elif true_index == predicted:
        alt += (
            f"; the true class is also {names[true_index]}, so the prediction is right."
        )
    else:
        alt += (
            f"; the true class is {names[true_index]} (output {_number(values[true_index])}), "
            "so the prediction is wrong."
        )
    return Plot(figure=fig, alt=alt, title=title)


@shared_between_learners
def model_diagram(layers: Sequence[Mapping[str, object]]) -> Plot:
    """Draw the model as boxes from input to output, so its shape changes read top to bottom.

    Each layer is a dict with "name" and "kind" (required), "output_shape" (a string) and
    "params" (a whole number, 0 when missing).
    """
    entries = list(layers)
    if not entries:
        raise PlotInputError("layers is empty: a model needs at least its input")
    parsed: list[tuple[str, str, str, int]] = []
    for position, layer in enumerate(entries, start=1):
        if not isinstance(layer, Mapping):
            raise PlotInputError(f"layer {position} is not a dict: {layer!r}")
        for key in ("name", "kind"):
            if not isinstance(layer.get(key), str) or not layer.get(key):
                raise PlotInputError(
                    f"layer {position} needs a non-empty string {key!r}"
                )
        shape = layer.get("output_shape", "")
        if not isinstance(shape, str):
            shape = str(shape)
        params = layer.get("params", 0)
        if (
            isinstance(params, bool)
            or not isinstance(params, (int, np.integer))
            or params < 0
        ):
            raise PlotInputError(
                f"layer {position} 'params' must be a whole number >= 0; got {params!r}"
            )
        parsed.append((str(layer["name"]), str(layer["kind"]), shape, int(params)))
    total = sum(params for *_, params in parsed)

    count = len(parsed)
    fig = Figure(figsize=(5.0, 0.85 * count + 0.8), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, count)
    ax.axis("off")
    box_height = 0.62
    for row, (name, kind, shape, params) in enumerate(parsed):
        centre = count - row - 0.5
        ax.add_patch(
            FancyBboxPatch(
                (0.1, centre - box_height / 2),
                0.8,
                box_height,
                boxstyle="round,pad=0,rounding_size=0.03",
                facecolor=_LAYER_COLOURS.get(kind, "#f5f5f5"),
                edgecolor="#444444",
                linewidth=1.0,
            )
        )
        ax.text(
            0.5,
            centre + 0.11,
            f"{name}  ({kind})",
            ha="center",
            va="center",
            fontsize=10,
            fontweight="bold",
        )
        detail = (
            f"output {shape}   |   {params:,} params" if shape else f"{params:,} params"
        )
        ax.text(
            0.5,
            centre - 0.13,
            detail,
            ha="center",
            va="center",
            fontsize=9,
            family="monospace",
        )
        if row + 1 < count:
            ax.annotate(
                "",
                xy=(0.5, centre - 1 + box_height / 2),
                xytext=(0.5, centre - box_height / 2),
                arrowprops={"arrowstyle": "-|>", "color": "#444444", "linewidth": 1.2},
            )
    title = "Model diagram"
    ax.set_title(f"{title} – {total:,} parameters in total", fontsize=11)

    parts = []
    for name, kind, shape, params in parsed:
        shape_part = f" with output shape {shape}" if shape else ""
        parts.append(
            f"{name} ({_article(kind)} {kind} layer{shape_part} and {params:,} parameters)"
        )
    alt = f"Model diagram of {count} layers read top to bottom: " + ", then ".join(
        parts
    )
    alt += f"; {total:,} parameters in total."
    return Plot(figure=fig, alt=alt, title=title)


def weight_maps(weights: np.ndarray, class_names: Sequence[str]) -> Plot:
    """Show each output neuron's weights as a picture, so the learner sees what it looks for."""
    if not _is_numeric(weights):
        raise PlotInputError("weights must be numbers")
    matrix = np.asarray(weights, dtype=float)
    if matrix.ndim != 2 or matrix.size == 0:
        raise PlotInputError(
            f"weights must have shape (pixels, classes) like (784, 10); got {matrix.shape}"
        )
    pixels, classes = matrix.shape
    side = math.isqrt(pixels)
    if side * side != pixels:
        hint = " (transpose it?)" if math.isqrt(classes) ** 2 == classes else ""
        raise PlotInputError(
            f"weights have {pixels} rows, which is not a square image; expected (784, 10){hint}"
        )
    names = _class_names(class_names, expected=classes)
    if not np.all(np.isfinite(matrix)):
        raise PlotInputError("weights contain NaN or infinity")
    largest = float(np.max(np.abs(matrix)))
    scale = largest if largest > 0 else 1.0

    rows, cols = _grid_shape(classes, 5)
    fig = Figure(figsize=(1.35 * cols + 0.9, 1.5 * rows + 0.6), layout="constrained")
    axes = []
    shown = None
    for j in range(classes):
        ax = fig.add_subplot(rows, cols, j + 1)
        shown = ax.imshow(
            matrix[:, j].reshape(side, side), cmap="RdBu_r", vmin=-scale, vmax=scale
        )
        ax.set_title(names[j], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        axes.append(ax)
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    title = "Weights into each output neuron"
    fig.suptitle(title)

    alt = (
        f"{classes} maps of {side} by {side} weights, one per output neuron "
        f"({', '.join(names)}), on one shared scale from {_number(-scale)} to {_number(scale)}: "
        "red pixels push that neuron's output up when they are bright, blue pixels push it down, "
        "and white pixels barely matter."
    )
    return Plot(figure=fig, alt=alt, title=title)


def confusion_matrix(matrix: np.ndarray, class_names: Sequence[str]) -> Plot:
    """Show which classes the model mixes up, so the learner sees where its mistakes cluster."""
    if not _is_numeric(matrix):
        raise PlotInputError("matrix must be numbers")
    counts = np.asarray(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.size == 0:
        raise PlotInputError(
            f"matrix must be square (classes, classes); got shape {counts.shape}"
        )
    names = _class_names(class_names, expected=counts.shape[0])
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise PlotInputError("matrix must hold counts: finite numbers >= 0")
    total = float(counts.sum())
    if total <= 0:
        raise PlotInputError("matrix is all zeros: there are no predictions to show")

    size = len(names)
    fig = Figure(figsize=(6.8, 6.0), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    threshold = counts.max() / 2
    font = 8 if size <= 10 else 6
    for true in range(size):
        for pred in range(size):
            value = counts[true, pred]
            ax.text(
                pred,
                true,
                _number(value),
                ha="center",
                va="center",
                fontsize=font,
                color="white" if value > threshold else "black",
            )
    ax.set_xticks(range(size), names, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(size), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    title = "Confusion matrix"
    correct = float(np.trace(counts))
    accuracy = correct / total
    ax.set_title(f"{title} – {_percent(accuracy)} correct")

    off = counts.copy()
    np.fill_diagonal(off, 0)
    if off.max() > 0:
        true, pred = np.unravel_index(int(np.argmax(off)), off.shape)
        times = _number(off[true, pred])
        mistake = (
            f"the most common mistake is {names[true]} taken for {names[pred]}, "
            f"{times} time{'s' if off[true, pred] != 1 else ''}"
        )
    else:
        mistake = "there are no mistakes at all"
    alt = (
        f"Confusion matrix of {_number(total)} images with the true class in rows and the predicted "
        f"class in columns: {_number(correct)} ({_percent(accuracy)}) lie on the diagonal and are "
        f"correct, and {mistake}."
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


def compare_curves(
    runs: Sequence[tuple[str, Sequence[Mapping[str, float]]]],
    metric: str = "val_accuracy",
) -> Plot:
    """Overlay one metric from several trainings, so the learner sees which setting helped."""
    entries = list(runs)
    if not entries:
        raise PlotInputError("runs is empty: give at least one (label, history) pair")
    if not isinstance(metric, str) or not metric:
        raise PlotInputError("metric must be a metric name such as 'val_accuracy'")
    series: list[tuple[str, list[int], list[float]]] = []
    for position, run in enumerate(entries, start=1):
        if (
            not isinstance(run, (tuple, list))
            or len(run) != 2
            or not isinstance(run[0], str)
        ):
            raise PlotInputError(
                f"run {position} must be a (label, history) pair; got {run!r}"
            )
        label, history = run
        if isinstance(history, Mapping) or not list(history):
            raise PlotInputError(f"run {label!r} has an empty or malformed history")
        epochs, values = _series(
            list(history), metric, required=False, what=f"history of run {label!r}"
        )
        if not values:
            raise PlotInputError(f"run {label!r} has no {metric!r} values")
        series.append((label, epochs, values))

    words = _metric_label(metric)
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for label, epochs, values in series:
        ax.plot(epochs, values, marker="o", markersize=4, label=label)
    ax.set_ylabel(words)
    _epoch_axis(ax, max(epochs[-1] for _, epochs, _ in series))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    title = f"Comparing runs: {words}"
    ax.set_title(title[0].upper() + title[1:])

    lower_is_better = "loss" in metric
    finals = [(label, values[-1]) for label, _, values in series]
    finite = [(label, value) for label, value in finals if math.isfinite(value)]
    parts = [
        f"{label} ends at {_metric_value(metric, values[-1])} after epoch {epochs[-1]}"
        for label, epochs, values in series
    ]
    alt = f"{words[0].upper() + words[1:]} per epoch for {len(series)} run{'s' if len(series) != 1 else ''}: "
    alt += _join_limited(parts)
    if len(series) > 1 and finite:
        pick = min if lower_is_better else max
        best_label, best_value = pick(finite, key=lambda item: item[1])
        alt += f"; the best final value is {best_label} with {_metric_value(metric, best_value)}"
    alt += "."
    return Plot(figure=fig, alt=alt, title=title)
