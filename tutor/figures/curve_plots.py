"""Figures of training over epochs: one run's loss and accuracy, and one metric across several runs.

They take Keras-style histories (a list of per-epoch dicts of metrics) and work on a partial
history too, so a figure can be redrawn after every epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tutor.figures.common import PlotInputError, _join_limited, _loss, _percent
from tutor.reply import Plot

__all__ = ["compare_curves", "training_curves"]

# Colours chosen to stay distinguishable for the common colour-vision deficiencies.
_TRAIN_COLOUR = "#1f77b4"
_VAL_COLOUR = "#d95f02"


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


def _epoch_axis(ax: Axes, last_epoch: int) -> None:
    """Label the x axis with whole epochs from 1, even when only one epoch is done yet."""
    ax.set_xlabel("epoch")
    ax.set_xlim(0.5, last_epoch + 0.5)
    if last_epoch <= 12:
        ax.set_xticks(range(1, last_epoch + 1))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# --------------------------------------------------------------------------- figures


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
