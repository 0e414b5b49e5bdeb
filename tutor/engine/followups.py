"""Follow-ups: short messages that only make sense against what was just said.

"why?", "simpler please", "give me an example", "tell me more", "say that again", "what do
you mean by logits?", "and the bias?" refer to the last answer (`Session.dialogue`). This
module only recognises them and pulls out the new subject where there is one; the answers
side (`tutor.answers.followups`) writes the reply, and the agent repeats a command for "do it
again".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLEASE = (r"(?:\s*(?:please|pls|plz|thanks|thank you|then|again|now|for me|a bit|a little|though|tho|"
           r"exactly|here|actually|really))*")
_YOU = r"(?:(?:can|could|would|will) you\s+|please\s+|pls\s+|just\s+)*"
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("simpler", re.compile(
        rf"^{_YOU}(?:explain|say|put|tell me|describe)?\s*(?:it|that|this)?\s*(?:in\s+)?"
        rf"(?:more\s+simply|simpler|in simple(?:r)? (?:words|terms)|in plain (?:words|english)|"
        rf"like i'?m (?:5|five|a kid|a child|12)|for a (?:beginner|kid|child)|more plainly|easier|"
        rf"dumb it down|without (?:the )?jargon){_PLEASE}$|"
        rf"^(?:simpler|simply|eli5|too (?:complicated|hard|technical)|that'?s (?:too )?(?:confusing|"
        rf"complicated|hard)|i (?:still )?(?:don'?t|do not) (?:get|understand) (?:it|that)|"
        rf"what does that mean|huh|i'?m (?:still )?confused|in english){_PLEASE}$")),
    ("why", re.compile(
        rf"^(?:but |and |so )?(?:why|how come|"
        rf"why (?:is|does|do|did) (?:it|that|this)(?: (?:matter|work|happen))?|"
        rf"why (?:is )?that|for what reason|what(?:'s| is) the (?:point|reason)|why does it matter|"
        rf"why do we (?:do|need) (?:that|this|it)|why would (?:it|that|we)){_PLEASE}$")),
    ("example", re.compile(
        rf"^{_YOU}(?:give|show|got|have) (?:me |us )?(?:an?|one|another|some|a concrete|a real) "
        rf"(?:example|instance)s?(?: (?:of (?:that|this|it)|please))?{_PLEASE}$|"
        rf"^(?:for |an? )?example{_PLEASE}$|^(?:like what|such as|e\.?g\.?|for instance|"
        rf"can you show (?:me )?(?:that|it) with (?:an example|numbers)){_PLEASE}$")),
    ("more", re.compile(
        rf"^{_YOU}(?:tell|say|explain|show) (?:me |us )?(?:a (?:bit|little) )?more"
        rf"(?: about (?:that|it|this))?"
        rf"{_PLEASE}$|^(?:more|go on|keep going|continue|and then|what else|anything else|"
        rf"go deeper|more detail|in more detail|more details|elaborate|expand on (?:that|it)|"
        rf"(?:can|could) you elaborate|(?:can|could) you go deeper){_PLEASE}$")),
    ("again", re.compile(
        rf"^{_YOU}(?:say|repeat|tell me) (?:that|it) again{_PLEASE}$|^what did you (?:just )?say|"
        rf"^(?:repeat|come again|sorry\??|pardon|what was that|say again|one more time)"
        rf"(?: (?:that|please))?{_PLEASE}$|^(?:do|run|try) (?:it|that) again{_PLEASE}$|^again$")),
)
MEANS = re.compile(r"^(?:what|wdym|what do you|what did you|and what|whats|what's)\s*(?:do you |did you )?"
                   r"(?:mean|meant|means) by\s+(?P<subject>.+?)$|^what(?:'s| is) (?:a |an |the )?"
                   r"(?P<subject2>.+?) (?:in|here in) (?:that|this|what you (?:just )?said)$")
AND_ABOUT = re.compile(r"^(?:and|what about|how about|and what about|and for|same for|what of)\s+"
                       r"(?:the |a |an |my |our )?(?P<subject>[a-z][\w\s./()-]{0,40}?)$")


@dataclass(frozen=True)
class FollowUp:
    """A recognised follow-up: its kind and, for "what do you mean by X" / "and X?", the subject."""

    kind: str  # simpler, why, example, more, again, means, and_about
    subject: str = ""


def read_follow_up(text: str) -> FollowUp | None:
    """The follow-up in a cleaned, lower-case message (end punctuation dropped), or None."""
    text = re.sub(r"^(?:ok(?:ay)?|hmm+|um+|so|sorry|thanks|nice|cool|great)[, ]+", "", text.strip(" ?!.,"))
    for kind, pattern in KINDS:
        if pattern.search(text):
            return FollowUp(kind)
    match = MEANS.search(text)
    if match:
        return FollowUp("means", (match.group("subject") or match.group("subject2") or "").strip(" ?\"'"))
    match = AND_ABOUT.search(text)
    if (match and len(match.group("subject").split()) <= 5
            and not re.match(r"\w+ing\b|we\b|you\b|i\b", match.group("subject"))):
        return FollowUp("and_about", match.group("subject").strip())
    return None
