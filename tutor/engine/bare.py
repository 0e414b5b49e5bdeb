"""Bare words: a message that only names something ("relu", "batch size", "confusion matrix",
"scaling") may ask to do it or to have it explained, so the tutor offers both readings.

- A name that is both a command and a concept: the explanation, with "do it" and "explain it"
  as buttons (a command that needs a value offers to ask for it: "set the batch size").
- A bare value that only one command takes (an optimizer, an activation) reads as that command.
- A bare name that an exact command takes and that is the command's own concept ("confusion
  matrix", "the filters"): the command runs, as the table says, and the reply offers both readings.
- A bare step name that is also a command ("scaling"): the explanation, with the command, the
  explanation and the step as buttons, instead of a jump nobody asked for.
A remove-verb before what a command adds asks for the opposite command ("drop the convolutions").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tutor.engine.commands import Command
from tutor.engine.lessons import LessonPack, LessonState
from tutor.engine.slots import ACTIVATIONS, OPTIMIZERS, Slots
from tutor.reply import Option, Reply
from tutor.session import Session

ARTICLES = {"the", "a", "an", "my", "our", "this", "that", "some"}
# a verb that takes away, then (within a few words) the thing a command adds or removes
TAKES_AWAY = re.compile(r"\b(?:drop|remove|delete|get rid of|ditch|lose|scrap|no more|without|stop using|"
                        r"forget|"
                        r"take (?:out|away|off)|leave out|throw (?:out|away)|strip)\b(?: \w+){0,3}? "
                        r"(?:the )?(?:cnn|conv\w*|hidden|(?:extra |additional )?layers?|scal\w*|normali\w*|"
                        r"raw|unscaled)\b")
OPPOSITE = {"cnn": "one_layer", "add_hidden": "one_layer", "scale": "unscale", "unscale": "scale"}
VALUE_WORDS = {"optimizer", "optimiser", "activation", "function", "layer", "layers", "neurons", "units"}
MOVES = {"next", "back", "goto", "restart", "help", "stop", "skip", "check", "another_card"}


def opposite(name: str, text: str) -> str:
    """A command that adds something, read from a message that takes that thing away ("drop the
    convolutions", "train without scaling"): the command that removes it."""
    return OPPOSITE[name] if name in OPPOSITE and TAKES_AWAY.search(text) else name


def _words(text: str) -> list[str]:
    return [word for word in re.findall(r"[a-z0-9.'-]+", text.lower()) if word not in ARTICLES]


def bare_value(text: str, slots: Slots) -> str | None:
    """The command a bare value names: "relu" -> add_hidden, "sgd?" -> optimizer; else None."""
    words = _words(text)
    if not words or len(words) > 3:
        return None
    if slots.optimizer is not None and set(words) <= {*OPTIMIZERS, *VALUE_WORDS, "rms", "prop"}:
        return "optimizer"
    if slots.activation is not None and set(words) <= {*ACTIVATIONS, *VALUE_WORDS, "hidden"}:
        return "add_hidden"
    return None


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def names_its_topic(text: str, row: Command) -> bool:
    """Whether the message is only the name of the command's own concept ("confusion matrix",
    "the filters", "weight maps"), with no verb: it may ask for either reading."""
    topic = [_singular(word) for word in re.findall(r"[a-z]+", row.topic.lower())]
    return bool(topic) and [_singular(word) for word in _words(text.strip(" ?!."))] == topic


class BareWords:
    """Offering both readings of a bare name (a mixin of the Agent)."""

    pack: LessonPack

    def offer_readings(self, session: Session, text: str, message: str, command: str | None,
                       asks_value: str = "", step: LessonState | None = None) -> Iterator[Reply]:
        """A bare "convolutions?": the explanation, and both readings as buttons (a command that
        needs a value offers to ask for it; a step of that name is offered too)."""
        subject = text.strip(" ?!.")
        do = (Option(f"Do it: {command}", command) if command is not None
              else Option(f"Change it: {asks_value}", asks_value))
        buttons = [do, Option(f"Explain {subject}", f"what is {subject}")]
        if step is not None:
            buttons.append(Option(f"Go to the step: {step.title}", f"go to {step.id}"))
        replies = list(self._answer(session, message))  # type: ignore[attr-defined]
        if not replies or replies[-1].steered or not replies[-1].text:
            yield Reply(text=f"Do you want me to do it (`{do.message}`), or to explain what {subject} means?",
                        kind="help", options=buttons)
            return
        replies[-1].text += f"\n\n*Did you want me to do it instead? Press **{do.label}**.*"
        replies[-1].options = [*buttons, *self.options_for(session, quiz=False)]  # type: ignore[attr-defined]
        yield from replies

    def both_buttons(self, session: Session, row: Command, reply: Reply) -> None:
        """After a bare name ran its command: the same command and the explanation as buttons."""
        topic = row.topic
        article = "" if topic.endswith("s") else "an " if topic[:1] in "aeiou" else "a "
        buttons = [Option(f"Do it: {row.examples[0]}", row.examples[0]),
                   Option(f"Explain: what is {article}{topic}?", f"what is {article}{topic}")]
        rest = reply.options or self.options_for(session, quiz=False)  # type: ignore[attr-defined]
        reply.options = [*buttons, *(option for option in rest if option.message not in
                                     {button.message for button in buttons})]
