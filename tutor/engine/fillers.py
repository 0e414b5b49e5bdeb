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


# a message may open with a word that only acknowledges what was said ("k got it. whats next",
# "nah undo that"): what follows is the message
ACKNOWLEDGEMENTS = (rf"{INTERJECTIONS}|got it|gotcha|i see|understood|(?:that )?makes sense|sure|no|nah|"
                    r"nope|fine|perfect|awesome|good|noted")
_ACKNOWLEDGED = re.compile(rf"^(?:(?:{ACKNOWLEDGEMENTS})\b[,.!;:]*\s+)+")


def without_acknowledgement(text: str) -> str:
    """The message after its opening acknowledgements ("ok got it. next" -> "next"); the whole
    message when nothing follows them."""
    rest = _ACKNOWLEDGED.sub("", text).strip()
    return rest or text


# a request may end with why it is asked ("scale the pixels so training is calmer", "use sgd
# because i want to compare"): the request is what comes before
_REASON = re.compile(r"\s*,?\s+(?:so(?: that)?|because|since|cause|cuz|coz|(?:in order )?to (?:see|compare|"
                     r"check|find out|make|get)|and see)\b.*$")


def without_reason(text: str) -> str:
    """The request without a reason or purpose that ends it; the whole message when none does."""
    rest = _REASON.sub("", text).strip()
    return rest or text
