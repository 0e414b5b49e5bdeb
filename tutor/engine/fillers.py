"""The words a message may open with before it says anything: "ok so", "hmm", "thanks, ...".

One list for every reader of a message (the meaning layer, follow-ups, the answerer's question
finder), so a filler taught to one is known to all. Each reader may add words of its own that
only it skips ("and" before a request, "quick question" before a question).
"""

from __future__ import annotations

import re

INTERJECTIONS = (r"ok(?:ay)?|k|hmm+|hm+|um+|uh+|erm|oh|ah|wow|lol|hey|hi|hello|alright|right|yeah|yep|"
                 r"yes|cool|nice|great|oops|thanks?|thank you|thx|sorry|so|well|now|wait|actually")


def leading(extra: str = "", flags: int = 0) -> re.Pattern[str]:
    """A pattern for the fillers at the start of a message (and `extra` alternatives), with the
    commas, colons or spaces after each."""
    words = f"{INTERJECTIONS}|{extra}" if extra else INTERJECTIONS
    return re.compile(rf"^(?:(?:{words})\b[,:;.!]?\s+)+", flags)


def strip_leading(text: str, extra: str = "") -> str:
    """The message without its opening fillers ("ok so what is a bias" -> "what is a bias")."""
    return leading(extra).sub("", text)
