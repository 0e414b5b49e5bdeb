"""The side panel's values: the lesson map and the live training curve.

Beside the chat the page shows where the learner is in the notebook and how their training is
going; these are built on every update of a turn, from the Tutor and the learner's Session.
"""

from __future__ import annotations

import math

import pandas as pd

from tutor.api import Tutor
from tutor.session import Session

EPOCH_ORDER = [str(epoch) for epoch in range(1, 1001)]  # the live curve's x axis, in order


def live_curve(history: list[dict[str, float]]) -> pd.DataFrame | None:
    """The side panel's accuracy curve as data, one row per epoch and series.

    The browser draws it (`gr.LinePlot`), so a live update costs the server a few rows instead
    of a matplotlib drawing (about 0.2 s of one core per epoch per learner); the chat still
    gets the full loss and accuracy figure once, at the end of the training. Epochs are labels
    (in the order `EPOCH_ORDER` gives), so the axis reads 1, 2, 3 and never 1.5.
    """
    rows = [
        {"epoch": str(epoch), "accuracy": float(row[key]), "data": name}
        for epoch, row in enumerate(history, start=1)
        for key, name in (("accuracy", "training"), ("val_accuracy", "validation"))
        if key in row and math.isfinite(float(row[key]))
    ]
    if not rows:  # an empty plot; after an empty frame the page drew later curves with no legend
        return None
    return pd.DataFrame(rows, columns=["epoch", "accuracy", "data"])


def lesson_map_markdown(tutor: Tutor, session: Session | None) -> str:
    """The side panel: all steps, the current one marked, visited and checked ones ticked."""
    rows = tutor.lesson_map(session) if session is not None else [
        {"id": state.id, "title": state.title, "current": False, "visited": False,
         "check_passed": False}
        for state in tutor.pack.states
    ]
    lines = [f"**{tutor.pack.title}**"]
    for number, row in enumerate(rows, start=1):
        marker = "▶" if row["current"] else ("✓" if row["visited"] else "○")
        title = f"**{row['title']}**" if row["current"] else row["title"]
        star = " ★" if row["check_passed"] else ""
        lines.append(f"{marker} {number}. {title}{star}")
    if session is not None:
        right, asked = session.flashcard_score
        if asked:
            lines.append(f"Flashcards: {right} of {asked} right")
    lines.append("<small>▶ you are here · ✓ visited · ★ check passed</small>")
    return "  \n".join(lines)
