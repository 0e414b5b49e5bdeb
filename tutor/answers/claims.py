"""Check a language model's answer against what the tutor knows, before the learner sees it.

A small model says "an epoch ... 1875/1875 = 4x" or "we only use two neurons" with confidence.
Here every number in an answer must be one the tutor knows: in the passages retrieved for the
question, the learner's live facts, the question, the last answer, what a tool just showed, or
the lesson's fixed figures (784 pixels, 10 classes, 7,850 parameters, ...), or follow from them
(thousands separators, percentages, rounding, a product or quotient of two known figures), and
arithmetic the answer writes out ("a / b = c") must be right. Counts of neurons, classes, layers,
pixels, parameters, steps and images ("two neurons", or a bare "two" answering "how many
neurons?") must be counts the lesson itself gives for that noun.

`check(answer, known)` is a pure function of text: it returns the first `Disagreement` or None.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from tutor.words import TENS, UNITS

# The lesson's fixed figures: 28 x 28 = 784 pixels of 0-255, 10 classes and neurons, 7,840
# weights + 10 biases = 7,850 parameters, 60,000 + 10,000 = 70,000 images, batches of 32,
# 60,000 / 32 = 1,875 steps an epoch, 5 epochs = 9,375 steps. 0, 1 and 100 (per cent) are free.
FIXED_FIGURES = (0, 1, 100, 784, 28, 10, 7840, 7850, 60000, 10000, 70000, 32, 1875, 9375, 255, 256, 5)
FIXED_COUNTS: dict[str, tuple[int, ...]] = {
    "neurons": (10,),
    "classes": (10,),
    "layers": (1, 2),  # Flatten + Dense; one layer of neurons
    "pixels": (784, 28),
    "parameters": (7850, 7840, 10),
    "weights": (7840, 784),
    "biases": (10,),
    "steps": (1875, 9375),
    "images": (60000, 10000, 70000, 32),
}
NOUNS: dict[str, str] = {
    "neurons": r"neurons?|units?|nodes?|outputs?",
    "classes": r"classes|class|categories|category|kinds of clothing|labels",
    "layers": r"layers?",
    "pixels": r"pixels?",
    "parameters": r"parameters?|params",
    "weights": r"weights?",
    "biases": r"bias(?:es)?",
    "steps": r"steps?|batches|iterations?",
    "images": r"images?|pictures?|photos?|examples?|flashcards?",
}
SMALL = 100  # a count below this must be one the lesson gives for that noun; a figure below it
#              must appear as it is (a product or quotient of two figures can make any small one)

NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_TOKEN = re.compile(rf"(?<![\w.,/])(?P<num>{NUMBER})(?!\d)(?P<pct>\s*%)?|(?<=/)(?P<den>{NUMBER})")
_WORD_NUMBER = "|".join(sorted([*UNITS, *TENS], key=len, reverse=True))
_NUM_PHRASE = rf"(?:{NUMBER}|(?:{_WORD_NUMBER})(?:[- ](?:{_WORD_NUMBER}))?)"
_NOUN_GROUPS = "|".join(f"(?P<{name}>{pattern})" for name, pattern in NOUNS.items())
_SKIP_WORD = rf"(?!(?:of|per|in|for|and|or|than|to|from|by|at|{_WORD_NUMBER})\b)"
_COUNT = re.compile(
    rf"(?<![\w.,])(?P<count>{_NUM_PHRASE})(?![\d,.]\d)\s+(?:{_SKIP_WORD}[a-z][a-z'-]*\s+){{0,2}}(?:{_NOUN_GROUPS})\b",
    re.IGNORECASE,
)
_HOW_MANY = re.compile(rf"how many\s+(?:[a-z-]+\s+){{0,2}}?(?:{_NOUN_GROUPS})\b", re.IGNORECASE)
_BARE = re.compile(  # a count on its own: "we only use two." answering "how many neurons?"
    rf"(?<![\w.,])(?P<count>{_NUM_PHRASE})(?![\d,.]\d)"
    r"(?=\s*(?:[.,;:!?)]|$|in total|in all|of them|altogether))",
    re.IGNORECASE,
)
_ARITHMETIC = re.compile(
    rf"(?<![\w.,])(?P<lhs>(?:{NUMBER})(?:\s*[x×*/÷+−-]\s*(?:{NUMBER}))+)\s*=\s*(?P<rhs>{NUMBER})"
)
_CONTEXT = re.compile(r"\b(?P<word>step|label|class|epoch)\s+(?:number\s+|#\s*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Disagreement:
    """Where an answer parts from the lesson: the words it said, and why they are wrong."""

    claim: str
    reason: str

    def describe(self) -> str:
        return f'"{self.claim}": {self.reason}'


@dataclass
class Known:
    """The figures an answer may use: plain numbers, and counts per noun."""

    numbers: set[float] = field(default_factory=set)
    derived: set[float] = field(default_factory=set)
    counts: dict[str, set[float]] = field(default_factory=dict)
    steps: int = 0  # how many lesson steps there are ("step 7" is fine up to this)
    epochs: int = 5  # the most epochs the learner ran or the lesson names ("epoch 3")
    noun: str = ""  # what the question asks to count ("how many neurons?"), or ""


def _value(text: str) -> float:
    text = text.strip().lower()
    if text[0].isdigit():
        return float(text.replace(",", ""))
    total = 0
    for word in re.split(r"[- ]", text):
        total += UNITS.get(word, 0) + TENS.get(word, 0)
    return float(total)


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def numbers_in(text: str) -> list[tuple[float, bool]]:
    """Every number written with digits in `text`, and whether it is a percentage."""
    found = []
    for match in _TOKEN.finditer(text):
        raw = match.group("num") or match.group("den")
        found.append((_value(raw), bool(match.group("pct"))))
    return found


def count_table(texts: Iterable[str]) -> dict[str, set[float]]:
    """Which counts `texts` give for each noun: {"neurons": {10, 128, ...}, ...}."""
    table: dict[str, set[float]] = {name: set() for name in NOUNS}
    for text in texts:
        for match in _COUNT.finditer(text):
            noun = next(name for name in NOUNS if match.group(name))
            table[noun].add(_value(match.group("count")))
    return table


def known_figures(
    texts: Iterable[str],
    lesson_counts: dict[str, set[float]] | None = None,
    question: str = "",
    steps: int = 0,
    epochs: int = 5,
) -> Known:
    """Collect what an answer may say from the texts the tutor trusts for this question.

    `texts`: the retrieved passages, the learner's facts, the question, the last answer, tool
    results. `lesson_counts`: `count_table` over the whole lesson (computed once).
    """
    texts = [text for text in texts if text]
    numbers: set[float] = {float(value) for value in FIXED_FIGURES}
    for text in texts:
        for value, percent in numbers_in(text):
            numbers.add(value)
            if percent:
                numbers.add(value / 100)
    base = sorted(value for value in numbers if value >= 2)
    derived: set[float] = set()
    for first, second in itertools.product(base, repeat=2):
        derived.add(first * second)
        derived.add(first / second)
    counts = {name: {float(value) for value in FIXED_COUNTS.get(name, ())} for name in NOUNS}
    for name, values in itertools.chain((lesson_counts or {}).items(), count_table(texts).items()):
        counts.setdefault(name, set()).update(values)
    asked = _HOW_MANY.search(question)
    noun = next((name for name in NOUNS if asked.group(name)), "") if asked else ""
    return Known(numbers, derived, counts, steps, max(5, epochs), noun)


def _close(value: float, decimals: int, candidates: Iterable[float]) -> bool:
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(value - candidate) <= tolerance for candidate in candidates)


def _number_is_known(value: float, decimals: int, percent: bool, known: Known) -> bool:
    if _close(value, decimals, known.numbers):
        return True
    if percent:  # 91.2% from a fraction 0.912, or 10% = 1 / 10
        if _close(value / 100, decimals + 2, known.numbers):
            return True
        return _close(value / 100, decimals + 2, (x for x in known.derived if x < 1))
    return value >= SMALL and _close(value, decimals, known.derived)


def _evaluate(expression: str) -> float | None:
    """The value of "a op b op c" with x × * / ÷ + - and the usual precedence, or None."""
    parts = re.findall(rf"{NUMBER}|[x×*/÷+−-]", expression)
    values = [_value(part) for part in parts[::2]]
    operators = ["*" if op in "x×*" else "/" if op in "/÷" else "+" if op == "+" else "-"
                 for op in parts[1::2]]
    terms, signs = [values[0]], []
    for operator, value in zip(operators, values[1:], strict=False):
        if operator == "*":
            terms[-1] *= value
        elif operator == "/":
            if value == 0:
                return None
            terms[-1] /= value
        else:
            signs.append(operator)
            terms.append(value)
    total = terms[0]
    for sign, term in zip(signs, terms[1:], strict=False):
        total = total + term if sign == "+" else total - term
    return total


def _count_is_known(value: float, noun: str, known: Known) -> bool:
    if value in (0.0, 1.0) or value in known.counts.get(noun, set()):
        return True
    return value >= SMALL and _number_is_known(value, 0, False, known)


def _reason(noun: str, known: Known) -> str:
    values = sorted(v for v in known.counts.get(noun, set()) | set(FIXED_COUNTS.get(noun, ()))
                    if v > 1)
    said = ", ".join(f"{int(v):,}" for v in values[:4])
    return f"the lesson counts {noun} as {said}" if said else f"the lesson gives no such count of {noun}"


def check(answer: str, known: Known) -> Disagreement | None:
    """The first figure or count in `answer` that the lesson does not back, or None."""
    for match in _ARITHMETIC.finditer(answer):
        result = _evaluate(match.group("lhs"))
        stated = _value(match.group("rhs"))
        if result is not None and abs(result - stated) > max(0.5, 0.005 * abs(result)):
            shown = f"{result:,.0f}" if result == int(result) else f"{result:,.2f}"
            return Disagreement(match.group(0), f"that works out to {shown}")
        known.numbers.add(stated)  # a right sum's result counts as known for the rest
    counted: set[float] = set()
    for match in _COUNT.finditer(answer):
        noun = next(name for name in NOUNS if match.group(name))
        value = _value(match.group("count"))
        if not _count_is_known(value, noun, known):
            return Disagreement(match.group(0).strip(), _reason(noun, known))
        counted.add(value)
    if known.noun:
        for match in _BARE.finditer(answer):
            value = _value(match.group("count"))
            if not _count_is_known(value, known.noun, known) and value not in counted:
                return Disagreement(match.group(0).strip(), _reason(known.noun, known))
    for match in _TOKEN.finditer(answer):
        raw = match.group("num") or match.group("den")
        value = _value(raw)
        if value in counted or _number_is_known(value, _decimals(raw), bool(match.group("pct")), known):
            continue
        before = _CONTEXT.search(answer[max(0, match.start() - 20):match.start()])
        if before is not None and value == int(value) and _fits_context(before.group("word"), value, known):
            continue
        claim = _around(answer, match.start(), match.end())
        return Disagreement(claim, "not a figure of the lesson or of your run")
    return None


def _around(text: str, start: int, end: int) -> str:
    """The number with up to two words either side, on its own line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    left = text[line_start:start].split(" ")[-3:]
    right = text[end:len(text) if line_end < 0 else line_end].split(" ")[:3]
    return (" ".join(left) + text[start:end] + " ".join(right)).strip(" ,;:.")


def _fits_context(word: str, value: float, known: Known) -> bool:
    """"step 7", "label 3", "epoch 4": a place in the lesson, a class or an epoch, not a figure."""
    word = word.lower()
    if word == "step":
        return 1 <= value <= known.steps
    if word in ("label", "class"):
        return 0 <= value <= 9
    return 1 <= value <= known.epochs
