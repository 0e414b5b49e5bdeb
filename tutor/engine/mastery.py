"""Mastery per concept: the lesson's concept map and Bayesian Knowledge Tracing over it.

The concept map is lesson data (`concepts.yaml` in the pack): each concept names the steps that
teach it, the later steps that build on it, the checks and flashcards that give evidence about
it, and a few review questions. Every piece of evidence (a check answer, a hint asked for, a
flashcard guess, a review answer, a "predict before you run" guess) updates the probability that
the learner knows each concept it is about, with the closed-form BKT update (Corbett and
Anderson, 1995):

    known | right  =  p (1 - slip) / (p (1 - slip) + (1 - p) guess)
    known | wrong  =  p slip / (p slip + (1 - p) (1 - guess))
    p next         =  known | answer + (1 - known | answer) learn

pyBKT was tried and not used: it fits these parameters by EM on logs of many learners, which
this tutor does not have; it pulls in pandas, scikit-learn and scipy (about 250 MB); and 1.4.3
no longer imports with the current scikit-learn. The update above is the one its Roster
applies (checked: same numbers). The parameters are set by hand, per kind of evidence; why each
has its value is said beside it. Everything per learner lives in `session.mastery` (concept id
-> {"p", "n", "right", "last", "reviewed_turn", "reviews"}) and `session.evidence`; nothing
here imports Gradio or Keras.
"""

from __future__ import annotations

import difflib
import functools
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutor.engine.lessons import Check, LessonError, LessonPack
from tutor.session import Session

CONCEPTS_FILE = "concepts.yaml"

# ----- the parameters ---------------------------------------------------------------------------
# P(L0): most learners meet these ideas for the first time in this lesson and have just read the
# step, so somewhat less than even odds. With the values below one right first answer to a
# four-choice question lifts it to 0.65, one wrong answer drops it to 0.15.
P_INIT = 0.3
# P(T): the chance of learning the idea at one opportunity. Every answer here is followed by
# feedback (a hint, the worked answer or an explanation), so learning does happen at each one,
# but one explanation rarely settles an idea: 0.1, the usual order of fitted values.
P_LEARN = 0.1
# P(S): knowing the idea and still answering wrong: a slip of the finger, a misread question.
# The grader forgives case, typos and number words, so slips are rare.
SLIP = 0.1
# P(G): answering right without knowing. A multiple-choice question: 1 / the number of choices
# (0.25 for four). A number or class typed in: 0.2, because the answer can often be read off the
# step's own text (7,850 is in the summary step) without understanding it.
GUESS_TYPED = 0.2
# The try after a hint: the hint points at the answer and a wrong choice is gone, so a right
# answer then is weak evidence.
GUESS_AFTER_HINT = 0.5
# A flashcard guess is mostly about seeing a tiny picture, not about the idea of labels: people
# guess well without knowing the label table (guess 0.5) and miss cards they understand (slip
# 0.3), so a card moves its concept only a little.
CARD_GUESS, CARD_SLIP = 0.5, 0.3
# "Predict before you run": higher, lower or about the same, so 1/3 by chance; and even a
# learner who understands the change is wrong fairly often, because two runs differ by a point
# or two by luck (slip 0.25).
PREDICTION_GUESS, PREDICTION_SLIP = 1 / 3, 0.25

MASTERED = 0.95  # the usual BKT mastery threshold (pyBKT's Roster uses the same)
WEAK = 0.5  # under this, with evidence, a concept is worth a review
REVIEW_GAP_TURNS = 4  # a concept is reviewed again only after this many of the learner's turns
SAME_WITHIN = 0.01  # "about the same" accuracy: within 1 percentage point of the last run
MAX_EVIDENCE = 500  # the evidence kept per learner (oldest dropped): a lesson makes about 50
LEVELS = ((MASTERED, "mastered"), (0.8, "good"), (WEAK, "getting there"), (0.0, "needs review"))


def update(p: float, correct: bool, slip: float = SLIP, guess: float = 0.25,
           learn: float = P_LEARN) -> float:
    """One BKT step: the probability the idea is known after an answer and its feedback."""
    if correct:
        known = p * (1 - slip) / (p * (1 - slip) + (1 - p) * guess)
    else:
        known = p * slip / (p * slip + (1 - p) * (1 - guess))
    return known + (1 - known) * learn


def guess_for(check: Check) -> float:
    """P(G) for a question: 1 / the choices for multiple choice, else a typed answer's."""
    return 1 / len(check.choices) if check.kind == "choice" and check.choices else GUESS_TYPED


# ----- the concept map --------------------------------------------------------------------------
@dataclass(frozen=True)
class Guiding:
    """One question that lets a learner reason their way to a concept before it is explained
    (asked at most once, when the next step is about to teach it; see tutor.answers.socratic)."""

    question: str
    look_for: tuple[str, ...] = ()  # words of an answer on the right track
    connect: str = ""  # one or two sentences from the learner's idea to the concept


@dataclass(frozen=True)
class Concept:
    """One idea of the lesson, and where evidence about it comes from."""

    id: str
    name: str
    description: str
    steps: tuple[str, ...] = ()
    revisit: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    flashcards: bool = False
    glossary: tuple[str, ...] = ()
    experiments: dict[str, str] = field(default_factory=dict)
    reviews: tuple[Check, ...] = ()
    guiding: Guiding | None = None


@dataclass(frozen=True)
class ConceptMap:
    """The pack's concepts, in teaching order; empty for a pack without `concepts.yaml`."""

    concepts: tuple[Concept, ...] = ()

    def get(self, concept_id: str) -> Concept | None:
        return next((concept for concept in self.concepts if concept.id == concept_id), None)

    def for_check(self, state_id: str) -> list[Concept]:
        return [concept for concept in self.concepts if state_id in concept.checks]

    def for_flashcards(self) -> list[Concept]:
        return [concept for concept in self.concepts if concept.flashcards]

    def for_experiment(self, command: str) -> Concept | None:
        return next((concept for concept in self.concepts if command in concept.experiments), None)

    def built_on_at(self, state_id: str) -> list[Concept]:
        return [concept for concept in self.concepts if state_id in concept.revisit]

    def find(self, words: str) -> Concept | None:
        """A concept named by id, name or a close spelling ("the loss", "relu", "softmax")."""
        wanted = _squash(re.sub(r"^(?:the|a|an|my|on|about)\s+", "", words.strip().lower()))
        if not wanted:
            return None
        names = {}
        for concept in self.concepts:
            for name in (concept.id, concept.name, *concept.glossary):
                names.setdefault(_squash(name), concept)
        if wanted in names:
            return names[wanted]
        for key, concept in names.items():
            if len(wanted) >= 4 and (wanted in key or key in wanted):
                return concept
        close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=0.75)
        return names[close[0]] if close else None


def _squash(text: str) -> str:
    return "".join(character for character in text.lower() if character.isalnum())


def load_concepts(pack: LessonPack) -> ConceptMap:
    """The pack's concept map, checked against its steps; cached per file."""
    path = Path(pack.folder) / CONCEPTS_FILE
    if not path.is_file():
        return ConceptMap()
    checks = tuple(state.id for state in pack.states if state.check is not None)
    return _load(path, path.stat().st_mtime_ns, tuple(pack.ids), checks)


@functools.cache
def _load(path: Path, _mtime: int, steps: tuple[str, ...], checks: tuple[str, ...]) -> ConceptMap:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(raw, list):
        raise LessonError(f"{path.name}: a list of concepts, please")
    concepts = [_concept(item, path.name, steps, checks) for item in raw]
    ids = [concept.id for concept in concepts]
    if len(set(ids)) != len(ids):
        raise LessonError(f"{path.name}: two concepts share an id")
    return ConceptMap(tuple(concepts))


def _concept(item: Any, source: str, steps: tuple[str, ...], checks: tuple[str, ...]) -> Concept:
    if not isinstance(item, dict) or not all(key in item for key in ("id", "name", "description")):
        raise LessonError(f"{source}: every concept needs id, name and description")
    where = f"{source}: concept {item['id']}"
    for key in ("steps", "revisit"):
        unknown = [step for step in item.get(key) or [] if step not in steps]
        if unknown:
            raise LessonError(f"{where}: {key} names unknown steps {', '.join(map(str, unknown))}")
    unknown = [check for check in item.get("checks") or [] if check not in checks]
    if unknown:
        raise LessonError(f"{where}: no step {', '.join(map(str, unknown))} with a check")
    reviews = []
    for review in item.get("reviews") or []:
        choices = tuple(str(choice) for choice in review.get("choices") or ())
        if str(review.get("answer")) not in choices or not review.get("question"):
            raise LessonError(f"{where}: a review needs a question and an answer among its choices")
        reviews.append(Check(question=str(review["question"]), kind="choice", answer=str(review["answer"]),
                             hint="", explanation=str(review.get("explanation", "")), choices=choices))
    guiding = item.get("guiding")
    if guiding is not None and (not isinstance(guiding, dict) or not guiding.get("question")
                                or not guiding.get("connect")):
        raise LessonError(f"{where}: guiding needs a question and a connect sentence")
    return Concept(
        id=str(item["id"]), name=str(item["name"]), description=str(item["description"]),
        steps=tuple(map(str, item.get("steps") or ())), revisit=tuple(map(str, item.get("revisit") or ())),
        checks=tuple(map(str, item.get("checks") or ())), flashcards=bool(item.get("flashcards")),
        glossary=tuple(map(str, item.get("glossary") or ())),
        experiments={str(key): str(value) for key, value in (item.get("experiments") or {}).items()},
        reviews=tuple(reviews),
        guiding=Guiding(" ".join(str(guiding["question"]).split()),
                        tuple(str(word).lower() for word in guiding.get("look_for") or ()),
                        " ".join(str(guiding["connect"]).split())) if guiding else None,
    )


# ----- one learner's estimates -------------------------------------------------------------------
def entry(session: Session, concept_id: str) -> dict[str, Any]:
    """The learner's record for a concept (created at the prior when there is none yet)."""
    record = session.mastery.get(concept_id)
    if not isinstance(record, dict):
        record = {"p": P_INIT, "n": 0, "right": 0, "last": 0.0, "reviewed_turn": None, "reviews": 0}
        session.mastery[concept_id] = record
    return record


def probability(session: Session, concept_id: str) -> float:
    record = session.mastery.get(concept_id)
    return float(record.get("p", P_INIT)) if isinstance(record, dict) else P_INIT


def seen(session: Session, concept_id: str) -> int:
    """How many pieces of evidence moved this concept's estimate."""
    record = session.mastery.get(concept_id)
    return int(record.get("n", 0)) if isinstance(record, dict) else 0


def probabilities(concepts: ConceptMap, session: Session) -> dict[str, float]:
    """Concept id -> the probability the learner knows it, for every concept of the map."""
    return {concept.id: round(probability(session, concept.id), 4) for concept in concepts.concepts}


def level(p: float, n: int, missed: bool = True) -> str:
    """The words for an estimate: "not seen yet", "needs review", ..., "mastered". Under WEAK
    without a single miss it is "just started" (one right flashcard leaves 0.44)."""
    if n == 0:
        return "not seen yet"
    if p < WEAK and not missed:
        return "just started"
    return next(name for floor, name in LEVELS if p >= floor)


def missed(session: Session, concept_id: str) -> bool:
    """Whether any evidence about this concept was a wrong answer (or help asked for)."""
    record = session.mastery.get(concept_id)
    return isinstance(record, dict) and int(record.get("n", 0)) > int(record.get("right", 0))


def level_of(session: Session, concept_id: str) -> str:
    return level(probability(session, concept_id), seen(session, concept_id), missed(session, concept_id))


def needs_review(session: Session, concept_id: str) -> bool:
    """Weak: an estimate under WEAK after at least one miss."""
    return probability(session, concept_id) < WEAK and missed(session, concept_id)


def turn_of(session: Session) -> int:
    """The learner's turns so far (their messages): the clock that spaces reviews."""
    return sum(1 for message in session.transcript if message.get("role") == "user")


def observations(session: Session, item: str) -> int:
    """How many pieces of evidence one question (`item`) has given already."""
    return sum(1 for piece in session.evidence if piece.get("item") == item)


def observe(session: Session, concepts: Iterable[Concept], correct: bool, kind: str, item: str,
            slip: float = SLIP, guess: float = 0.25, first_try: bool = True) -> dict[str, Any] | None:
    """Update every concept the evidence is about and record it; None when it is about none.

    `kind`: check, hint, skip, flashcard, review or prediction. `item`: which question
    ("check:summary", "review:loss:0", "card:valid:6174", "prediction:3").
    """
    concepts = list(concepts)
    if not concepts:
        return None
    now, turn = time.time(), turn_of(session)
    moved = {}
    for concept in concepts:
        record = entry(session, concept.id)
        before = float(record["p"])
        record["p"] = update(before, correct, slip, guess)
        record["n"] = int(record.get("n", 0)) + 1
        record["right"] = int(record.get("right", 0)) + (1 if correct else 0)
        record["last"] = now
        moved[concept.id] = [round(before, 4), round(record["p"], 4)]
    piece = {"t": now, "turn": turn, "kind": kind, "item": item, "correct": bool(correct),
             "first_try": bool(first_try), "concepts": moved}
    session.evidence.append(piece)
    del session.evidence[:-MAX_EVIDENCE]
    return piece


def ranked(concepts: ConceptMap, session: Session, among: Iterable[Concept] | None = None) -> list[Concept]:
    """The concepts with evidence, weakest first (ties in teaching order)."""
    pool = list(among) if among is not None else list(concepts.concepts)
    order = {concept.id: number for number, concept in enumerate(concepts.concepts)}
    return sorted((concept for concept in pool if seen(session, concept.id)),
                  key=lambda concept: (probability(session, concept.id), order.get(concept.id, 0)))


def due_review(concepts: ConceptMap, session: Session, state_id: str) -> Concept | None:
    """The weakest concept this step builds on that is worth a review now, if any.

    Weak: under WEAK after at least one miss (`needs_review`). Spaced: at least REVIEW_GAP_TURNS
    of the learner's turns after the concept's last review and after the last evidence about it,
    so that a check just missed (and explained) is not asked about again at once.
    """
    turn = turn_of(session)
    for concept in ranked(concepts, session, concepts.built_on_at(state_id)):
        if not needs_review(session, concept.id) or not concept.reviews:
            continue
        record = entry(session, concept.id)
        last_evidence = max((piece.get("turn", 0) for piece in session.evidence
                             if concept.id in piece.get("concepts", {})), default=0)
        reviewed = record.get("reviewed_turn")
        if turn - last_evidence < REVIEW_GAP_TURNS:
            continue
        if reviewed is not None and turn - int(reviewed) < REVIEW_GAP_TURNS:
            continue
        return concept
    return None


def next_review(session: Session, concept: Concept) -> tuple[int, Check]:
    """The concept's next review question (they take turns) and its number; marks it asked."""
    record = entry(session, concept.id)
    number = int(record.get("reviews", 0)) % len(concept.reviews)
    record["reviews"] = int(record.get("reviews", 0)) + 1
    record["reviewed_turn"] = turn_of(session)
    return number, concept.reviews[number]


# ----- "predict before you run" ------------------------------------------------------------------
PREDICTIONS = {"higher": "higher", "lower": "lower", "same": "about the same"}
_HIGHER = re.compile(r"\b(?:higher|rise|raise|go(?:es)? up|increase|up|better|improve|more)\b")
_LOWER = re.compile(r"\b(?:lower|drop|fall|go(?:es)? down|decrease|down|worse|less)\b")
_SAME = re.compile(r"\b(?:same|no change|not change|unchanged|similar|no difference|stay)\b")


def parse_prediction(text: str) -> str | None:
    """"higher", "lower" or "same" from a short answer ("I predict higher", "it'll go down")."""
    if len(text.split()) > 8:
        return None
    found = [name for name, pattern in (("same", _SAME), ("higher", _HIGHER), ("lower", _LOWER))
             if pattern.search(text)]
    return found[0] if len(found) == 1 or (found and found[0] == "same") else None


def outcome(before: float, after: float) -> str:
    """What happened to the validation accuracy: "higher", "lower" or "same"."""
    if abs(after - before) < SAME_WITHIN:
        return "same"
    return "higher" if after > before else "lower"
