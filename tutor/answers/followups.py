"""Answers to follow-ups, read against the conversation's last topic (`Session.dialogue`).

"simpler" gives the entry's plain-words version, "why" its reason, "an example" a worked
example with this lesson's numbers, "more" the longer explanation and then related entries,
"again" the last answer once more, "what do you mean by X" explains X where the last answer
used it, and "and the bias?" asks the last question again about a new subject. The texts are
the glossary's own fields (`simple`, `why`, `example`, `long`), written for this lesson.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tutor.answers.knowledge import KnowledgeBase, Passage, name_form
from tutor.engine.followups import FollowUp
from tutor.engine.lessons import LessonPack
from tutor.reply import Reply
from tutor.session import Session

Ask = Callable[[Session, str], Reply]  # the answerer's own path for a fresh question


def topic_passage(knowledge: KnowledgeBase, session: Session, pack: LessonPack) -> Passage | None:
    """The passage the conversation is about: the last topic, else the step's main entry."""
    by_key = {passage.key: passage for passage in knowledge.passages}
    if session.dialogue.topic in by_key:
        return by_key[session.dialogue.topic]
    state = session.state_id or pack.first().id
    return next((passage for passage in knowledge.passages
                 if passage.kind == "glossary" and passage.state == state), None)


def answer_follow_up(follow_up: FollowUp, session: Session, knowledge: KnowledgeBase,
                     pack: LessonPack, ask: Ask) -> Reply | None:
    """The reply to a follow-up, or None when there is nothing it can refer to."""
    dialogue = session.dialogue
    if follow_up.kind == "again":
        if not dialogue.answer:
            return None
        return Reply(text=f"Here it is again:\n\n{dialogue.answer}", kind="answer")
    if follow_up.kind == "and_about":
        return _and_about(follow_up.subject, session, knowledge, ask)
    if follow_up.kind == "means":
        return _what_it_means(follow_up.subject, session, knowledge, pack, ask)
    if follow_up.kind == "judge" and session.history and dialogue.kind in ("figure", "action", "step", ""):
        return _judge_the_model(session, ask)
    passage = topic_passage(knowledge, session, pack)
    if follow_up.kind == "looking_at" and dialogue.figure:
        about = (f"\n\n{passage.simple or passage.short}"
                 if passage is not None and passage.kind == "glossary" else "")
        text = f"That figure shows {dialogue.figure[:1].lower()}{dialogue.figure[1:]}{about}"
        _keep(session, text)
        return Reply(text=text, kind="answer")
    if passage is None:
        return None
    if follow_up.kind == "judge":
        follow_up = FollowUp("why")
    if follow_up.kind == "looking_at":
        follow_up = FollowUp("simpler")
    name = _name(passage)
    if follow_up.kind == "simpler":
        text = passage.simple or passage.short or passage.text.split(". ")[0] + "."
        reply = f"In plain words: {text}"
    elif follow_up.kind == "why":
        reply = (f"Why {name.lower()} matters here: {passage.why}" if passage.why
                 else _from_lesson(knowledge, f"why {passage.title}", passage, "Here is the reason "
                                   "the lesson gives"))
    elif follow_up.kind == "example":
        reply = (f"An example with our own numbers: {passage.example}" if passage.example
                 else _from_lesson(knowledge, f"example {passage.title}", passage,
                                   "An example from the lesson"))
    else:  # more
        reply = _more(passage, knowledge, dialogue.depth)
        dialogue.depth += 1
        _keep(session, reply, keep_depth=True)
        return Reply(text=reply, kind="answer")
    _keep(session, reply)
    return Reply(text=reply, kind="answer")


def _judge_the_model(session: Session, ask: Ask) -> Reply:
    """"Is that good?" after a figure about the learner's model: a verdict first, then the figures."""
    accuracy = session.history[-1].get("val_accuracy", 0.0)
    verdict = ("Yes, for ten neurons that is good" if accuracy >= 0.75 else
               "It's a start, better than guessing" if accuracy > 0.2 else
               "Not yet: that is about what guessing gets")
    reply = ask(session, "how accurate is my model")
    reply.text = (f"{verdict}: {accuracy:.1%} of images it never studied, where guessing gets 10% and "
                  f"people get about 90%.\n\n{reply.text}")
    return reply


def _keep(session: Session, text: str, keep_depth: bool = False) -> None:
    """The follow-up's text becomes the last answer; the topic stays."""
    session.dialogue.answer = text
    if not keep_depth:
        session.dialogue.depth = 0
    session.dialogue.guided = False


def _name(passage: Passage) -> str:
    return passage.title[:1].upper() + passage.title[1:]


def _more(passage: Passage, knowledge: KnowledgeBase, depth: int) -> str:
    """Deeper each time: the long explanation and example, then related entries, then an end."""
    if depth == 0 and passage.kind == "glossary":
        parts = [passage.long or passage.text]
        if passage.example:
            parts.append(f"For example: {passage.example}")
        return f"**More on {passage.title}.** " + " ".join(parts)
    related = [entry for name in passage.related
               for entry in knowledge.named(name)[:1] if entry.key != passage.key]
    chosen = related[max(0, depth - 1) * 2:][:2] if passage.kind == "glossary" else related[:2]
    if not chosen:
        return (f"That's the whole story of {passage.title} in this lesson. Ask about any word in it, "
                "or press **Next** to keep going.")
    lines = [f"- **{_name(entry)}:** {entry.short or entry.text}" for entry in chosen]
    return f"Ideas that go with {passage.title}:\n\n" + "\n".join(lines)


def _from_lesson(knowledge: KnowledgeBase, query: str, passage: Passage, lead: str) -> str:
    """A lesson paragraph about the topic, for an entry without the field asked for."""
    for found, _ in knowledge.search(query, k=5):
        if found.kind == "lesson" and found.key != passage.key and (
                not passage.state or found.state == passage.state):
            return f"{lead}: {found.text}"
    return f"{lead}: {passage.long or passage.text}"


def _what_it_means(subject: str, session: Session, knowledge: KnowledgeBase, pack: LessonPack,
                   ask: Ask) -> Reply:
    """X explained where the last answer used it."""
    named = knowledge.named(subject)
    used = _sentence_using(subject, session.dialogue.answer)
    if not named and not used:
        return ask(session, f"what is {subject}")
    topic = topic_passage(knowledge, session, pack)
    entry = next((passage for passage in named if name_form(subject) in passage.names), None)
    if entry is None:  # "confident" is not "confident mistakes": the word in the last answer's sense
        about = f"{subject} {topic.title}" if topic is not None else subject
        entry = next((found for found, _ in knowledge.search(about, k=8) if found.kind == "glossary"
                      and (topic is None or found.key != topic.key)), named[0] if named else None)
    if entry is None:
        return ask(session, f"what is {subject}")
    context = ""
    if used:
        context = f" Where I used it: \u201c{used}\u201d"
    elif topic is not None and topic.key != entry.key:
        context = f" In what I said about {topic.title}, that is the sense it has."
    text = f"By **{subject.strip()}** I mean this: {entry.simple or entry.short}{context}"
    if entry.simple and entry.short:
        text += f"\n\nMore precisely: {entry.short}"
    session.dialogue.remember(entry.key, "concept", f"what is {subject}", text, [entry.title])
    return Reply(text=text, kind="answer")


def _sentence_using(subject: str, answer: str) -> str:
    """The sentence of the last answer that used the word asked about, if one did."""
    words = re.escape(subject.strip().lower())
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(answer.replace("**", "").split())):
        if re.search(rf"\b{words}", sentence.lower()):
            return sentence
    return ""


def _and_about(subject: str, session: Session, knowledge: KnowledgeBase, ask: Ask) -> Reply | None:
    """The last question again, about a new subject: "how many weights...?" then "and biases?"."""
    subject = re.sub(r"^(?:on|for|with|in|about|of|to) (?:the |my |our )?", "", subject.strip())
    named = knowledge.named(subject)
    question = session.dialogue.question
    if session.dialogue.kind == "figure" and question:  # "how accurate?", then "and on the training images?"
        return ask(session, f"{question.rstrip(' ?')} on the {subject}?")
    if not named:
        return None
    for old in session.dialogue.subjects:
        pattern = re.compile(rf"\b{re.escape(old)}s?\b", re.IGNORECASE)
        if question and pattern.search(question):
            return ask(session, pattern.sub(subject, question))
    return ask(session, f"what is {subject}")
