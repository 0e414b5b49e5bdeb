"""Live facts: answers computed from the learner's own session and the data set.

"How accurate is my model?", "why did my accuracy drop?", "what does it predict for image 42?"
are answered from the learner's history, settings and model (the prediction through the same
tool as the lesson), never from canned text; questions about the data and the learner's settings
("what is image 42?", "how many images?", "can I make it better?") are answered by
`tutor.answers.data_facts` first. Each answer's first sentence holds the figure or the yes/no
asked for. `session_facts` gives the same figures as short lines for a language model's prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from tutor.answers.data_facts import OPENING, data_answer
from tutor.answers.model_facts import described_size
from tutor.answers.versus import asks_versus, versus_answer
from tutor.ml import backend, data
from tutor.reply import Reply
from tutor.session import Session
from tutor.tools import lesson

MY = r"(?:my|our|the|this|your)?\s*(?:model'?s?|network'?s?|brain'?s?|neurons'?)?"
LIVE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("predicted", re.compile(
        r"(?:predict|guess|say|think|classif)\w*\b.*?\b(?:(?P<split>training|train|validation|valid|test)\s+)?"
        r"(?:image|picture|pic|img|number|#)\s*(?P<index>\d+)|(?:image|picture|pic)\s*(?P<index2>\d+).*?"
        r"(?:predict|confiden|sure|guess)", re.IGNORECASE)),
    ("drop", re.compile(
        r"(?:accuracy|acc|score|quiz).*(?:drop|fell|fall|went down|go down|jump|bounc|wobbl|worse|"
        r"decrease|up and down|unstable|noisy|all over the place)|"
        r"(?:drop|jump|wobbl|bounc)\w*.*(?:accuracy|acc)\b",
        re.IGNORECASE)),
    ("confuse", re.compile(r"confus(?!ion matri)|mix(?:es|ing)? up|mistak|wrong most|gets wrong|"
                           r"hardest class", re.IGNORECASE)),
    ("time", re.compile(r"how long|how much time|how many (?:seconds|minutes)|time (?:will|does|to)|"
                        r"when will .*finish", re.IGNORECASE)),
    ("params", re.compile(r"how many (?:parameters|params|weights|numbers)|parameter count|"
                          r"number of (?:parameters|params|weights)", re.IGNORECASE)),
    ("overfit", re.compile(r"over-?fit", re.IGNORECASE)),
    ("loss", re.compile(r"\bloss\b.*(?:so |too |very )?(?:big|high|large|huge|10|\d{2})|"
                        r"(?:my|the)\s+(?:\w+\s+){0,2}loss|loss (?:is|was)", re.IGNORECASE)),
    ("accuracy", re.compile(r"how (?:accurate|good|well)|accuracy|val(?:idation)? acc|score|"
                            r"how did (?:it|my model|we) do|results?|any good|(?:is it|model) good|"
                            r"learn(?:ed|t)? anything|just guessing|how (?:did|does) (?:it|my model) "
                            r"(?:do|perform)", re.IGNORECASE)),
    ("best", re.compile(r"\b(?:which|what) epoch\b.*\b(?:best|highest|peak|top)\b|"
                        r"\bbest (?:epoch|one|run of the epochs)\b|\bepoch (?:was|is) (?:the )?best",
                        re.IGNORECASE)),
    ("epochs", re.compile(r"how many epochs|epochs (?:have|did)", re.IGNORECASE)),
    ("label", re.compile(r"\b(?:label|class)\s*(?:number\s*|#\s*)?(?P<label>\d)\b(?!\s*(?:epochs?|%))",
                         re.IGNORECASE)),
    ("layers", re.compile(r"(?:hidden layers?|how many layers|what layers|which layers|architecture)"
                          r".*\b(?:my|our|the) (?:model|network)|(?:my|our) (?:model|network)'?s? "
                          r"(?:layers|architecture)|^(?:is|are|does|do|has|have)\b.*\b(?:my|our) "
                          r"(?:model|network)\b.*\b(?:hidden|layers?|cnn|conv\w*)", re.IGNORECASE)),
]
VAL_LOSS = re.compile(r"\bval(?:idation)?[ _]?loss|\bloss on (?:the )?(?:validation|quiz|val)", re.IGNORECASE)
YES_NO = re.compile(OPENING + r"(?:is|are|does|do|has|have|did)\b", re.IGNORECASE)
ABOUT_ME = re.compile(r"\b(?:my|mine|our|we|i|it|its|it's)\b", re.IGNORECASE)
# "if i train again will i get the same accuracy?": about a run not made yet, not the figures so far
HYPOTHETICAL = re.compile(r"^(?:so |and |but )?(?:if|what if|suppose|imagine)\b|"
                          r"^(?:so |and |but )?(?:when|once) (?:i|we|you)\b.*\b(?:again|second time|another "
                          r"time|rerun|re-run|retrain)|"
                          r"\b(?:will|would|could) (?:i|we|it|my model|the model) "
                          r"(?:get|have|see|reach|end up)\b|"
                          r"\bnext time\b", re.IGNORECASE)


def live_answer(session: Session, text: str) -> Reply | None:
    """An answer computed from the learner's own model and run, or None when the question
    is not about them (or nothing is measured yet) and the lesson's answer fits better."""
    if asks_versus(text):  # "did I beat the computer?": their flashcards against their model
        return versus_answer(session)
    reply = data_answer(session, text) or described_size(text)
    if reply is not None:
        return reply
    for name, pattern in LIVE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        about_model = ("accuracy", "loss", "params", "epochs", "confuse", "overfit", "best")
        if name in about_model and not ABOUT_ME.search(text):
            continue  # "what is accuracy?" is a concept question, not about their model
        if name in ("accuracy", "loss", "best", "overfit") and HYPOTHETICAL.search(text):
            continue  # a run not made yet: the lesson's answer (runs differ, ...) fits
        if name not in ("predicted", "time", "layers", "label", "params", "epochs") and not session.history:
            continue  # nothing measured yet: the concept answer fits better
        handler = _HANDLERS[name]
        reply = handler(session, match)
        if reply is not None:
            return reply
    return None


def _not_trained() -> Reply:
    return Reply(
        text="Your model hasn't trained yet, so there's nothing to measure. Say "
        "`train for 5 epochs` (or `go to training`) and ask me again.",
        kind="answer",
    )


def _live_accuracy(session: Session, match: re.Match[str]) -> Reply | None:
    if not session.history:
        return _not_trained()
    values = [row.get("val_accuracy", float("nan")) for row in session.history]
    per_epoch = ", ".join(f"epoch {number}: {value:.1%}" for number, value in
                          enumerate(values, start=1))
    last = session.history[-1]
    text = (
        f"After {len(session.history)} epoch(s), your model gets **{values[-1]:.1%}** of the "
        f"{data.valid_size():,} validation images right (training accuracy {last.get('accuracy', 0):.1%}). "
        f"Per epoch: {per_epoch}. Its last training loss was {last.get('loss', float('nan')):.1f}. "
        "Guessing would get 10%, so it has clearly learned something."
    )
    return Reply(text=text, kind="answer")


def _live_overfit(session: Session, match: re.Match[str]) -> Reply | None:
    last = session.history[-1]
    train, valid = last.get("accuracy", float("nan")), last.get("val_accuracy", float("nan"))
    gap = train - valid
    figures = (f"your training accuracy is **{train:.1%}** and your validation accuracy, on images "
               f"it never studied, **{valid:.1%}**")
    text = (
        f"No, not so far: {figures}. They are close, so what it learned carries over to new "
        "pictures." if gap < 0.03 else
        f"A little: {figures}. A small gap like this is normal for a model this size." if gap < 0.08
        else f"Yes: {figures}. That clear gap means it is starting to memorise the training "
        "pictures. More epochs would widen it; more data or a simpler model would narrow it."
    )
    return Reply(text=text, kind="answer")


def _live_drop(session: Session, match: re.Match[str]) -> Reply | None:
    if not session.history:
        return _not_trained()
    values = [row.get("val_accuracy", float("nan")) for row in session.history]
    drops = [(number + 1, values[number - 1], values[number]) for number in range(1, len(values))
             if values[number] < values[number - 1]]
    per_epoch = ", ".join(f"{value:.1%}" for value in values)
    best = int(np.argmax(values))
    if drops:
        epoch, before, after = max(drops, key=lambda item: item[1] - item[2])
        fact = (f"That's normal here, not a broken model. In your run, validation accuracy "
                f"fell from {before:.1%} to {after:.1%} in epoch {epoch}; per epoch it went "
                f"{per_epoch}, best in epoch {best + 1} ({values[best]:.1%}), ending at "
                f"**{values[-1]:.1%}**.")
    else:
        fact = (f"In your run it rose every epoch: {per_epoch}, ending at **{values[-1]:.1%}**.")
    cause = (
        " The cause is the raw pixels: they go from 0 to 255, so the outputs (logits) are big "
        "numbers and each Adam step makes a large jump in the weights. The model overshoots "
        "back and forth around a good setting, so the quiz score wobbles from epoch to epoch. "
        "More epochs alone won't calm it; scaling the pixels to 0-1 (`scale the pixels`, "
        "then train again) makes the steps small and the curve smooth."
        if not session.settings.scaled
        else " With scaled pixels the steps are small, so a dip is usually just noise from "
        "the shuffled batches, or a sign of overfitting if training accuracy keeps rising."
    )
    return Reply(text=fact + cause, kind="answer")


def _live_loss(session: Session, match: re.Match[str]) -> Reply | None:
    if not session.history:
        return _not_trained()
    last = session.history[-1]
    if VAL_LOSS.search(match.string) and "val_loss" in last:  # "what's my val loss?": that one first
        text = (f"Your latest validation loss (val_loss) is **{last['val_loss']:.1f}** (training loss "
                f"{last['loss']:.1f}), with validation accuracy "
                f"{last.get('val_accuracy', float('nan')):.1%}. ")
    else:
        text = (
            f"Your latest training loss is **{last['loss']:.1f}** (validation loss "
            f"{last.get('val_loss', float('nan')):.1f}), with validation accuracy "
            f"{last.get('val_accuracy', float('nan')):.1%}. "
        )
    if not session.settings.scaled and last["loss"] > 2:
        text += (
            "That is large because the pixels are raw 0-255 values: the ten outputs (logits) "
            "become huge, and cross-entropy punishes a confident wrong answer very hard. A "
            "well-behaved model on scaled pixels ends near 0.4. Accuracy is still fine, "
            "because only the biggest output decides the class."
        )
    else:
        text += "Lower is better; cross-entropy is about 2.3 for pure guessing among 10 classes."
    return Reply(text=text, kind="answer")


def _live_params(session: Session, match: re.Match[str]) -> Reply | None:
    spec = session.model_spec
    if session.model is not None:
        with session.model_lock:
            total = backend.parameter_count(session.model)
    elif not spec.convolutional:  # not built yet: count what `build the model` will make
        sizes = [784, *(units for units, _ in spec.hidden), 10]
        total = sum(inputs * units + units for inputs, units in pairwise(sizes))
    else:
        return None  # a CNN not built yet: the concept answer about parameters fits better
    text = f"Your model has **{total:,}** parameters ({spec.describe()})."
    if total == 7850:
        text += " That is 784 x 10 = 7,840 weights plus 10 biases."
    return Reply(text=text, kind="answer")


def _live_layers(session: Session, match: re.Match[str]) -> Reply | None:
    spec = session.model_spec
    hidden = len(spec.hidden)
    lead = ""
    if YES_NO.search(match.string):  # "does my model have a hidden layer?": yes or no first
        if re.search(r"\bcnn\b|\bconv", match.string, re.IGNORECASE):
            lead = "Yes. " if spec.convolutional else "No. "
        elif re.search(r"\bhidden\b", match.string, re.IGNORECASE):
            lead = "Yes. " if hidden else "No. "
    text = f"{lead}Your model is **{spec.describe()}**: "
    if spec.convolutional:
        text += "a small convolutional network that slides 3 x 3 filters over the image."
    elif hidden:
        text += f"{hidden} hidden layer(s) between the pixels and the ten output neurons."
    else:
        text += ("no hidden layers at all, just ten output neurons that each weigh all 784 "
                 "pixels. That's why it is called a one-layer model.")
    return Reply(text=text, kind="answer")


def _live_label(session: Session, match: re.Match[str]) -> Reply | None:
    label = int(match.group("label"))
    table = ", ".join(f"{number} {name}" for number, name in enumerate(data.CLASS_NAMES))
    return Reply(text=f"Label {label} is **{data.CLASS_NAMES[label]}**. The whole table: {table}.",
                 kind="answer")


def _live_best(session: Session, match: re.Match[str]) -> Reply | None:
    if not session.history:
        return _not_trained()
    values = [row.get("val_accuracy", float("nan")) for row in session.history]
    best = int(np.argmax(values))
    per_epoch = ", ".join(f"epoch {number}: {value:.1%}" for number, value in
                          enumerate(values, start=1))
    text = (f"Your best was **epoch {best + 1}**, with {values[best]:.1%} of the validation "
            f"images right. Per epoch: {per_epoch}.")
    if best + 1 < len(values):
        text += (" The last epoch isn't always the best: each epoch's quiz is a snapshot of "
                 "wherever the last weight updates left the model.")
    return Reply(text=text, kind="answer")


def _live_epochs(session: Session, match: re.Match[str]) -> Reply | None:
    if re.search(r"\b(?:should|need|enough|recommend\w*|ideal|best)\b", match.string, re.IGNORECASE):
        return None  # advice, not a count: the lesson's answer fits
    if not session.history:
        return Reply(text="**0** so far: your model hasn't trained yet. Say `train for 5 epochs` "
                     "to start.", kind="answer")
    return Reply(text=f"Your model has trained for **{len(session.history)}** epoch(s).",
                 kind="answer")


def _live_predicted(session: Session, match: re.Match[str]) -> Reply | None:
    index = match.group("index") or match.group("index2")
    split = {"validation": "valid", "valid": "valid", "test": "valid"}.get(
        (match.group("split") or "").lower(), "train")
    if index is None:
        return None
    if session.is_training:
        return Reply(text="Your model is training right now; ask me again when it finishes.",
                     kind="answer")
    notes = lesson.ensure_model(session)  # built first, so the answer leads the reply
    reply = lesson.predict_image(session, split, int(index))
    if notes:
        reply.text += "\n\n*" + " ".join(notes) + "*"
    reply.kind = "answer"
    return reply


def _live_confuse(session: Session, match: re.Match[str]) -> Reply | None:
    if not session.history:
        return _not_trained()
    if session.is_training:
        return Reply(text="Your model is training right now; ask me again when it finishes.",
                     kind="answer")
    dataset = data.load_dataset()
    images = dataset.scaled("valid") if session.settings.scaled else dataset.valid_images
    with session.model_lock:
        predicted = backend.predict_logits(session.model, images).argmax(axis=1)
    matrix = backend.confusion_counts(dataset.valid_labels, predicted)
    off = matrix.copy()
    for label in range(len(off)):
        off[label, label] = 0
    true, guess = divmod(int(off.argmax()), off.shape[1])
    names = data.CLASS_NAMES
    text = (
        f"On the {len(dataset.valid_labels):,} validation images, your model's most common mistake is "
        f"taking a **{names[true]}** for a **{names[guess]}** ({off[true, guess]} times). "
        f"Overall it is right on {int(matrix.trace()):,} of {int(matrix.sum()):,}. "
        "Shirts, T-shirts, pullovers and coats look alike at 28 x 28 pixels, so ten neurons "
        "that each weigh pixels in a straight sum find them hard to tell apart."
    )
    return Reply(text=text, kind="answer")


def _live_time(session: Session, match: re.Match[str]) -> Reply | None:
    numbers = re.findall(r"\d+", match.string)
    epochs = int(numbers[0]) if numbers else 5
    try:
        train_size = data.train_size()
    except data.DataUnavailable:
        return None  # without the images there is nothing to count; the lesson's answer fits
    steps = backend.TrainSettings(train_slice=session.settings.train_slice,
                                  batch_size=session.settings.batch_size).steps_per_epoch(train_size)
    if session.steps_per_second:
        seconds = epochs * steps / session.steps_per_second
        text = (
            f"About **{seconds:.0f} seconds** for {epochs} epoch(s) of {steps:,} steps, plus a "
            "second or two for each validation quiz: on this machine your model trained at about "
            f"{session.steps_per_second:,.0f} steps per second."
        )
    else:
        text = (
            f"About **{2 * epochs}-{4 * epochs} seconds** for {epochs} epoch(s) of {steps:,} "
            "steps, at the usual 2-4 seconds per epoch on a laptop CPU. Train once and I can "
            "tell you from your own measured speed."
        )
    return Reply(text=text, kind="answer")


_HANDLERS: dict[str, Callable[[Session, re.Match[str]], Reply | None]] = {
    "accuracy": _live_accuracy,
    "overfit": _live_overfit,
    "drop": _live_drop,
    "loss": _live_loss,
    "params": _live_params,
    "layers": _live_layers,
    "label": _live_label,
    "best": _live_best,
    "epochs": _live_epochs,
    "predicted": _live_predicted,
    "confuse": _live_confuse,
    "time": _live_time,
}


def session_facts(session: Session) -> str:
    """The learner's live figures as short lines, for a language model's prompt."""
    settings = session.settings
    lines = [
        f"- model: {session.model_spec.describe()}",
        f"- settings: {settings.optimizer} at learning rate {settings.base_rate:g}, batch size "
        f"{settings.batch_size}, training on "
        f"{f'the first {settings.train_slice:,}' if settings.train_slice else 'all the'} images; "
        f"{len(session.runs)} run(s) so far",
    ]
    if session.history:
        last = session.history[-1]
        per_epoch = ", ".join(f"{row.get('val_accuracy', float('nan')):.1%}"
                              for row in session.history)
        lines += [
            f"- trained epochs: {len(session.history)}; pixels "
            f"{'scaled to 0-1' if session.settings.scaled else 'raw 0-255'}",
            f"- validation accuracy per epoch: {per_epoch}",
            f"- last training loss {last.get('loss', float('nan')):.2f}, accuracy "
            f"{last.get('accuracy', float('nan')):.1%}; validation loss "
            f"{last.get('val_loss', float('nan')):.2f}",
        ]
    else:
        lines.append("- not trained yet")
    if session.steps_per_second:
        lines.append(f"- measured speed: {session.steps_per_second:,.0f} training steps per second")
    right, asked = session.flashcard_score
    if asked:
        lines.append(f"- flashcards: {right} of {asked} right")
    return "\n".join(lines)
