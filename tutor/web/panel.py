"""The side panel's values: the lesson map, the mastery map and the live training curve.

Beside the chat the page shows where the learner is in the notebook, how sure the tutor is that
they have each idea of the lesson, and how their training is going; these are built on every
update of a turn, from the Tutor and the learner's Session.
"""

from __future__ import annotations

import html
import math

import pandas as pd

from tutor.api import Tutor
from tutor.engine import mastery
from tutor.session import Session
from tutor.web.strings import text as say

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
    lines.append(f"<small>{say('lesson_map_legend')}</small>")  # the one translated string here
    return "  \n".join(lines)


# the bar colour of each level (colour-blind safe, Dark2); the level is also written out in words
LEVEL_COLOURS = {"needs review": "#d95f02", "getting there": "#e6ab02", "good": "#66a61e",
                 "mastered": "#1b9e77", "not seen yet": "#bbbbbb", "just started": "#7570b3"}
CELL = "border:none;background:none;line-height:1.25;"  # no grid lines from the page's table style


def mastery_map_html(tutor: Tutor, session: Session | None) -> str:
    """The side panel's mastery map: one row per concept with a bar, its estimate and level.

    The bars are decoration (`aria-hidden`); each row says the same in words ("Parameters: 13%,
    needs review") and a first sentence sums the map up, so a screen reader gets all of it.
    """
    concepts = tutor.concepts.concepts
    if not concepts:
        return ""
    rows, met, solid, review = [], 0, 0, []
    for concept in concepts:
        seen = mastery.seen(session, concept.id) if session is not None else 0
        p = mastery.probability(session, concept.id) if session is not None else mastery.P_INIT
        level = mastery.level_of(session, concept.id) if session is not None else "not seen yet"
        met += bool(seen)
        solid += seen > 0 and p >= 0.8
        if session is not None and mastery.needs_review(session, concept.id):
            review.append(f"{concept.name} ({p:.0%})")
        width = round(p * 100) if seen else 0
        words = f"{p:.0%}, {level}" if seen else level
        rows.append(
            f'<tr data-concept="{html.escape(concept.id)}" title="{html.escape(concept.description)}" '
            f'style="{CELL}">'
            f'<th scope="row" style="{CELL}text-align:left;font-weight:normal;padding:1px 6px 1px 0">'
            f"{html.escape(concept.name)}</th>"
            f'<td style="{CELL}width:30%;padding:1px 4px" aria-hidden="true"><div style="background:#eee;'
            f'border-radius:3px;height:0.7em"><div style="width:{width}%;height:100%;border-radius:3px;'
            f'background:{LEVEL_COLOURS[level]}"></div></div></td>'
            f'<td style="{CELL}white-space:nowrap;padding:1px 0">{html.escape(words)}</td></tr>'
        )
    summary = (f"Mastery map: {met} of {len(concepts)} ideas met so far, {solid} solid"
               + (f", to review: {', '.join(review)}." if review else "."))
    if not met:
        summary = (f"Mastery map: {len(concepts)} ideas, none met yet. Each quick check, flashcard "
                   "and review you answer moves them.")
    return (
        '<section aria-labelledby="mastery-map-title" style="font-size:0.85em">'
        f'<h3 id="mastery-map-title" style="font-size:1em;margin:0 0 4px">{say("mastery_title")}</h3>'
        f'<p class="mastery-summary" style="margin:0 0 4px">{html.escape(summary)}</p>'
        '<table style="width:100%;border-collapse:collapse;border:none;margin:0"><tbody>'
        + "".join(rows)
        + "</tbody></table>"
        '<p style="margin:4px 0 0"><small>Say "what should I review?" or "how am I doing?"</small></p>'
        "</section>"
    )
