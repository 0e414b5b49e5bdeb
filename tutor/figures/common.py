"""What every figure of the tutor shares: the input error, how numbers are worded, PNG output.

Every figure module takes plain numpy arrays, lists and dicts and returns a ``Plot``. Figures are
made with ``matplotlib.figure.Figure`` directly and never through ``matplotlib.pyplot``:
pyplot keeps global state that is not thread-safe, and many learners share one server
process. Nothing in tutor.figures imports Keras, TensorFlow or Gradio, so the figures can be
drawn and tested anywhere. The underscored helpers here serve the figure modules alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tutor.reply import Plot

__all__ = ["PlotInputError", "save_png", "to_png_bytes"]


class PlotInputError(ValueError):
    """Data a plot cannot be drawn from; a ValueError, so callers may catch either."""


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


def _join_limited(items: list[str]) -> str:
    """Join items for an alt text, cutting long lists so a screen reader stays brief."""
    if len(items) > _MAX_ALT_ITEMS:
        shown = items[:_MAX_ALT_ITEMS]
        return "; ".join(shown) + f"; and {len(items) - _MAX_ALT_ITEMS} more"
    return "; ".join(items)


def _grid_shape(count: int, cols: int) -> tuple[int, int]:
    """Rows and columns for count small multiples with at most cols per row."""
    cols = max(1, min(cols, count))
    return math.ceil(count / cols), cols
