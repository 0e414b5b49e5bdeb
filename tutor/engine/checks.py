"""Grade a learner's short answers: flashcard guesses and the check question of each state.

Forgiving on purpose: case, spaces, plurals, small typos and "it's a ..." all pass; a message
that does not look like an answer at all is told apart from a wrong answer, so a question typed
while a check is open is answered rather than marked wrong.
"""

from __future__ import annotations

import difflib
import re

from tutor.engine.lessons import Check
from tutor.ml.data import CLASS_NAMES

ALIASES = {
    "tshirt": 0, "t shirt": 0, "tee": 0, "top": 0, "tshirttop": 0, "t-shirt": 0,
    "trousers": 1, "pants": 1, "jeans": 1, "trouser": 1,
    "pullover": 2, "sweater": 2, "jumper": 2,
    "dress": 3,
    "coat": 4, "jacket": 4,
    "sandal": 5, "sandals": 5,
    "shirt": 6,
    "sneaker": 7, "sneakers": 7, "trainer": 7, "trainers": 7,
    "bag": 8, "handbag": 8, "purse": 8,
    "ankle boot": 9, "ankleboot": 9, "boot": 9, "boots": 9, "ankle boots": 9,
}
FILLER = re.compile(
    r"\b(i think|i guess|maybe|probably|it is|it's|its|that is|that's|thats|is it|a|an|the|"
    r"label|class|number|answer|my|guess|it|is|looks like|like|um|uh|hmm|ok|okay|so)\b"
)
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _clean(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9'/\- .,%]", " ", text)
    text = FILLER.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip(" .,!?")


def parse_class(text: str) -> int | None:
    """A class label from "7", "Sneaker", "sneakers", "ankel boot", "it's a bag"; else None."""
    cleaned = _clean(text)
    if not cleaned or len(cleaned) > 40:
        return None
    if re.fullmatch(r"\d", cleaned):
        return int(cleaned)
    squashed = cleaned.replace(" ", "").replace("-", "").replace("/", "")
    names = {name.lower().replace(" ", "").replace("-", "").replace("/", ""): label
             for label, name in enumerate(CLASS_NAMES)}
    names.update({alias.replace(" ", "").replace("-", ""): label for alias, label in ALIASES.items()})
    if squashed in names:
        return names[squashed]
    close = difflib.get_close_matches(squashed, list(names), n=1, cutoff=0.8)
    return names[close[0]] if close else None


def parse_number(text: str) -> float | None:
    """The one number in a short answer ("7,850", "about 784 weights", "10%"), else None."""
    numbers = NUMBER.findall(text)
    if len(numbers) != 1 or len(text.split()) > 8:
        return None
    try:
        return float(numbers[0].replace(",", ""))
    except ValueError:
        return None


def parse_choice(check: Check, text: str) -> str | None:
    """The choice meant by a letter ("b"), a number ("2") or (most of) its words."""
    cleaned = text.strip().lower().strip(" .!?)")
    if re.fullmatch(r"[a-d]", cleaned) and ord(cleaned) - 97 < len(check.choices):
        return check.choices[ord(cleaned) - 97]
    if re.fullmatch(r"[1-4]", cleaned) and int(cleaned) <= len(check.choices):
        return check.choices[int(cleaned) - 1]
    lowered = [choice.lower() for choice in check.choices]
    if cleaned in lowered:
        return check.choices[lowered.index(cleaned)]
    words = _content_words(cleaned)
    if words:  # "the one where most pixels are black": the words that carry meaning, not "the"
        choice_words = [_content_words(choice) for choice in lowered]
        scores = [len(words & choice) for choice in choice_words]
        best = max(scores)
        number = scores.index(best)
        if best >= min(2, len(choice_words[number])) and best > 0 and scores.count(best) == 1:
            return check.choices[number]
    close = difflib.get_close_matches(cleaned, lowered, n=1, cutoff=0.6)  # a choice with typos
    if close:
        return check.choices[lowered.index(close[0])]
    return None


# words that say nothing about which choice is meant: only the others are compared
FUNCTION_WORDS = frozenset((
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "by", "with", "from", "and", "or", "but",
    "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those", "they",
    "them", "their", "there", "i", "me", "my", "we", "our", "you", "your", "he", "she", "his",
    "her", "one", "ones", "which", "what", "who", "how", "why", "when", "where", "do", "does",
    "did", "not", "no", "yes", "so", "as", "than", "then", "if", "because", "can", "could", "would",
    "should", "will", "just", "only", "very", "more", "most", "much", "some", "any", "all", "each",
    "every", "about", "into", "out", "up", "down", "over", "think", "guess", "maybe", "probably",
    "answer", "option", "choice"))


def _content_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text) if word not in FUNCTION_WORDS}


QUESTION_START = re.compile(
    r"^\s*(?:what|why|how|when|where|who|which|whats|what's|is|are|does|do|did|can|could|should|"
    r"would|will|explain|tell me|wat|wht|y)\b",
    re.IGNORECASE,
)


def looks_like_question(text: str) -> bool:
    """A message that asks something rather than answers ("why 784?", "what is a bias")."""
    return bool(QUESTION_START.match(text)) or (text.strip().endswith("?") and len(text.split()) > 3)


def grade(check: Check, text: str) -> bool | None:
    """True if right, False if wrong, None if the message is not an answer to this check."""
    if looks_like_question(text):
        return None
    if check.kind == "number":
        value = parse_number(text)
        if value is None:
            return None
        return abs(value - float(check.answer)) <= check.tolerance + 1e-9
    if check.kind == "class":
        label = parse_class(text)
        if label is None:
            return None
        expected = parse_class(str(check.answer))
        return label == expected
    chosen = parse_choice(check, text)
    if chosen is None:
        return None
    return chosen == str(check.answer)


def format_question(check: Check) -> str:
    """The check question, with lettered choices when there are any."""
    text = f"**Quick check:** {check.question}"
    if check.choices:
        text += "\n\n" + "\n".join(
            f"{chr(97 + number)}) {choice}" for number, choice in enumerate(check.choices)
        )
    return text
