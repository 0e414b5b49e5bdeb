"""The values a command needs, pulled out of a learner's own words by a small typed parser.

When the meaning layer (`tutor.engine.intents`) decides that "could we stick an extra layer of
48 units in there" asks for `add_hidden`, the command still needs its values: 48 units, no
activation named. `read_slots` finds them: numbers (with what they count), a learning rate,
an optimizer, an activation, a data split, an image number, a lesson step, a direction
("smaller", "bigger") and "again". Not to be confused with the training slots of `tutor.ml`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

OPTIMIZERS = {
    "adam": "adam", "sgd": "sgd", "rmsprop": "rmsprop", "rms prop": "rmsprop",
    "gradient descent": "sgd", "stochastic gradient descent": "sgd",
}
ACTIVATIONS = ("relu", "sigmoid", "tanh", "linear")
DOWN = re.compile(r"\b(?:smaller|lower|less|decrease|reduce|shrink|halve|half|tinier|slower|"
                  r"down|drop|lessen|cut|fewer)\b")
UP = re.compile(r"\b(?:bigger|larger|higher|more|increase|raise|double|bump|grow|faster|up|"
                r"boost|greater)\b")
AGAIN = re.compile(r"\b(?:again|redo|re-?train|once more|one more time|repeat)\b")
SPLIT_WORDS = {
    "validation": "valid", "valid": "valid", "test": "valid", "quiz": "valid",
    "training": "train", "train": "train", "study": "train",
}
NUMBER = r"(\d[\d,]*(?:\.\d+)?(?:e-?\d+)?|\.\d+)"
IMAGE_NUMBER = re.compile(
    r"\b(?:image|picture|pic|img|sample|card|photo|example)s?\s*(?:number|no\.?|#|at index|index)?\s*"
    + NUMBER + r"|#\s*" + NUMBER + r"|\b" + NUMBER + r"(?:st|nd|rd|th)\s+(?:\w+\s+)?(?:image|picture)")
UNITS = re.compile(NUMBER + r"[- ]?(?:relu |sigmoid |tanh )?(?:hidden )?(?:neurons?|units?|nodes?|cells?)\b"
                   r"|\b(?:layer|1|one)\s+(?:of|with|at)\s+" + NUMBER + r"(?!\s*(?:epochs?|images?|%))"
                   r"|\b(?:another|1 more|one more)(?: 1| one)?\s+(?:with|of)\s+" + NUMBER
                   + r"|\blayer (?:size|width)\s*(?:of|=|:)?\s*" + NUMBER)
EPOCHS = re.compile(NUMBER + r"\s*(?:more\s+)?(?:epochs?|passes|rounds)\b"
                    r"|\bepochs?\s*(?:to|=|:|at|of|count (?:to|of))\s*" + NUMBER)
FACTOR = re.compile(r"\b(\d+)\s*(?:times|x)\s+(?:as\s+)?"
                    r"(smaller|lower|less|tinier|slower|bigger|larger|higher|"
                    r"more|greater|faster)\b")
RATE = re.compile(r"(?:learning rate|lr|step size|rate)\D{0,12}?" + NUMBER + r"(?![\d,.]|\s*(?:times|x)\b)"
                  + r"|\b(0?\.\d+|\d(?:\.\d+)?e-\d+)\b")
RUN = re.compile(r"\brun\s*(?:number|#)?\s*(\d+)|\b(\d+)(?:st|nd|rd|th)\s+run"
                 r"|\b(first|second|third|last) run")
ORDINAL_RUNS = {"first": 1, "second": 2, "third": 3}


@dataclass
class Slots:
    """What a message says besides which command it is."""

    numbers: list[float] = field(default_factory=list)
    units: int | None = None
    epochs: int | None = None
    rate: float | None = None
    optimizer: str | None = None
    activation: str | None = None
    split: str | None = None
    image: int | None = None
    run: int | None = None
    step: str | None = None
    direction: str | None = None  # "down" or "up"
    factor: float | None = None  # "10 times smaller": 10 (with direction "down")
    again: bool = False


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def _first(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    return next((group for group in match.groups() if group), None)


def read_slots(text: str, steps: Collection[tuple[str, tuple[str, ...]]] = ()) -> Slots:
    """The values in a cleaned, lower-case message (numbers already digits).

    `steps`: (step id, names) pairs; the step whose longest name appears in the text is the
    `step` slot ("skip to predictions" names `prediction` through its name "predictions").
    """
    text = re.sub(r"\b(\d+(?:\.\d+)?)k\b", lambda match: str(int(float(match.group(1)) * 1000)), text)
    text = re.sub(r"\b0,(\d+)\b", r"0.\1", text)  # "0,01" is a decimal comma, not 1
    slots = Slots(numbers=[_value(number) for number in re.findall(NUMBER, text)
                           if re.search(r"\d", number)])
    units = _first(UNITS.search(text))
    slots.units = int(_value(units)) if units else None
    epochs = _first(EPOCHS.search(text))
    slots.epochs = int(_value(epochs)) if epochs else None
    rate = _first(RATE.search(text))
    slots.rate = _value(rate) if rate else None
    slots.optimizer = next((name for words, name in sorted(OPTIMIZERS.items(), key=lambda item: -len(item[0]))
                            if re.search(rf"\b{words}\b", text)), None)
    if slots.optimizer is None and re.search(r"\boptimi[sz]er\b", text) and re.search(
            r"\b(?:original|default|notebook|usual|normal|first)\b", text):
        slots.optimizer = "adam"  # the notebook's own
    slots.activation = next((name for name in ACTIVATIONS if re.search(rf"\b{name}\b", text)), None)
    slots.split = next((split for word, split in SPLIT_WORDS.items()
                        if re.search(rf"\b{word}(?:ing)?\s+(?:set|data|images?|pictures?|split)\b|"
                                     rf"\b{word}\s+(?:image|picture|pic|sample|card)", text)), None)
    image = _first(IMAGE_NUMBER.search(text))
    slots.image = int(_value(image)) if image and "." not in image else None
    run = RUN.search(text)
    if run:
        number = next((group for group in run.groups() if group), None)
        slots.run = ORDINAL_RUNS.get(number) if number in ORDINAL_RUNS else (
            -1 if number == "last" else int(number) if number else None)
    slots.step = _named_step(text, steps)
    down, up = DOWN.search(text), UP.search(text)
    if down and not up:
        slots.direction = "down"
    elif up and not down:
        slots.direction = "up"
    factor = FACTOR.search(text)
    if factor:
        slots.factor = float(factor.group(1))
        slots.direction = "down" if DOWN.search(factor.group(2)) else "up"
        slots.numbers = [number for number in slots.numbers if number != slots.factor]
    slots.again = bool(AGAIN.search(text))
    return slots


def _named_step(text: str, steps: Collection[tuple[str, tuple[str, ...]]]) -> str | None:
    best, best_length = None, 0
    padded = f" {text.replace('-', ' ')} "
    for step_id, names in steps:
        for name in names:
            name = name.lower().replace("-", " ")
            # a name in another form names the step too ("where it gets trained": train)
            if len(name) > best_length and re.search(rf"\b{re.escape(name)}(?:s|es|ed|d|ing)?\b", padded):
                best, best_length = step_id, len(name)
    return best
