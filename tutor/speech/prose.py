"""A reply's Markdown as the prose to read aloud: no code, tables or links, numbers in words.

    speakable("It reached **84.3%** accuracy.")   # "It reached eighty-four point three percent accuracy."

Used by `tutor.speech.synthesis` before any engine speaks, and `number_words` by the recogniser
to count a number's syllables. Plain text in, plain text out: nothing here makes a sound.
"""

from __future__ import annotations

import html
import re

MAX_SPOKEN_CHARS = 600

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
             "nine": "ninth", "twelve": "twelfth"}


def number_words(number: int) -> str:
    """An integer in words: 7850 -> "seven thousand eight hundred fifty"."""
    if number < 0:
        return "minus " + number_words(-number)
    if number >= 10**15:
        return " ".join(_ONES[int(digit)] for digit in str(number))
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, rest = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[rest]}" if rest else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for value, name in _SCALES:
        if number >= value:
            head, rest = divmod(number, value)
            return f"{number_words(head)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def _ordinal_words(number: int) -> str:
    words = number_words(number)
    head, _, last = words.rpartition(" ")
    stem, dash, tail = last.rpartition("-")
    if tail in _ORDINALS:
        tail = _ORDINALS[tail]
    elif tail.endswith("y"):
        tail = tail[:-1] + "ieth"
    else:
        tail += "th"
    return f"{head} {stem}{dash}{tail}".strip()


def _decimal_words(whole: str, fraction: str | None) -> str:
    digits = whole.replace(",", "")
    spoken = " ".join(_ONES[int(d)] for d in digits) if len(digits) > 1 and digits.startswith("0") \
        else number_words(int(digits))
    if fraction:
        spoken += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return spoken


_NUMBER = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_NUMBER_TOKEN = re.compile(
    rf"(?P<sign>(?<![\w.])[-−])?(?P<whole>{_NUMBER})(?:\.(?P<fraction>\d+))?"
    r"(?:(?P<exp>e[-+]?\d+)\b)?(?P<ordinal>st|nd|rd|th)?(?P<percent>\s?%)?(?![\w])",
)
_UNITS = {"ms": "milliseconds", "s": "seconds", "MB": "megabytes", "GB": "gigabytes", "KB": "kilobytes"}


def _say_number(match: re.Match[str]) -> str:
    if match.group("ordinal") and not match.group("fraction"):
        return _ordinal_words(int(match.group("whole").replace(",", "")))
    spoken = _decimal_words(match.group("whole"), match.group("fraction"))
    if match.group("exp"):
        spoken += " times ten to the " + number_words(int(match.group("exp")[1:].lstrip("+")))
    if match.group("sign"):
        spoken = "minus " + spoken
    if match.group("percent"):
        spoken += " percent"
    return spoken


_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "eta", "theta", "lambda", "mu", "sigma", "tau",
          "phi", "omega", "pi")
_LATEX = [
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r" \1 over \2 "),
    (r"\\sqrt\{([^{}]*)\}", r" the square root of \1 "),
    (r"\\hat\{([^{}]*)\}", r" \1 hat "),
    (r"\\(?:text|mathrm|mathbf|operatorname)\{([^{}]*)\}", r" \1 "),
    (r"\^\{?2\}?", " squared "),
    (r"\^\{([^{}]*)\}|\^(\w)", r" to the power \1\2 "),
    (r"_\{([^{}]*)\}|_(\w)", r" \1\2 "),
    (r"\\(?:times|cdot)", " times "),
    (r"\\(?:dots|ldots|cdots)", " and so on "),
    (r"\\sum", " the sum of "),
    (r"\\approx", " is about "),
    (r"\\(?:leq?)\b", " is at most "),
    (r"\\(?:geq?)\b", " is at least "),
    (r"\\(log|exp|max|min)\b", r" \1 "),
    (r"\\(" + "|".join(_GREEK) + r")\b", r" \1 "),
    (r"\\[,;! ]", " "),
    (r"=", " equals "),
    (r"\+", " plus "),
    (r"(?<=\s)-(?=\s)", " minus "),
]


def _latex_words(formula: str) -> str:
    """A formula read aloud, or "the formula" when it is too involved to read."""
    text = formula.strip()
    for pattern, replacement in _LATEX:
        text = re.sub(pattern, replacement, text)
    text = text.replace("{", " ").replace("}", " ")
    text = re.sub(r"\bx\b", "ex", text)  # the variable x, not "28 x 28"
    if "\\" in text or re.search(r"[^\w\s.,()'-]", text) or len(text) > 200:
        return " the formula "
    return f" {text} "


def _code_words(code: str) -> str:
    """Inline code read aloud: `from_logits=True` -> "from logits equals True"."""
    text = re.sub(r"\(\s*\)", "", code)
    text = re.sub(r"(?<=[A-Za-z_)])\.(?=[A-Za-z_])", " dot ", text)
    text = text.replace("_", " ").replace("==", " equals ").replace("=", " equals ")
    text = re.sub(r"[`'\"\[\](){}:]", " ", text)
    return text


def _limit(text: str, max_chars: int) -> str:
    """At most `max_chars`, ending on a sentence boundary where there is one."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars + 1]
    ends = [match.end() for match in re.finditer(r"[.!?](?=\s)", cut)]
    if ends and ends[-1] > max_chars // 4:
        return cut[: ends[-1]].strip()
    return cut.rsplit(" ", 1)[0].rstrip(" ,;:") + "."


def speakable(markdown: str, *, max_chars: int = MAX_SPOKEN_CHARS) -> str:
    """The prose of a Markdown reply as it should be read aloud.

    Drops code blocks, tables, images, HTML and URLs; keeps the text of headings, emphasis and
    links; reads formulas and numbers ("7,850" -> "seven thousand eight hundred fifty",
    "84.3%" -> "eighty-four point three percent", "28x28" -> "twenty-eight by twenty-eight");
    ends within `max_chars` on a sentence boundary.
    """
    text = html.unescape(str(markdown or "")).replace("\r\n", "\n")
    text = re.sub(r"(?ms)^\s*(```|~~~).*?(^\s*\1[^\n]*$|\Z)", "\n", text)  # fenced code blocks
    text = re.sub(r"(?s)\$\$(.+?)\$\$|\\\[(.+?)\\\]", lambda m: "\n" + _latex_words(m.group(1) or m.group(2))
                  + ".\n", text)
    text = re.sub(r"(?<![\w$])\$([^$\n]+?)\$(?![\w$])|\\\((.+?)\\\)",
                  lambda m: _latex_words(m.group(1) or m.group(2)), text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"<https?://[^>]+>|https?://\S+", " ", text)
    text = re.sub(r"(?s)<!--.*?-->|<[^>\n]+>", " ", text)
    text = re.sub(r"`([^`\n]+)`", lambda m: _code_words(m.group(1)), text)

    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("|") or re.fullmatch(r"[-:|\s]{3,}", line) or line in ("---", "***", "___"):
            lines.append("")  # tables and rules
            continue
        heading = re.match(r"#{1,6}\s+", line)
        item = re.match(r"(?:[-*+]|\d+[.)])\s+", line)
        line = re.sub(r"^(?:#{1,6}|>+|[-*+]|\d+[.)])\s+", "", line)
        if (heading or item) and line and not line.endswith((".", "!", "?", ":", ";")):
            line += "."
        lines.append(line)
    paragraphs = []
    for block in "\n".join(lines).split("\n\n"):
        block = re.sub(r"\s*\n\s*", " ", block).strip()
        if block:
            paragraphs.append(block if block.endswith((".", "!", "?", ":", ";")) else block + ".")
    text = " ".join(paragraphs)

    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)  # bold
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)  # italic
    text = re.sub(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)", r"\1", text)
    text = re.sub(r"~~(.+?)~~", r"\1", text)
    text = re.sub(r"(\d)\s*[x×X]\s*(?=\d)", r"\1 by ", text)  # 28x28, 28 × 28
    text = re.sub(r"(\d)\s*[–—]\s*(?=\d)", r"\1 to ", text)  # ranges 1–5
    text = re.sub(r"(\d)\s*/\s*(?=\d)", r"\1 out of ", text)
    text = re.sub(r"\b(\d+(?:\.\d+){2,})\b", lambda m: " point ".join(m.group(1).split(".")), text)
    text = re.sub(r"(?<=\d) ?(ms|s|MB|GB|KB)\b", lambda m: " " + _UNITS[m.group(1)], text)
    text = _NUMBER_TOKEN.sub(_say_number, text)
    for symbol, words in (("→", " to "), ("≈", " about "), ("&", " and "), ("×", " times "),
                          ("±", " plus or minus "), ("≤", " at most "), ("≥", " at least "),
                          ("%", " percent"), ("#", " number ")):
        text = text.replace(symbol, words)
    text = re.sub(r"[*_`|\\^~<>{}\[\]]", " ", text)
    text = re.sub(r"[^\w\s.,;:!?'\"()-]", " ", text)  # emoji and other symbols
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    text = re.sub(r"([.!?])[.]+", r"\1", text)
    return _limit(text, max_chars)
