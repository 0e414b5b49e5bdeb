"""Socratic before a concept: one guiding question when the next step is about to teach it.

A learner walking the lesson in order who asks what a concept is ("what's a loss function?"
on the step before the loss step) may first get ONE guiding question from the lesson's own
material (`guiding` in `concepts.yaml`), with a "Just tell me" button. The agent then reads the
learner's answer against it (`tutor.engine.guiding`). Kept from being a nuisance on purpose:

- only "what is X" / "what does X mean" / "explain X" questions about ONE concept, never
  questions about the learner's data, settings, images or runs, comparisons or follow-ups;
- only when the NEXT step teaches the concept and no step the learner has seen did (the
  current step's text was already shown: a question about it asks for a plain answer);
- only for a learner who came to this step from the one before it (someone who jumps around
  the lesson is looking things up, and gets the answer);
- at most once per upcoming step in a session, and never right after another guiding question.
"""

from __future__ import annotations

import re

from tutor.answers.knowledge import KnowledgeBase, Passage
from tutor.engine.guiding import GUIDING
from tutor.engine.lessons import LessonPack
from tutor.engine.mastery import Concept, ConceptMap
from tutor.reply import Option, Reply
from tutor.session import Session

JUST_TELL_ME = Option("Just tell me", "just tell me")  # the command table reads it as `skip`
WHAT_IS = re.compile(
    r"^(?:(?:so|and|but|ok|okay|wait|hmm+|um+|hey|quick question)[, ]+)*"
    r"(?:what(?:'s| is| are| exactly is)|whats|wats|what does|what do|what'?s the meaning of|"
    r"explain|define|tell me about|how does|how do)\b", re.IGNORECASE)
NOT_A_CONCEPT_QUESTION = re.compile(
    r"\d|\b(?:my|mine|our|i|me|we|us|you|your|this|that|these|those|it|its|now|here|"
    r"image|picture|pic|run|runs|setting|settings|using|set to|trained|training on)\b", re.IGNORECASE)
MAX_WORDS = 10


def concept_of(passage: Passage, concepts: ConceptMap) -> Concept | None:
    """The concept that explains a glossary entry, when exactly one does."""
    title = passage.title.lower()
    found = [concept for concept in concepts.concepts if title in {term.lower() for term in concept.glossary}]
    return found[0] if len(found) == 1 else None


def already_asked(session: Session, step_id: str, concepts: ConceptMap) -> bool:
    """Whether this learner got a guiding question about a concept of that step before: one
    per step is enough to start them thinking; more would hold up every question."""
    questions = [concept.guiding.question for concept in concepts.concepts
                 if concept.guiding is not None and step_id in concept.steps]
    return any(line.get("role") == "tutor" and any(question in line.get("text", "") for question in questions)
               for line in session.transcript)


def guiding_question(session: Session, text: str, knowledge: KnowledgeBase, concepts: ConceptMap,
                     pack: LessonPack) -> Reply | None:
    """The guiding question for a concept question the next step is about to teach, else None."""
    if session.dialogue.guided or session.pending_card is not None or not session.state_id:
        return None
    question = text.strip().rstrip("?!. ")
    if (not WHAT_IS.match(question) or len(question.split()) > MAX_WORDS
            or NOT_A_CONCEPT_QUESTION.search(WHAT_IS.sub("", question))):
        return None
    position = pack.index(session.state_id)
    if position == 0 or position + 1 >= len(pack.states):
        return None
    if pack.states[position - 1].id not in session.visited:
        return None  # not walking the lesson in order: a look-up, answered
    upcoming = pack.states[position + 1]
    named = knowledge.named(knowledge.correct(question))
    found = [concept_of(passage, concepts) for passage in named]
    concept = found[0] if found else None
    if concept is None or any(other is None or other.id != concept.id for other in found):
        return None
    if (concept.guiding is None or upcoming.id not in concept.steps
            or set(concept.steps) & set(session.visited) or already_asked(session, upcoming.id, concepts)):
        return None
    reply_text = (f"Good question: that is just what the next step, **{upcoming.title}**, is about. "
                  f"Before I tell you, have a think: {concept.guiding.question}\n\n"
                  "*Answer in your own words, or press **Just tell me**.*")
    passage = named[0]
    session.dialogue.remember(passage.key, GUIDING, text, reply_text, [passage.title])
    session.dialogue.guided = True
    options = [option for option in pack.get(session.state_id).options if option.message != "skip"]
    return Reply(text=reply_text, kind="check", options=[JUST_TELL_ME, *options])
