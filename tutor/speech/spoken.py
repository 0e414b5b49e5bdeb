"""What a learner may say at a turn, for speech recognition (`tutor.speech.recognition`).

The commands' phrases come from the command table (`tutor.engine.commands`, a `spoken` field
per row), written as a person says them and as Whisper writes them (capitalised, with the full
stop that ends a spoken sentence); each one's message is that text lower case without the
stop, which the table's parser reads (a test checks every phrase). A `{n}` is a number slot,
filled with the numbers Whisper heard. On top of these, every turn adds what
only it offers: the step's buttons, the flashcard's class names, the check's choices, and "go
to" each step by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from tutor.engine.commands import spoken_phrases
from tutor.ml.data import CLASS_NAMES
from tutor.speech.recognition import Expected

# every command's phrases as said, one row of the command table each (tutor.engine.commands)
COMMAND_PHRASES: tuple[str, ...] = spoken_phrases()


def message_of(said: str) -> str:
    """The message a spoken phrase sends: lower case, without its end punctuation."""
    return said.strip().rstrip(".?!").lower()


def _with_articles(said: str) -> list[str]:
    """"Show the weights." also as "Show my weights." and "Show weights."; the agent's parser
    decides which of these are commands (`commands`)."""
    match = re.match(r"^(Show(?: me)?) (?:(?:the|my) )?(.*)$", said)
    if match is None:
        return [said]
    verb, rest = match.groups()
    return list(dict.fromkeys([said, *(f"{verb} {article}{rest}" for article in ("the ", "my ", ""))]))


def commands(means: Callable[[str], str | None]) -> tuple[Expected, ...]:
    """Every row of `COMMAND_PHRASES` with its article variants, where `means` (the agent's
    parser, `Tutor.meaning`) reads the variant as the same command as the row."""
    phrases: list[Expected] = []
    for said in COMMAND_PHRASES:
        meaning = means(message_of(said.replace("{n}", "3")))
        for variant in _with_articles(said):
            if variant == said or means(message_of(variant.replace("{n}", "3"))) == meaning:
                phrases.append(Expected(variant, message_of(variant)))
    return tuple(phrases)


def _spoken_label(label: str) -> str:
    """A button's label as it would be said: no emoji or "Next:" prefix, a full stop at the end."""
    text = re.sub(r"[^\w\s'?,.:/-]", "", label).strip()
    text = re.sub(r"^[a-z]\)\s*", "", text)
    return text.rstrip(".") + "." if text and not text.endswith("?") else text


def expected_phrases(*, commands: Iterable[Expected], options: Iterable[tuple[str, str]],
                     steps: Iterable[tuple[str, str]], card_pending: bool = False) -> list[Expected]:
    """Every phrase that makes sense now: the commands, then this turn's own.

    `commands`: the table's phrases (`commands(...)`); `options`: the step's buttons as
    (label, message), a multiple-choice check's "a) ..." among them; `steps`: (id, title) of
    every step; `card_pending`: a flashcard waits for a guess, so its class names are answers.
    """
    phrases = list(commands)
    for label, message in options:
        said = _spoken_label(label.split(": ", 1)[-1] if label.startswith("Next: ") else label)
        if said and len(said) <= 80:
            phrases.append(Expected(said, message))
        if re.fullmatch(r"[a-z]", message):  # a check's choice, said by its letter
            phrases.append(Expected(f"{message.upper()}.", message))
    for step_id, title in steps:
        phrases.append(Expected(f"Go to {title.rstrip('?.!')}.", f"go to {step_id}"))
    if card_pending:
        for label, name in enumerate(CLASS_NAMES):
            phrases.append(Expected(f"{name.split('/')[0]}.", str(label)))
            phrases.append(Expected(f"It's a {name.split('/')[0].lower()}.", str(label)))
    seen: set[str] = set()
    unique = []
    for phrase in phrases:
        if phrase.said.lower() not in seen:
            seen.add(phrase.said.lower())
            unique.append(phrase)
    return unique
