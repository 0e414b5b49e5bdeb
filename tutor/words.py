"""Turn numbers written or spoken as words into digits.

Learners type "train for three epochs" and speech recognisers write "six one seven four";
the command parser reads digits, so words are rewritten first.
"""

from __future__ import annotations

import re

UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
DIGIT_WORDS = {word for word, value in UNITS.items() if value < 10}
NUMBER_WORDS = set(UNITS) | set(TENS) | set(SCALES)

_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")


def _value(words: list[str]) -> int:
    """The value of one run of number words, e.g. ["one", "hundred", "twenty", "eight"]."""
    if len(words) > 1 and all(word in DIGIT_WORDS for word in words):
        return int("".join(str(UNITS[word]) for word in words))  # "six one seven four"
    total, current = 0, 0
    for word in words:
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * SCALES[word]
            current = 0
    return total + current


def _pairs(words: list[str]) -> list[list[str]]:
    """Split a run like "eighty six seventy five" into spoken groups [[eighty, six], [seventy, five]]."""
    if any(word in SCALES for word in words):
        return [words]
    groups: list[list[str]] = []
    for word in words:
        if (
            groups
            and groups[-1][-1] in TENS
            and word in UNITS
            and UNITS[word] < 10
            and len(groups[-1]) == 1
        ):
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups


def _run_text(words: list[str]) -> str:
    lowered = [word.lower() for word in words if word.lower() != "and"]
    groups = _pairs(lowered)
    if len(groups) > 1 and all(len(group) <= 2 and group[0] not in SCALES for group in groups):
        return "".join(str(_value(group)) for group in groups)
    return str(_value(lowered))


def words_to_digits(text: str) -> str:
    """Rewrite runs of number words as digits, leaving everything else as it was.

    "show validation image six one seven four" -> "show validation image 6174";
    "train for three more epochs" -> "train for 3 more epochs";
    "one hundred and twenty-eight neurons" -> "128 neurons";
    "zero point zero one" -> "0.01", "point five" -> "0.5".
    """
    # "a hundred", "a thousand", "a million": the article stands for one
    text = re.sub(r"\b[Aa]n? (?=(?:hundred|thousand|million)\b)", "one ", text)
    tokens = _TOKEN.findall(text)
    output: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.lower() not in NUMBER_WORDS:
            output.append(token)
            index += 1
            continue
        run = [token]
        cursor = index + 1
        while cursor + 1 < len(tokens) and tokens[cursor].strip() in ("", "-"):
            following = tokens[cursor + 1].lower()
            joins_with_and = following == "and" and cursor + 3 < len(tokens) and (
                tokens[cursor + 3].lower() in NUMBER_WORDS
            )
            if following in NUMBER_WORDS or joins_with_and:
                run.append(tokens[cursor + 1])
                cursor += 2
            else:
                break
        output.append(_run_text(run))
        index = cursor
    # a decimal said aloud: the digits after "point" as they were read ("zero one" -> "01")
    return re.sub(r"(?:\b(\d+) )?\bpoint (\d+)\b",
                  lambda match: f"{match.group(1) or '0'}.{match.group(2)}", "".join(output))
