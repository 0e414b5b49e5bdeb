"""Comparisons: "A vs B", "the difference between A and B", "A or B, which is better here?".

One answer contrasts both. A curated contrast from the pack's `comparisons.yaml` comes first;
otherwise the two glossary entries are set side by side. Where the learner has runs that differ
in exactly what is compared (Adam against SGD, raw against scaled pixels), their own results are
added: the strongest way to see a difference is in one's own numbers.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from tutor.answers.knowledge import Passage
from tutor.session import Run, Session

COMPARISONS_FILE = "comparisons.yaml"
ASKS_TO_COMPARE = re.compile(
    r"\bvs\.?\b|\bversus\b|\bdifferen(?:ce|t)\b|\bdiff\b|\bcompared? (?:to|with)\b|\bcontrast\b|"
    r"\b(?:same|similar) (?:as|to)\b|\bthe same(?: thing)?\b|"
    r"\bor\b.*\b(?:better|best|prefer|should|choose|pick|use|which)\b|"
    r"\bwhich (?:is|one is) (?:better|best)\b|"
    r"\b(?:higher|lower|bigger|smaller|larger|greater|better|worse) than\b",  # "val_loss higher than loss?"
    re.IGNORECASE,
)
OPTIMIZER_TERMS = {"adam": "adam", "sgd": "sgd", "rmsprop": "rmsprop"}
SCALING_TERMS = {"scaling pixels", "pixel"}
LOSS_TERMS = {"loss", "validation loss"}


ASKS_SAME = re.compile(r"^(?:(?:so|and|but|wait|hmm+|ok)[, ]+)?(?:is|are|isn'?t|aren'?t)\b.*\b(?:the same|"
                       r"identical|interchangeable)\b|\b(?:the same(?: thing)?|identical) or not\b",
                       re.IGNORECASE)
WINNER = re.compile(r"^(?P<winner>[^,:.]{1,60}?)(?P<rest>, [^:]{1,80})?: ")
ASKS_WHICH = re.compile(r"\b(?:better|best|prefer|should|choose|pick|which|recommend|or)\b", re.IGNORECASE)


@functools.cache
def load_comparisons(folder: Path) -> dict[frozenset[str], tuple[str, str]]:
    """Curated contrasts (answer, verdict) keyed by their two glossary terms (lower case), read once."""
    path = Path(folder) / COMPARISONS_FILE
    if not path.is_file():
        return {}
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    table: dict[frozenset[str], tuple[str, str]] = {}
    for entry in entries:
        terms = [str(term).lower() for term in entry.get("terms") or []]
        if len(terms) != 2 or terms[0] == terms[1] or not entry.get("answer"):
            raise ValueError(f"{path.name}: each comparison needs two different terms and an answer: {entry}")
        table[frozenset(terms)] = (" ".join(str(entry["answer"]).split()),
                                   " ".join(str(entry.get("verdict") or "").split()))
    return table


def asks_to_compare(text: str) -> bool:
    return bool(ASKS_TO_COMPARE.search(text))


def compare(first: Passage, second: Passage, session: Session, folder: Path, question: str = "") -> str:
    """One answer that contrasts two glossary entries, tied to the learner's runs where it can.
    Asked "which is better?", the verdict comes first."""
    answer, verdict = load_comparisons(folder).get(
        frozenset({first.title.lower(), second.title.lower()}), ("", ""))
    same = ASKS_SAME.search(question) is not None
    if answer:
        text = f"**{_name(first)} vs {_name(second)}.** {answer}"
        if verdict and ASKS_WHICH.search(question) and not same:
            text = f"{as_verdict(verdict)}\n\n**{_name(first)} vs {_name(second)}.** {answer}"
        elif verdict:
            text += f" {verdict}"
    else:
        text = (f"**{_name(first)} vs {_name(second)}.** They answer different questions. "
                f"**{_name(first)}:** {first.short or first.text} "
                f"**{_name(second)}:** {second.short or second.text}")
    if answer:  # the contrast, then each side in its own words
        text += (f"\n\nIn one line each: **{_name(first)}:** {first.short or first.text} "
                 f"**{_name(second)}:** {second.short or second.text}")
    if same:  # "are they the same thing?" is a yes/no question: answered first
        text = f"No, {first.title} and {second.title} are not the same thing.\n\n{text}"
    own = _own_runs(first, second, session)
    return f"{text}\n\n{own}" if own else text


def as_verdict(verdict: str) -> str:
    """A curated verdict ("Adam, for this lesson: ...") said as one: "Pick Adam, for this lesson:
    ...", "Neither is better: ...", so a "which is better?" is answered in its first words."""
    match = WINNER.match(verdict)
    if match is None:
        return verdict
    winner = match.group("winner")
    if winner in ("Neither", "Either"):
        verb = "is better" if winner == "Neither" else "is fine"
        return f"{winner} {verb}{match.group('rest') or ''}: {verdict[match.end():]}"
    if winner.startswith("Both"):
        return verdict
    if " " in winner and winner[1:].split(" ")[0].islower():  # "Scaled pixels", not "Adam"
        winner = winner[:1].lower() + winner[1:]
    return f"Pick {winner}{match.group('rest') or ''}: {verdict[match.end():]}"


def _name(passage: Passage) -> str:
    return passage.title[:1].upper() + passage.title[1:]


def _own_runs(first: Passage, second: Passage, session: Session) -> str:
    """The learner's best validation accuracy with each side, when their runs have both."""
    titles = {first.title.lower(), second.title.lower()}
    if titles == LOSS_TERMS:
        return _own_losses(session)
    finished = [run for run in session.runs if run.final_val_accuracy is not None]
    if titles <= set(OPTIMIZER_TERMS):
        sides = {title: [run for run in finished if run.settings.optimizer == OPTIMIZER_TERMS[title]]
                 for title in titles}
        label = {title: title.upper() if title == "sgd" else title.capitalize() for title in titles}
    elif titles & SCALING_TERMS and any(word in " ".join(titles) for word in ("raw", "scal")):
        sides = {"scaled": [run for run in finished if run.settings.scaled],
                 "raw": [run for run in finished if not run.settings.scaled]}
        label = {"scaled": "scaled pixels", "raw": "raw pixels"}
    else:
        return ""
    if not all(sides.values()):
        missing = [label[side] for side, runs in sides.items() if not runs]
        return (f"You can see it for yourself: you have no run with {' or '.join(missing)} yet. "
                "Change that setting and `train for 5 epochs`, then ask me again.")
    parts = [f"{label[side]} {_best(runs):.1%} (best of {len(runs)} run(s))" for side, runs in sides.items()]
    return "**In your own runs**, validation accuracy: " + "; ".join(parts) + "."


def _best(runs: list[Run]) -> float:
    return max(run.final_val_accuracy or 0.0 for run in runs)


def own_figures(passage: Passage, session: Session) -> str:
    """The learner's own figures for a single entry, where the entry is about one of them
    ("what is val_loss?" after a training: their last epoch's loss and val_loss)."""
    return _own_losses(session) if passage.title.lower() == "validation loss" and session.history else ""


def _own_losses(session: Session) -> str:
    """The learner's last epoch: training loss against validation loss, and what the gap says."""
    rows = [row for row in session.history if "loss" in row and "val_loss" in row]
    if not rows:
        return ("You can see both in your own curves: `train for 5 epochs`, then ask me again or say "
                "`curves`.")
    loss, val_loss = rows[-1]["loss"], rows[-1]["val_loss"]
    figures = (f"**In your own run**, the last epoch (epoch {len(rows)}) ended with a training loss of "
               f"**{loss:.2f}** and a validation loss of **{val_loss:.2f}**")
    if abs(val_loss - loss) <= 0.05 * max(abs(loss), 1e-9):
        return f"{figures}: about the same, so what it learned carries over to new pictures."
    if val_loss > loss:
        return (f"{figures}: val_loss is higher, as usual, since these are pictures it never studied. "
                "Watch whether the gap keeps growing over the epochs (`curves`): that is overfitting.")
    return (f"{figures}: val_loss is lower here, because the training loss is an average over the whole "
            "epoch, taken while the model was still improving, and val_loss is measured at its end.")
