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

from tutor.engine.fillers import leading

_PLEASE = (r"(?:\s*(?:please|pls|plz|thanks|thank you|then|again|now|for me|a bit|a little|though|tho|"
           r"exactly|here|actually|really|with (?:some |real |actual |our |the lesson'?s )?numbers|"
           r"in numbers|from (?:the|this) lesson|for (?:this|our) (?:model|lesson)))*")
_YOU = r"(?:(?:can|could|would|will) (?:you|u)\s+|please\s+|pls\s+|just\s+)*"
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("simpler", re.compile(
        rf"^{_YOU}(?:explain|say|put|tell me|describe)?\s*(?:it|that|this)?\s*(?:in\s+)?"
        rf"(?:more\s+simply|simpler|in simple(?:r)? (?:words|terms)|in plain (?:words|english)|"
        rf"like i'?m (?:5|five|a kid|a child|12)|for a (?:beginner|kid|child)|more plainly|easier|"
        rf"without (?:the )?jargon){_PLEASE}$|"
        rf"^{_YOU}(?:dumb (?:it|that) down|make (?:it|that) simpler|simplify (?:it|that)|"
        rf"(?:say|put|tell me|explain) "
        rf"(?:it|that)(?: again| once more)?,?(?: but)? (?:differently|another way|some other way|"
        rf"in (?:a )?(?:different|other|new) (?:way|words))|explain (?:it|that) again|"
        rf"(?:rephrase|reword) (?:it|that)|in other words){_PLEASE}$|"
        rf"^(?:simpler|simply|eli5|too (?:complicated|hard|technical|confusing)|"
        rf"that'?s (?:too )?(?:confusing|complicated|hard)|"
        rf"i (?:still )?(?:don'?t|dont|do not) (?:get|understand)(?: (?:it|that|this))?|"
        rf"what does that mean|what do you mean|wdym|what did you mean(?: by (?:that|this|it))?|huh|"
        rf"i'?m (?:still )?(?:confused|lost)|in english|lost me|you lost me){_PLEASE}$")),
    ("why", re.compile(
        rf"^(?:but |and |so )?(?:why|how come|"
        rf"why (?:is|does|do|did) (?:it|that|this)(?: (?:matter|work|happen))?|"
        rf"why (?:is )?that|for what reason|what(?:'s| is) the (?:point|reason)|why does it matter|"
        rf"why (?:do|would|should|did) (?:we|i|you) (?:even )?(?:do|need|use|want|care about) "
        rf"(?:that|this|it|them)|"
        rf"why (?:does|would|did|will) (?:that|it|this) (?:help|matter|work|happen|change anything)|"
        rf"why would (?:it|that|we)|why not|why so|"
        rf"why is that so|how so|what for|but why would it){_PLEASE}$|"
        # "what would happen if we didn't?": what goes wrong without it is why it is done
        rf"^(?:but |and |so )?(?:what (?:would|will|could|might) (?:happen|go wrong)|what happens|"
        rf"what goes wrong|what if|and if) (?:if |when )?(?:we |i |you |it )?(?:didn'?t|don'?t|did not|"
        rf"do not|never did|skip(?:ped)?(?: (?:it|that|this))?|left (?:it|that|this) out|leave (?:it|that|"
        rf"this) out|not)(?: (?:do|use|did|have) (?:it|that|this|them))?{_PLEASE}$")),
    ("example", re.compile(
        rf"^{_YOU}(?:give|show|got|have) (?:me |us )?(?:an?|one|another|some|a concrete|a real) "
        rf"(?:example|instance)s?(?: (?:of (?:that|this|it)|please))?{_PLEASE}$|"
        rf"^{_YOU}(?:give|show) (?:an?|one) example{_PLEASE}$|"
        rf"^(?:for |an? )?example{_PLEASE}$|"
        rf"^(?:what(?:'s| is| would be)|whats) (?:an|one|a good) example(?: of (?:that|this|it))?{_PLEASE}$|"
        rf"^(?:like what|such as|e\.?g\.?|for instance|"
        rf"can you show (?:me )?(?:that|it) with (?:an example|numbers)){_PLEASE}$")),
    ("more", re.compile(
        rf"^{_YOU}(?:tell|say|explain|show) (?:me |us )?(?:a (?:bit|little) )?more"
        rf"(?: about (?:that|it|this))?"
        rf"{_PLEASE}$|^(?:(?:even|some|a bit|a little|any) more|more|go on|keep going|and then|what else|"
        rf"anything else|"
        rf"go deeper|more detail|in more detail|more details|elaborate|expand on (?:that|it)|"
        rf"(?:can|could) you elaborate|(?:can|could) you go deeper){_PLEASE}$")),
    ("again", re.compile(
        rf"^{_YOU}(?:say|repeat|tell me) (?:that|it) again{_PLEASE}$|^what did you (?:just )?say|"
        rf"^{_YOU}repeat(?: (?:that|it|yourself|the answer|the last (?:answer|part)))?{_PLEASE}$|"
        rf"^(?:repeat|come again|sorry\??|pardon|what was that|say again|one more time)"
        rf"(?: (?:that|please))?{_PLEASE}$|^(?:do|run|try) (?:it|that) again{_PLEASE}$|^again$")),
    ("judge", re.compile(
        rf"^(?:so |and |but )?(?:is|was|are) (?:that|this|it|these|those) (?:good|bad|ok|okay|normal|high|"
        rf"low|a lot|much|enough|any good|good or bad|fine|right|expected|correct)(?: or (?:not|bad|good))?"
        rf"{_PLEASE}$|^(?:good or bad|is that a good (?:number|score|result)|"
        rf"should i be (?:happy|worried)(?: about (?:that|it))?)"
        rf"{_PLEASE}$")),
    ("looking_at", re.compile(
        r"^(?:so )?what (?:am i|are we|is this|are these|am i even) (?:looking at|seeing)"
        r"(?: here| now)?$|"
        r"^what (?:does|do|is) (?:this|these|that|the) "
        r"(?:graph|plot|picture|image|chart|figure|curves?|maps?|bars?|grid|table|squares?|colou?rs?)s? "
        r"(?:show|showing|mean|tell(?: me| us)?|say)(?: me| us)?$|"
        r"^(?:what is|what's|whats) (?:this|that) (?:graph|plot|picture|chart|figure|image)$|"
        r"^(?:can you |could you )?(?:explain|describe|read) (?:this|that|the) "
        r"(?:graph|plot|picture|chart|figure|image|curves?)(?: for me| to me)?$|"
        r"^how do i read (?:this|that|the) (?:graph|plot|chart|figure|picture)$")),

)
ABOUT_ME = re.compile(r"(?:i|im|i'm|i am|i'?ve|i was|i did|i didn'?t|i don'?t|i do not|me|my|sorry|lol|"
                      r"please|pls|thanks)\b")
FILLER = leading()
MEANS = re.compile(r"^(?:what|wdym|what do you|what did you|and what|whats|what's)\s*(?:do you |did you )?"
                   r"(?:mean|meant|means) by\s+(?P<subject>.+?)$|^what(?:'s| is) (?:a |an |the )?"
                   r"(?P<subject2>.+?) (?:in|here in) (?:that|this|what you (?:just )?said)$")
AND_ABOUT = re.compile(r"^(?:and|what about|how about|and what about|and for|same for|what of)\s+"
                       r"(?:the |a |an |my |our )?(?P<subject>[a-z][\w\s./()-]{0,40}?)$")


# "how come we need one", "why would anyone bother with it": a why that names nothing new
WHY_OPENING = re.compile(r"^(?:but |and |so )?(?:why|how come)\b")
REFERRING = frozenset((
    "we", "i", "you", "they", "anyone", "people", "it", "its", "that", "this", "these", "those", "them",
    "one", "1", "ones", "do", "does", "did", "is", "are", "was", "would", "should", "could", "will", "can",
    "need", "needs", "use", "used", "want", "care", "about", "bother", "with", "even", "really", "at",
    "all", "have", "has", "to", "matter", "matters", "help", "helps", "work", "works", "happen",
    "happens", "the", "a", "then", "exactly", "though", "there", "so", "important", "useful", "needed"))


def _kind(clause: str) -> str | None:
    clause = FILLER.sub("", clause.strip(" ?!.,"))
    kind = next((kind for kind, pattern in KINDS if clause and pattern.search(clause)), None)
    if kind is None and WHY_OPENING.match(clause):
        rest = clause[WHY_OPENING.match(clause).end():].split()
        if len(rest) <= 7 and all(word in REFERRING for word in rest):
            kind = "why"
    return kind


@dataclass(frozen=True)
class FollowUp:
    """A recognised follow-up: its kind and, for "what do you mean by X" / "and X?", the subject."""

    kind: str  # simpler, why, example, more, again, means, and_about
    subject: str = ""


def is_bare_follow_up(text: str) -> bool:
    """Whether the whole message is one follow-up of a closed form ("dumb it down", "why?"),
    with nothing else in it that the guard would need to read."""
    return _kind(FILLER.sub("", text.strip(" ?!.,"))) is not None


def read_follow_up(text: str) -> FollowUp | None:
    """The follow-up in a cleaned, lower-case message (end punctuation dropped), or None."""
    text = FILLER.sub("", text.strip(" ?!.,"))
    parts = [part for part in re.split(r"[,;:?!.]\s*|\s+-+\s+", text) if part.strip()]
    kind = _kind(text)
    if kind:
        return FollowUp(kind)
    # "too complicated, dumb it down for me": the last clause says it, when what comes before is
    # a few words or a follow-up itself ("my loss is huge, is that bad?" is a question, not one)
    if len(parts) > 1 and all(len(part.split()) <= 3 or _kind(part) for part in parts[:-1]):
        kind = _kind(parts[-1])
        if kind:
            return FollowUp(kind)
    # "can you explain that simpler? im not a math person": a follow-up, then words about oneself
    if len(parts) > 1 and all(ABOUT_ME.match(part.strip()) or len(part.split()) <= 2 for part in parts[1:]):
        kind = _kind(parts[0])
        if kind:
            return FollowUp(kind)
    match = MEANS.search(text)
    if match:
        return FollowUp("means", (match.group("subject") or match.group("subject2") or "").strip(" ?\"'"))
    match = AND_ABOUT.search(text)
    if (match and len(match.group("subject").split()) <= 5
            and not re.match(r"\w+ing\b|we\b|you\b|i\b|now\b|then\b|another\b|one more\b",
                             match.group("subject"))
            and not re.search(r"\d", match.group("subject"))):
        return FollowUp("and_about", match.group("subject").strip())
    return None
