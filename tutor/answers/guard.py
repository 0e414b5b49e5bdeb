"""The steering guard: which messages earn a kind steer back to the lesson instead of an answer.

The rules are data, `guard.yaml` in the lesson pack (`lessons/guard.yaml`), read once and shared
read-only. A rule has one of two strengths, because the words attacks use are words learners use:

- `always`: the pattern names something no question about the lesson needs ("ignore your
  instructions", `os.system`, an insult), so it steers wherever it appears;
- `order`: the pattern names a word real questions use too (import, override, act as, forget),
  so it steers only in a sentence that gives the tutor an order. "should I override the learning
  rate?" asks about the lesson and is answered; "override your rules" is not.

Rules are tried in file order and the first match decides the steer's kind.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from tutor.engine.lessons import DEFAULT_PACK
from tutor.reply import Reply

GUARD_FILE = "guard.yaml"
STRENGTHS = ("always", "order")
FLAGS = re.IGNORECASE | re.VERBOSE
# where one sentence ends: after . ! ? or ; followed by a space, or at a line break
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


class GuardError(ValueError):
    """The guard file is malformed; the message names the rule and what is wrong."""


@dataclass(frozen=True)
class Rule:
    """One pattern the guard watches for, and the steer it earns."""

    kind: str
    catches: str
    pattern: re.Pattern[str]
    strength: str
    max_chars: int | None = None

    def hits(self, text: str, sentences: list[str], asks: Callable[[str], bool]) -> bool:
        """Whether this rule steers the message (an `order` rule skips asking sentences)."""
        if self.max_chars is not None and len(text) > self.max_chars:
            return False
        if self.strength == "always":
            return any(self.pattern.search(part) for part in (text, *sentences))
        return any(self.pattern.search(part) and not asks(part) for part in sentences)


@dataclass(frozen=True, eq=False)
class Guard:
    """The loaded rules, the test for an asking sentence, and the steer replies."""

    rules: tuple[Rule, ...]
    asking: re.Pattern[str]
    filler: re.Pattern[str]
    replies: MappingProxyType[str, str]

    def classify(self, message: object) -> str | None:
        """The steer kind a message earns (code, injection, hostile), or None to answer it."""
        raw = message if isinstance(message, str) else ""
        text = " ".join(raw.split())
        if not text:
            return None
        sentences = [part.strip() for part in SENTENCE_END.split(raw) if part.strip()]
        return next((rule.kind for rule in self.rules if rule.hits(text, sentences, self.asks)),
                    None)

    def asks(self, sentence: str) -> bool:
        """Whether a sentence asks (a question, "explain ...") rather than orders."""
        stripped = sentence.strip()
        if stripped.endswith("?"):
            return True
        return bool(self.asking.match(self.filler.sub("", stripped, count=1)))

    def steer(self, kind: str, title: str) -> Reply:
        """A short, kind reply that brings the learner back to the step they are on."""
        lead = self.replies.get(kind, self.replies["off_topic"])
        return Reply(
            text=f"{lead} We're at **{title}**. Ask me anything about it, press a button "
            "below, or type `help` to see what I can do.",
            kind="answer",
            steered=kind if kind in self.replies else "off_topic",
        )

    def steered(self, text: str) -> str | None:
        """The kind of steer a reply's text is, or None for any other reply (tests use this)."""
        return next((kind for kind, lead in self.replies.items() if text.startswith(lead)), None)


def guard_for(folder: Path | str | None = None) -> Guard:
    """The guard of a lesson pack folder: its own guard.yaml, else the default pack's."""
    path = Path(folder or DEFAULT_PACK) / GUARD_FILE
    return load_guard(path if path.is_file() else DEFAULT_PACK / GUARD_FILE)


@functools.cache
def load_guard(path: Path) -> Guard:
    """Read and check a guard file once per process; a bad file fails at start, not mid-chat."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise GuardError(f"{path}: cannot read the guard rules: {error}") from error
    if not isinstance(raw, dict):
        raise GuardError(f"{path}: must be a mapping with replies, asking, filler and rules")
    replies = raw.get("replies") or {}
    if not isinstance(replies, dict) or "off_topic" not in replies:
        raise GuardError(f"{path}: replies must map each kind to its text, off_topic included")
    rules = tuple(_rule(path, number, entry, replies)
                  for number, entry in enumerate(raw.get("rules") or [], start=1))
    return Guard(
        rules=rules,
        asking=_compile(path, "asking", raw.get("asking")),
        filler=_compile(path, "filler", raw.get("filler")),
        replies=MappingProxyType({str(kind): str(text).strip() for kind, text in replies.items()}),
    )


def _rule(path: Path, number: int, entry: Any, replies: dict[str, Any]) -> Rule:
    where = f"rule {number}"
    if not isinstance(entry, dict):
        raise GuardError(f"{path}: {where} must be a mapping")
    kind, strength = entry.get("kind"), entry.get("strength")
    if kind not in replies:
        raise GuardError(f"{path}: {where} has kind {kind!r}, which has no reply")
    if strength not in STRENGTHS:
        raise GuardError(f"{path}: {where} needs strength always or order, not {strength!r}")
    if not str(entry.get("catches") or "").strip():
        raise GuardError(f"{path}: {where} needs a 'catches' line saying what it catches")
    limit = entry.get("max_chars")
    return Rule(kind=str(kind), catches=str(entry["catches"]).strip(), strength=str(strength),
                pattern=_compile(path, f"{where} ({entry['catches']})", entry.get("pattern")),
                max_chars=int(limit) if limit is not None else None)


def _compile(path: Path, where: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern.strip():
        raise GuardError(f"{path}: {where} needs a pattern")
    try:
        return re.compile(pattern, FLAGS)
    except re.error as error:
        raise GuardError(f"{path}: {where} has a bad pattern: {error}") from error
