"""The learner's side of a guiding question (asked by `tutor.answers.socratic`).

After "Before I tell you, have a think: ...", the next message is one of:
- an answer in the learner's own words: a short reply that connects it to the concept (the
  concept's `guiding.connect`, said as "yes, that's the idea" when the answer has the words of
  one on the right track), then the explanation they asked for;
- "just tell me", "I don't know", "no idea" (the `skip` command) or "not sure": the explanation;
- anything else (a new question, a command, a follow-up): handled as usual, and the guiding
  question is dropped. Never a second guiding question in a row (`Dialogue.guided`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator

from tutor.engine.followups import read_follow_up
from tutor.engine.mastery import Concept, ConceptMap
from tutor.reply import Reply
from tutor.session import Session

GUIDING = "guiding"  # the dialogue kind while a guiding question waits (tutor.answers.socratic)
NO_IDEA = re.compile(
    r"^(?:(?:um+|hmm+|uh+|well|honestly|sorry)[, ]+)*(?:i (?:really )?(?:don'?t|dont|do not) know|"
    r"i(?:'?m| am) not sure|not sure|no idea|no clue|idk|dunno|i have no idea|pass|i give up|"
    r"(?:just )?tell me(?: the answer)?|(?:just )?give me the answer|ok|okay|skip|"
    r"i can'?t (?:think|tell))(?: (?:sorry|tbh|really|honestly))?$")
NEW_QUESTION = re.compile(r"^(?:(?:so|and|but|ok|okay|wait|hmm+)[, ]+)*(?:what|why|how|which|who|where|when|"
                          r"can you|could you|would you|will you|explain|show me|define)\b")
MAX_ANSWER_WORDS = 40


class Guiding:
    """A learner's reply to a guiding question (a mixin of the Agent)."""

    concepts: ConceptMap
    screen: Callable[[Session, str], Reply | None] | None
    _answer: Callable[[Session, str], Iterator[Reply]]  # the Agent's: the answerer's reply

    def guided_concept(self, session: Session) -> Concept | None:
        """The concept whose guiding question was the last reply, else None."""
        dialogue = session.dialogue
        if dialogue.kind != GUIDING or not dialogue.guided or not dialogue.subjects:
            return None
        term = dialogue.subjects[0].lower()
        return next((concept for concept in self.concepts.concepts if concept.guiding is not None
                     and term in {name.lower() for name in concept.glossary}), None)

    def answer_guiding(self, session: Session, text: str, message: str) -> Generator[Reply, None, bool]:
        """Read the message as the answer to a waiting guiding question; False when it is not one."""
        concept = self.guided_concept(session)
        if concept is None or concept.guiding is None:
            return False
        if NO_IDEA.match(text):
            yield from self.tell_guided(session)
            return True
        on_track = _on_track(text, concept.guiding.look_for)
        if (not on_track and NEW_QUESTION.match(text)) or read_follow_up(text) is not None \
                or len(text.split()) > MAX_ANSWER_WORDS:
            session.dialogue.kind = "concept"  # dropped; `guided` stays, so no second one now
            return False
        steer = self.screen(session, message) if self.screen is not None else None
        if steer is not None:
            yield steer
            return True
        said = " ".join(message.split()).strip(" \"'")
        said = said if len(said) <= 140 else said[:137].rsplit(" ", 1)[0] + "..."
        if on_track:
            lead = f"Yes, that's the idea! You said \u201c{said}\u201d. {concept.guiding.connect}"
        else:
            lead = (f"Thanks for thinking it through. You said \u201c{said}\u201d; here is how it fits. "
                    f"{concept.guiding.connect}")
        yield from self._explain_guided(session, lead)
        return True

    def tell_guided(self, session: Session) -> Iterator[Reply]:
        """"Just tell me": the explanation the learner asked for, straight away."""
        yield from self._explain_guided(session, "Sure, here it is.")

    def _explain_guided(self, session: Session, lead: str) -> Iterator[Reply]:
        question = session.dialogue.question
        session.dialogue.kind = "concept"  # answered; `guided` stays until the answer is remembered
        replies = [reply for reply in self._answer(session, question) if reply.final]
        if not replies:
            yield Reply(text=lead, kind="answer")
            return
        replies[0].text = f"{lead}\n\n{replies[0].text}".strip()
        yield from replies


def _on_track(text: str, words: tuple[str, ...]) -> bool:
    """Whether an answer has a word of one on the right track: whole short words ("no", "10"),
    longer ones as the start of a word ("memor" in "memorise")."""
    for word in words:
        pattern = rf"\b{re.escape(word)}\b" if len(word) <= 3 else rf"\b{re.escape(word)}"
        if re.search(pattern, text):
            return True
    return False
