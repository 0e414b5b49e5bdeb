"""Classes: a learner joins one under a pseudonym, and an instructor reads a report of it.

Joining (`join_class`) keeps two things on the Session, the class code and a pseudonym the
learner chose or one made from the session's RNG ("Calm Otter"); nothing else about the person
is asked for or kept. The report helpers (`report_row`, `common_questions`) turn sessions into
plain rows for `Tutor.class_report` and the instructor page (`tutor.web.instructor`): where each
learner is, how long they have been there, whether they look stuck, and which questions the
class asks most. They read sessions only; mastery comes in as numbers from the caller.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from tutor.reply import Reply
from tutor.session import Session
from tutor.tools.registry import ToolInputError

CLASS_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
PSEUDONYM = re.compile(r"[A-Za-z0-9][A-Za-z0-9 '_-]{0,29}")
ADJECTIVES = (
    "Brave", "Calm", "Clever", "Curious", "Eager", "Gentle", "Happy", "Jolly", "Keen", "Kind",
    "Lively", "Lucky", "Merry", "Nimble", "Patient", "Quick", "Quiet", "Sunny", "Swift", "Witty",
)
ANIMALS = (
    "Badger", "Beaver", "Crane", "Dolphin", "Falcon", "Fox", "Hedgehog", "Heron", "Koala", "Lynx",
    "Marmot", "Otter", "Owl", "Panda", "Penguin", "Puffin", "Raven", "Seal", "Tiger", "Wombat",
)
STUCK_WRONG_IN_A_ROW = 3  # wrong answers to questions, one after another
STUCK_MINUTES = 15  # this long on one step looks stuck
ANSWER_KINDS = ("check", "hint", "skip", "review")  # evidence that is an answer to a question
QUESTION = re.compile(
    r"\?\s*$|^(?:what|why|how|which|when|where|who|whom|whose|is|are|can|could|does|do|did|"
    r"should|would|will|explain|tell me)\b", re.IGNORECASE)


def class_code(value: object) -> str:
    """A class code as stored: lower case, 1-40 letters, digits, '-' or '_'; ToolInputError if not."""
    code = str(value or "").strip().lower()
    if not code:
        raise ToolInputError("Which class? Say `join class` and the code your instructor gave you, "
                             "e.g. `join class demo`.")
    if not CLASS_CODE.fullmatch(code):
        raise ToolInputError("A class code is 1 to 40 letters, digits, '-' or '_' (e.g. `demo`, "
                             "`bio-101`), as your instructor gave it.")
    return code


def pseudonym(value: object) -> str:
    """A chosen pseudonym, tidied ("quiet otter" -> "Quiet Otter"); ToolInputError if not one."""
    name = " ".join(str(value or "").split())
    if not PSEUDONYM.fullmatch(name):
        raise ToolInputError("A class name is up to 30 letters, digits, spaces, '-' or '_'. "
                             "Pick a made-up one: your instructor sees only that.")
    return " ".join(word[:1].upper() + word[1:] for word in name.split(" "))


def generated_pseudonym(session: Session) -> str:
    """A made-up name from the session's RNG: an adjective and an animal ("Calm Otter")."""
    return f"{session.rng.choice(ADJECTIVES)} {session.rng.choice(ANIMALS)}"


def join_class(session: Session, code: object, name: object = None) -> Reply:
    """Put the learner in a class; they keep their pseudonym unless they name a new one."""
    code = class_code(code)
    if name:
        session.pseudonym = pseudonym(name)
    elif not session.pseudonym:
        session.pseudonym = generated_pseudonym(session)
    moved = bool(session.class_code) and session.class_code != code
    again = session.class_code == code
    session.class_code = code
    if not session.entered_at and session.state_id:
        session.entered_at = time.time()
    first = ("You are already in class" if again else
             "You moved to class" if moved else "You joined class")
    return Reply(
        text=f"{first} **{code}** as **{session.pseudonym}**. Your instructor sees this name, "
        "your step, how your answers are going and the questions you ask; nothing else about you. "
        "To pick another name, say `join class "
        f"{code} as <name>`; `forget me` deletes everything.",
        state=session.state_id,
        kind="help",
    )


# ----- the report -------------------------------------------------------------------------------
def minutes_on_step(session: Session, now: float | None = None) -> float | None:
    """Minutes since the learner entered their current step (None: not known)."""
    if not session.entered_at or not session.state_id:
        return None
    return max(0.0, ((now or time.time()) - session.entered_at) / 60)


def wrong_in_a_row(session: Session) -> int:
    """Wrong answers to questions since the last right one (checks, reviews, hints asked for)."""
    count = 0
    for piece in reversed(session.evidence):
        if piece.get("kind") not in ANSWER_KINDS:
            continue
        if piece.get("correct"):
            break
        count += 1
    return count


def stuck_reason(session: Session, now: float | None = None) -> str:
    """Why the learner looks stuck ("" when they do not)."""
    wrong = wrong_in_a_row(session)
    if wrong >= STUCK_WRONG_IN_A_ROW:
        return f"{wrong} wrong answers in a row"
    minutes = minutes_on_step(session, now)
    if minutes is not None and minutes >= STUCK_MINUTES and not session.is_training:
        return f"{minutes:.0f} minutes on this step"
    return ""


def mastery_numbers(session: Session) -> dict[str, float]:
    """What `session.mastery` holds as numbers (each entry a dict with "p", or a number)."""
    numbers = {}
    for concept, entry in session.mastery.items():
        value = entry.get("p") if isinstance(entry, Mapping) else entry
        if isinstance(value, (int, float)):
            numbers[str(concept)] = round(float(value), 4)
    return numbers


def report_row(session: Session, step_title: str, mastery: Mapping[str, float],
               now: float | None = None) -> dict[str, Any]:
    """One learner's row: pseudonym, step, minutes on it, mastery per concept, stuck or not."""
    reason = stuck_reason(session, now)
    minutes = minutes_on_step(session, now)
    passed = sum(1 for value in session.checks_passed.values() if value)
    return {
        "pseudonym": session.pseudonym or "(no name)",
        "step": session.state_id,
        "step_title": step_title,
        "steps_visited": len(session.visited),
        "minutes_on_step": None if minutes is None else round(minutes, 1),
        "checks_passed": passed,
        "wrong_in_a_row": wrong_in_a_row(session),
        "mastery": dict(mastery),
        "seen": sorted(concept for concept, entry in session.mastery.items()  # with evidence
                       if not isinstance(entry, Mapping) or int(entry.get("n", 1) or 0) > 0),
        "stuck": bool(reason),
        "stuck_reason": reason,
    }


def is_question(text: str) -> bool:
    """Whether a learner's message reads as a question (not a command or an answer)."""
    text = text.strip()
    return 8 <= len(text) <= 300 and not text.startswith("(spoken)") and bool(QUESTION.search(text))


def common_questions(sessions: Iterable[Session], top: int = 10) -> list[tuple[str, int]]:
    """The class's most asked questions, with how many learners asked each (no names).

    Questions are compared in lower case without end punctuation; each learner counts once per
    question; a question only one learner asked is listed after the shared ones.
    """
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for session in sessions:
        asked = set()
        for message in session.transcript:
            text = str(message.get("text", ""))
            if message.get("role") != "user" or not is_question(text):
                continue
            key = re.sub(r"[\s?!.]+$", "", " ".join(text.lower().split()))
            asked.add(key)
            shown.setdefault(key, " ".join(text.split()))
        counts.update(asked)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(shown[key], count) for key, count in ordered[:top]]
