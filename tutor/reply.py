"""Plain data that one tutor turn produces.

A Reply knows nothing of Gradio, the terminal or TensorFlow, so the same turn can be
rendered in the browser, printed in a terminal, exported to a notebook or checked in a test.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Plot:
    """A matplotlib figure together with the one-line description a screen reader reads."""

    figure: Any  # matplotlib.figure.Figure; typed loosely so this module imports nothing heavy
    alt: str
    title: str = ""
    _png: list[bytes] = field(default_factory=list, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def png(self) -> bytes:
        """The figure as PNG bytes, drawn on the first call only.

        Drawing is the costly part of a figure (0.15-0.25 s of one core), and many learners
        may ask for the same plot (`tutor.figures.cache` shares figures of the shared data set); the
        lock keeps two threads from drawing one figure at once, which matplotlib does not allow.
        A server draws in a helper process (`tutor.figures.render`), so drawing holds up no one else.
        """
        from tutor.figures.render import png_bytes  # a server draws in a helper process

        with self._lock:
            if not self._png:
                self._png.append(png_bytes(self.figure))
            return self._png[0]


@dataclass(frozen=True)
class Option:
    """A next step offered to the learner: the button label and the message it sends."""

    label: str
    message: str


@dataclass
class Progress:
    """Where a running training is: the UI draws a live curve and a progress line from it."""

    epoch: int
    epochs: int
    step: int
    steps: int
    history: list[dict[str, float]] = field(default_factory=list)
    done: bool = False
    stopped: bool = False

    @property
    def fraction(self) -> float:
        """Share of the whole training finished, from 0 to 1."""
        if self.epochs <= 0 or self.steps <= 0:
            return 0.0
        finished = (self.epoch - 1) * self.steps + self.step
        return max(0.0, min(1.0, finished / (self.epochs * self.steps)))


@dataclass
class Reply:
    """What the tutor says back: Markdown text, the code that ran, plots and next choices."""

    text: str
    code: str | None = None
    figures: list[Plot] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    state: str = ""
    progress: Progress | None = None
    final: bool = True
    # lesson, tool, answer, help, check, flashcard, training or error
    kind: str = "lesson"
    files: list[str] = field(default_factory=list)  # downloads, e.g. the exported notebook
    # What ran, one plain dict per action whose code is in `code`, in order: the tool's name and
    # its settings (`tutor.ml.codegen.record`), so an export reads them instead of the code.
    records: list[dict[str, Any]] = field(default_factory=list)
    # the guard's kind (off_topic, injection, hostile, code) when this reply steers the learner
    # back to the lesson instead of answering; empty for every other reply
    steered: str = ""
