"""Answers to free-form questions: from the learner's own model first, then from the lesson.

Three sources, tried in order:
1. a steer back to the lesson for off-topic, hostile or instruction-changing messages
   (the rules are data: `lessons/guard.yaml`, applied by `tutor.answers.guard`);
2. live facts from the learner's session (their accuracy, loss, parameters, predictions...),
   from `tutor.answers.facts`;
3. retrieval over the glossary (`lessons/glossary.yaml`) and the lesson passages
   (`tutor.answers.knowledge`: BM25 and sentence embeddings), after a light spelling correction
   against the knowledge base's own vocabulary; here the best passages become one answer.
Nothing here imports Gradio; live facts call the same tools as the lesson.
"""

from __future__ import annotations

import re
import threading

import numpy as np

from tutor.answers.code_answers import code_answer
from tutor.answers.comparisons import asks_to_compare, compare, own_figures
from tutor.answers.facts import live_answer
from tutor.answers.followups import answer_follow_up
from tutor.answers.guard import Guard, guard_for
from tutor.answers.knowledge import KnowledgeBase, Passage, name_form, shared_knowledge
from tutor.answers.socratic import guiding_question
from tutor.engine.commands import clean_message
from tutor.engine.fillers import leading
from tutor.engine.followups import is_bare_follow_up, read_follow_up
from tutor.engine.lessons import LessonPack
from tutor.engine.mastery import load_concepts
from tutor.reply import Reply
from tutor.session import Session
from tutor.words import words_to_digits

MIN_SCORE = 0.35  # below this combined score, nothing in the lesson matches well enough
MIN_SIMILARITY = 0.3  # below this cosine, the question is about something else (measured: most
#                       off-topic messages score 0.1-0.3, lesson questions 0.3-0.9)
NAMED_BONUS = 0.2
GLOSSARY_PRIOR = 0.1
DIRECT_QUESTION = re.compile(
    r"^(?:(?:so|and|but|ok|okay|wait|hmm+)[, ]+)?(?:do|does|did|is|are|was|were|can|could|will|would|should|"
    r"has|have|am|how (?:many|much|long|big)|isn'?t|aren'?t|doesn'?t|don'?t)\b", re.IGNORECASE)
# "so every pixel gets its own weight, right?": a claim to confirm is a yes/no question
TAG_QUESTION = re.compile(r"(?:,?\s+(?:right|correct|yes|yeah|no|isn'?t it|doesn'?t it|don'?t they|"
                          r"aren'?t they|"
                          r"or not|true)|\b(?:is that|am i) (?:right|correct|true))\s*\?\s*$", re.IGNORECASE)
CONDITIONAL = re.compile(r"^(?:(?:so|and|but|ok|okay)[, ]+)?(?:if|when|suppose|say)\b[^?]{0,80}?[ ,]"
                         r"(?:will|would|can|could|do|does|is|are|should)\s+"
                         r"(?:i|we|it|you|they|the \w+|my \w+)\b",
                         re.IGNORECASE)
ASIDE = leading(r"remind me|quick question|also|btw", re.IGNORECASE)
SET_ASIDE = re.compile(r"(?:ignore|forget|never ?mind|leaving aside|apart from|besides|putting aside|"
                       r"not about|aside from)\b", re.IGNORECASE)
QUESTION_OPENING = re.compile(r"(?:what|what's|whats|why|how|which|when|where|who|is|are|does|do|did|can|"
                              r"could|should|will|would|am|was|were)\b", re.IGNORECASE)
WITHOUT = re.compile(r"\bwithout\b", re.IGNORECASE)
FAQ_SHARE = 0.85  # an FAQ answer is given when it scores at least this share of the best passage
PLAIN_WORDS = re.compile(  # "explain it like I'm 10": the glossary's plain-words version first
    r"\b(?:i'?m|i am) (?:\d+|a kid|a child|ten|five|new to this)\b|\blike i'?m\b|\beli5\b|"
    r"\bsimple (?:words|terms)\b|\bfor a (?:kid|child|beginner)\b|\bin plain\b|\bsimply\b", re.IGNORECASE)
LOST = re.compile(
    r"(?:don'?t|dont|do not) (?:get|understand)|what are we doing|i'?m lost|confused|what is "
    r"this|where am i|what now|what'?s (?:going on|happening)|huh\??$|what do i do",
    re.IGNORECASE,
)


def _plain_question(text: str) -> str:
    """Phone apostrophes as plain ones and "how'd" as "how did", so the patterns see one form."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\b(how|what|where|why|when|who)'d\b", r"\1 did", text, flags=re.IGNORECASE)


class Answerer:
    """Answers a learner's question from their session and the lesson's knowledge base."""

    def __init__(self, pack: LessonPack, mode: str = "hybrid") -> None:
        self.pack = pack
        self.mode = mode
        self.guard: Guard = guard_for(pack.folder)
        self._knowledge: KnowledgeBase | None = None
        self._lock = threading.Lock()

    @property
    def knowledge(self) -> KnowledgeBase:
        with self._lock:
            if self._knowledge is None:
                self._knowledge = shared_knowledge(self.pack, self.mode)
            return self._knowledge

    def __call__(self, session: Session, message: str) -> Reply | None:
        text = " ".join(words_to_digits(_plain_question(message)).split())
        follow_up = read_follow_up(clean_message(text))
        # a message that is a follow-up and nothing else ("can you dumb that down?") is no insult
        steered = None if is_bare_follow_up(clean_message(text)) else self.steer_if_needed(session, text)
        if steered is not None:
            return steered
        if follow_up is not None:
            reply = answer_follow_up(follow_up, session, self.knowledge, self.pack, self.ask)
            if reply is not None:
                return reply
        if LOST.search(text) and len(text.split()) <= 8:
            return self._recap(session)
        guide = guiding_question(session, clean_message(text), self.knowledge, load_concepts(self.pack),
                                 self.pack)
        if guide is not None:  # the next step is about to teach it: one question to think first
            return guide
        return self.ask(session, _the_question(text))

    def ask(self, session: Session, text: str) -> Reply:
        """A fresh question (no follow-up): live facts first, then the lesson's knowledge.
        The answer becomes the conversation's last topic."""
        live = live_answer(session, text) or code_answer(session, text)
        if live is not None:
            named = self.knowledge.named(self.knowledge.correct(text))
            self._remember(session, text, live, named[0] if named else None, "figure", named)
            return live
        return self._from_knowledge(session, text)

    def _remember(self, session: Session, question: str, reply: Reply, passage: Passage | None,
                  kind: str, named: list[Passage]) -> None:
        """Keep the answer as the topic a follow-up refers to (steer-backs are not topics)."""
        if reply.steered:
            return
        lowered = f" {name_form(question)} "
        subjects = [max((name for name in entry.names if f" {name} " in lowered), key=len,
                        default=entry.title) for entry in named]
        session.dialogue.remember(passage.key if passage is not None else "", kind, question, reply.text,
                                  subjects)

    def steer_if_needed(self, session: Session, text: str) -> Reply | None:
        """A steer-back reply for code, instruction-changing or hostile messages, else None.

        The rules live in the pack's guard.yaml (see `tutor.answers.guard`): questions about code,
        roles or settings are answered; orders to run code or change the tutor are not.
        """
        kind = self.guard.classify(text)
        return None if kind is None else self.guard.steer(kind, self._state_title(session))

    def _state_title(self, session: Session) -> str:
        state_id = session.state_id or self.pack.first().id
        return self.pack.get(state_id).title

    # ----- knowledge ----------------------------------------------------------------------
    def _from_knowledge(self, session: Session, text: str) -> Reply:
        knowledge = self.knowledge
        corrected = knowledge.correct(text)
        vector = similarity = None
        if knowledge.vectors is not None:  # one encoding serves the ranking and the topic check
            vector = knowledge.encoder.encode([corrected])[0]
            similarity = float((knowledge.vectors @ vector).max())
        all_scores = knowledge.scores(corrected, vector, corrected=True)
        hits = [(knowledge.passages[int(index)], float(all_scores[index]))
                for index in np.argsort(-all_scores)[:5] if all_scores[index] > 0]
        named = knowledge.named(corrected)
        if not hits and not named:
            return self.guard.steer("off_topic", self._state_title(session))
        if not named and hits[0][1] < MIN_SCORE:
            return self.guard.steer("off_topic", self._state_title(session))
        if not named and similarity is not None and similarity < MIN_SIMILARITY:
            return self.guard.steer("off_topic", self._state_title(session))
        # every candidate is ranked on its own score; curated glossary answers come first when
        # a lesson paragraph scores about the same, and a term the question names counts extra
        by_key = {passage.key: passage for passage, _ in hits} | {p.key: p for p in named}
        index_of = {passage.key: number for number, passage in enumerate(knowledge.passages)}
        bonus = {passage.key: NAMED_BONUS * min(1.0, 2 * share)
                 for passage, share in knowledge.named_shares(corrected, named)}
        scores = {
            key: float(all_scores[index_of[key]])
            + (GLOSSARY_PRIOR if passage.kind == "glossary" else 0.0)
            + bonus.get(key, 0.0)
            for key, passage in by_key.items()
        }
        ranked = sorted(by_key, key=lambda key: -scores[key])
        if not _is_direct(text):  # an FAQ answer opens with yes/no or a figure: not for "why?"
            ranked = [key for key in ranked if by_key[key].kind != "faq"] or ranked
        best = by_key[ranked[0]]
        topic = best
        faq = self._direct_answer(text, knowledge, all_scores, float(all_scores[index_of[best.key]]))
        if faq is not None and best.kind != "faq":  # a yes/no or "how many" question: answer first
            ranked = [faq.key, *ranked]
            by_key[faq.key], scores[faq.key] = faq, scores[best.key]
            best = faq
        if topic.kind == "faq":
            topic = next((by_key[key] for key in ranked if by_key[key].kind == "glossary"), topic)
        if len(named) >= 2 and (asks_to_compare(text) or _either_or(corrected, named)):
            first, second = _in_order(corrected, named[:3])[:2]
            reply = Reply(text=compare(first, second, session, self.pack.folder, text), kind="answer")
            self._remember(session, text, reply, first, "comparison", [first, second])
            return reply
        parts = [self._render(best, plain=bool(PLAIN_WORDS.search(text)))]
        if best.kind == "faq":
            parts[0] = _same_polarity(text, best)
        if best.kind == "faq" and topic.kind == "glossary":  # the direct answer, then the concept
            parts.append(f"**{topic.title[:1].upper() + topic.title[1:]}.** {topic.short or topic.text}")
            ranked = [key for key in ranked if key != topic.key]
        runner_up = next((by_key[key] for key in ranked[1:3]
                          if by_key[key].kind != best.kind or asks_to_compare(text)), None)
        if runner_up is not None and scores[runner_up.key] >= 0.75 * scores[best.key]:
            if runner_up.kind == "lesson":
                number = self.pack.index(runner_up.state) + 1
                parts.append(f"**In step {number}, {runner_up.title}:** {runner_up.text}")
            else:
                parts.append(self._render(runner_up))
        own = own_figures(best, session) if best.kind == "glossary" else ""
        if own:  # "what is val_loss?" after a training: the learner's own figures
            parts.insert(1, own)
        where = self._where(best.state)
        if where:
            parts.append(f"*{where}*")
        reply = Reply(text="\n\n".join(parts), kind="answer")
        self._remember(session, text, reply, topic, "concept", named or [topic])
        return reply

    @staticmethod
    def _direct_answer(text: str, knowledge: KnowledgeBase, all_scores: np.ndarray,
                       best_score: float) -> Passage | None:
        """The FAQ entry that answers a yes/no or "how many" question, when one fits as well as
        the best explanation does (its answer starts with Yes, No or the figure)."""
        if not _is_direct(text):
            return None
        counting = bool(re.search(r"\bhow (?:many|much|long|big)\b", text, re.IGNORECASE))
        faqs = [(float(all_scores[index]), passage) for index, passage in enumerate(knowledge.passages)
                if passage.kind == "faq" and _answers_that_way(passage.text, counting)]
        if not faqs:
            return None
        score, passage = max(faqs, key=lambda item: item[0])
        return passage if score >= FAQ_SHARE * best_score else None

    def _render(self, passage: Passage, plain: bool = False) -> str:
        if passage.kind == "glossary" and plain and passage.simple:
            name = passage.title[:1].upper() + passage.title[1:]
            return f"**{name}, in plain words.** {passage.simple}\n\n{passage.text}"
        if passage.kind == "glossary":
            answer = f"**{passage.title[:1].upper() + passage.title[1:]}.** {passage.text}"
            if passage.related:
                answer += f"\n\nRelated: {', '.join(passage.related[:4])}."
            return answer
        return passage.text

    def _where(self, state_id: str) -> str:
        if state_id not in self.pack.ids:
            return ""
        number = self.pack.index(state_id) + 1
        return f"This belongs to step {number}, {self.pack.get(state_id).title} (`go to {state_id}`)."

    def _recap(self, session: Session) -> Reply:
        state = self.pack.get(session.state_id or self.pack.first().id)
        number = self.pack.index(state.id) + 1
        text = (
            f"No worries! Here's where we are: step {number} of {len(self.pack.states)}, "
            f"**{state.title}**. {state.summary}\n\n"
            "The big picture: we show a small network thousands of labelled pictures of "
            "clothes, it guesses, we tell it how wrong it was, and it nudges its numbers "
            "(weights) to do better. Press **Next** to keep going, or ask about any word "
            "that puzzles you."
        )
        return Reply(text=text, kind="answer")


def _is_direct(text: str) -> bool:
    """Whether a question wants yes, no or a figure first (after an "if ..." clause too: "if i
    train again will i get the same accuracy?")."""
    conditional = CONDITIONAL.search(text) and not re.search(r"\b(?:why|how|what|which|who)\b", text, re.I)
    return bool(DIRECT_QUESTION.search(text) or TAG_QUESTION.search(text) or conditional)


def _answers_that_way(answer: str, counting: bool) -> bool:
    """A "how many" question wants an answer that starts with a figure; a yes/no one, yes or no
    (or "not really", "it depends"): "It would ruin the quiz" answers a "why not?"."""
    first = answer.split(maxsplit=1)[0].strip(".,:;").lower() if answer.strip() else ""
    if counting:
        return bool(re.match(r"[\d*~]|about|around|roughly|one|two|three|four|five|six|seven|eight|nine|ten",
                             first))
    return bool(re.match(r"(?:yes|no|not|never|nope|only|always|usually|mostly|partly|sometimes|rarely|"
                         r"it depends)\b", answer.strip().lower()))


def _the_question(text: str) -> str:
    """The part of a message that asks: "ignore the accuracy for a sec, what does the loss tell
    me?" asks about the loss; "remind me, what batch size am I using?" about the batch size."""
    text = ASIDE.sub("", text).strip()
    parts = [part.strip() for part in re.split(r"[,;.!?]\s+|\s+-+\s+", text) if part.strip()]
    asking = [part for part in parts if QUESTION_OPENING.match(part)]
    if len(parts) > 1 and len(asking) == 1 and SET_ASIDE.match(parts[0]):
        return asking[0] + ("?" if text.rstrip().endswith("?") else "")
    return text


def _same_polarity(question: str, faq: Passage) -> str:
    """The FAQ answer turned round when the question is the FAQ's asked the other way round:
    "will it run without a GPU?" is "do I need a GPU?" with the answer flipped (No -> Yes)."""
    asked, canonical = bool(WITHOUT.search(question)), bool(WITHOUT.search(faq.title))
    if asked == canonical:
        return faq.text
    flipped = {"Yes.": "No.", "No.": "Yes.", "Yes,": "No,", "No,": "Yes,"}
    first, _, rest = faq.text.partition(" ")
    return f"{flipped[first]} {rest}" if first in flipped else faq.text


def _either_or(text: str, named: list[Passage]) -> bool:
    """Whether two named terms stand on either side of "or" ("relu or sigmoid for the layer?")."""
    lowered = f" {name_form(text)} "
    for first in named:
        for second in named:
            if first.key == second.key:
                continue
            for a in first.names:
                for b in second.names:
                    if any(f" {a} or {article}{b} " in lowered for article in ("", "the ", "a ", "an ")):
                        return True
    return False


def _in_order(text: str, passages: list[Passage]) -> list[Passage]:
    """Named entries in the order the question names them ("weight vs bias": weight first)."""
    lowered = f" {name_form(text)} "

    def position(passage: Passage) -> int:
        places = [lowered.find(f" {name} ") for name in passage.names if f" {name} " in lowered]
        return min(places) if places else len(lowered)

    return sorted(passages, key=position)
