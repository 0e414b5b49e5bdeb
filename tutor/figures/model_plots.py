"""Figures of the model itself: its layers, its ten outputs, its weights and the classes it confuses.

They take what the ML side reports (layer summaries, output rows, weight and confusion
matrices) as plain arrays and dicts, so this module never touches Keras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from tutor.figures.cache import shared_between_learners
from tutor.figures.common import PlotInputError, _class_index, _class_names, _grid_shape, _number, _percent
from tutor.reply import Plot

__all__ = ["confusion_matrix", "model_diagram", "output_bars", "weight_maps"]

# Colours chosen to stay distinguishable for the common colour-vision deficiencies.
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


def _is_numeric(data: object) -> bool:
    """True when data converts to a numeric array (so we can say 'must be numbers' clearly)."""
    try:
        array = np.asarray(data)
    except (TypeError, ValueError):
        return False
    return bool(np.issubdtype(array.dtype, np.number) or array.dtype == bool)


def _article(word: str) -> str:
    """'a' or 'an' before a layer kind, so the alt text reads 'an Input layer'."""
    return "an" if word[:1].lower() in "aeiou" else "a"


# --------------------------------------------------------------------------- figures


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
