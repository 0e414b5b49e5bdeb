"""The learner against their model: "how did I do against the model?", "did I beat the computer?".

Answered from the session: the learner's flashcard guesses (`Session.flashcard_answers`) next to
what their trained model says for the same cards, then the model's accuracy on the validation
images (`Session.history`). The first sentence is the comparison; the card-by-card table of
`compare me with the model` follows it.
"""

from __future__ import annotations

import re

import numpy as np

from tutor.ml import backend, data
from tutor.reply import Option, Reply
from tutor.session import Session
from tutor.tools import lesson

MACHINE = (r"(?:the |my |our |this |your |a )?(?:trained )?(?:model|network|net|computer|machine|ai|a\.i\.|"
           r"neural (?:net|network)|brain|neurons?|program|bot|algorithm|robot)s?\b(?:'s)?")
MINE = r"my (?:score|guesses|answers|flashcards?|cards?|results?|guessing|flashcard score)"
ME = rf"(?:me|i|myself|{MINE})"
ASKS_VERSUS = re.compile(
    rf"\b(?:did|do|have|could|can|would) (?:i|you) (?:beat|outscore|outperform|outguess|"
    rf"do (?:better|worse) than|win against|win over|score (?:higher|better|more) than)\b.*\b{MACHINE}"
    rf"|\b(?:did|does|has|have|could|can|would) {MACHINE} (?:beat|outscore|outperform|outguess|"
    rf"do (?:better|worse) than|win against|score (?:higher|better|more) than)\b.*\b(?:me|my)\b"
    rf"|\bhow (?:did|do|does|am|was|'d) (?:i|{MINE}) "
    rf"(?:do|did|fare|stack up|compare|measure up|score|rank|look)\b"
    rf".*\b(?:against|to|with|versus|vs\.?|next to|compared|beside)\b.*\b{MACHINE}"
    rf"|\b(?:am|was|were) i (?:better|worse|smarter|faster|more accurate|less accurate|as good|as accurate)\b"
    rf".*\b(?:than|as)\b.*\b{MACHINE}"
    rf"|\bwho (?:won|wins|did better|does better|is better|'s better|was better|scored (?:higher|better)|"
    rf"got more(?: right)?)\b.*(?:\b{ME}\b.*\b{MACHINE}|\b{MACHINE}.*\b{ME}\b)"
    rf"|\b{ME} (?:vs\.?|versus|against|or) {MACHINE}|\b{MACHINE} (?:vs\.?|versus|against|or) {ME}\b"
    rf"|\bcompare (?:me|myself|my (?:score|guesses|answers|flashcards?)) (?:to|with|against) {MACHINE}"
    rf"|\b(?:my|our) (?:score|guesses|answers|flashcard score) (?:compared? (?:to|with)|against|next to) "
    rf"{MACHINE}",
    re.IGNORECASE)
PLAY = Option("Play a flashcard", "another card")


def asks_versus(text: str) -> bool:
    """Whether the question pits the learner against their model."""
    return ASKS_VERSUS.search(text) is not None


def versus_answer(session: Session) -> Reply:
    """The learner's flashcard score against their model's, the comparison first."""
    right, asked = session.flashcard_score
    trained = bool(session.history) and session.model is not None
    if not asked:
        text = "You haven't guessed any flashcards yet, so there is no score of yours to compare."
        if trained:
            text += (f" Your model gets **{session.history[-1].get('val_accuracy', 0.0):.1%}** of the "
                     f"{data.valid_size():,} validation images right.")
        text += " Play a few cards (say `another card`), then ask me again."
        return Reply(text=text, kind="answer", options=[PLAY])
    yours = f"**{right} of {asked}** flashcards right ({right / asked:.0%})"
    if not trained:
        return Reply(text=f"You got {yours}, but your model hasn't trained yet, so it has nothing to "
                     "compare. Say `train for 5 epochs` and ask me again.", kind="answer")
    if session.is_training:
        return Reply(text=f"You got {yours}. Your model is training right now; ask me again when it "
                     "finishes and I'll put it to the same cards.", kind="answer")
    said = _model_guesses(session)
    model_right = sum(guess == answer["label"] for guess, answer in zip(said, session.flashcard_answers,
                                                                          strict=True))
    theirs = f"**{model_right} of {asked}** ({model_right / asked:.0%})"
    if right > model_right:
        first = f"You beat your model on the flashcards: you got {yours}, it got {theirs} of the same cards."
    elif right < model_right:
        first = (f"Your model beat you on the flashcards: it got {theirs} of the cards you guessed, "
                 f"you got {right} of {asked} ({right / asked:.0%}).")
    else:
        first = (f"It's a tie on the flashcards: you and your model each got **{right} of {asked}** "
                 f"({right / asked:.0%}).")
    last = session.history[-1]
    parts = [first, f"On all {data.valid_size():,} validation images your model gets "
             f"**{last.get('val_accuracy', 0.0):.1%}** right after {len(session.history)} epoch(s); "
             "guessing gets 10%, and people without fashion expertise got about 83.5% in a test by the "
             "data set's authors."]
    if asked < 10:
        parts.append(f"{asked} card(s) is a small match: play more with `another card` for a fairer one.")
    rows = ["| card | you said | model said | truth |", "|---|---|---|---|"]
    for guess, answer in zip(said, session.flashcard_answers, strict=True):
        rows.append(f"| {answer['split']} {answer['index']} | {data.CLASS_NAMES[answer['guess']]} | "
                    f"{data.CLASS_NAMES[guess]} | {data.CLASS_NAMES[answer['label']]} |")
    return Reply(text=" ".join(parts) + "\n\n" + "\n".join(rows), kind="answer",
                 options=[PLAY] if asked < 10 else [])


def _model_guesses(session: Session) -> list[int]:
    """The class the learner's model gives each flashcard they guessed, in order."""
    dataset = data.load_dataset()
    images = np.stack([dataset.split(answer["split"])[0][answer["index"]]
                       for answer in session.flashcard_answers])
    with session.model_lock:
        logits = backend.predict_logits(session.model, lesson.model_inputs(session, images))
    return [int(guess) for guess in np.asarray(logits).argmax(axis=1)]
