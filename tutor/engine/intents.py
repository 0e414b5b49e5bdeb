"""Intent from meaning: what a learner asks for in their own words, when no exact command matches.

Every row of the command table has a dozen or more example phrasings (`intents.yaml` in the
lesson pack). A message is compared with all of them by sentence embeddings (the MiniLM
encoder the answers already run, passed in as a function, so the engine imports no model) or,
without embeddings, by TF-IDF over words and word pairs. The best row's values come from
`tutor.engine.slots`.

Whether to *do* it or *explain* it is read from the form of the message: "can we try a CNN?"
asks for an action, "what is a CNN?" for an explanation, and a bare "a cnn?" could be either,
so the agent offers both. Numbers are masked before comparing, so "show image 42" and "show
image 7" read the same.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from tutor.engine.commands import COMMANDS
from tutor.engine.fillers import leading, strip_leading

Encoder = Callable[[list[str]], np.ndarray]  # sentences -> unit-length rows

INTENTS_FILE = "intents.yaml"
# cosine similarity of sentence embeddings: at or above STRONG the meaning is clear; between
# WEAK and STRONG it is a guess worth offering as a button, never acting on
# a message in the form of a request ("let's...", "can we...") is acted on from ACT up
STRONG, ACT, WEAK = 0.72, 0.66, 0.58
# the same for TF-IDF (word overlap scores lower for the same closeness of meaning)
STRONG_WORDS, ACT_WORDS, WEAK_WORDS = 0.55, 0.50, 0.40
RECENT = 256  # readings kept (they are the same for every learner: a message's words decide)
CLOSE = 0.03  # two rows this close are two readings of one message

ASKS_TO_EXPLAIN = re.compile(
    r"^(?:what(?:'s| is| are| does| do| did| was| were)?|whats|why|how (?:does|do|did|is|are|come|many|much|"
    r"long|big|fast|well|often|can|should|would)|should (?:i|we)|"
    r"who|when|where|which|define|describe|explain|tell me (?:about|what|why|how|the|which|if|whether)|"
    r"(?:am|was) i|(?:is|are|was|were|has|had|does|did|isn'?t|aren'?t|wasn'?t|doesn'?t|didn'?t)|"
    r"have (?:i|we|you)|"
    r"is (?:it|a|an|the|that|this)|are (?:they|there|the)|does|do (?:we|i|you) need|"
    r"(?:can|could) you (?:explain|tell me|describe|define)|i (?:don'?t|do not) (?:get|understand)|"
    r"meaning of|difference)\b")
ASKS_TO_DO = re.compile(
    r"^(?:let'?s|lets|(?:can|could|would|will) (?:we|you|i)|please|pls|"
    r"i (?:want|wanna|would like|'?d like|'?d love|would love|need) to|i'?d (?:like|love)|"
    r"(?:would|do) you mind|mind if (?:we|i)|(?:maybe |perhaps )?(?:we|you) (?:could|can|might)|"
    r"i'?d like|we should|how about|what about (?:trying|using|adding)|try|use|make|set|change|put|add|"
    r"show|go|take|skip|jump|train|run|give|do|increase|decrease|lower|raise|reduce|switch|remove|"
    r"turn|bring|open|display|plot|draw|load|restore|swap|insert|stack|build|start|stop|export|"
    r"download|save|compare|visuali[sz]e|fit|double|halve|bump|get rid|include|normali[sz]e|scale|"
    r"redo|repeat|again|rewind|return|fast forward|back to|one more|1 more|another|next|keep|continue|"
    r"quiz|test|check|ask me|throw|pull up|let (?:me|it|the model|us)|lemme|gimme|i'?m ready|ok|okay|hop|"
    r"head|move|bump|crank|turn|drop|cut|"
    r"navigate|could i|can i|may i)\b")

COMPARES = re.compile(r"\bvs\.?\b|\bversus\b|\bdifferen(?:ce|t)\b|\bor\b.*\b(?:better|best|which)\b")


@dataclass(frozen=True)
class Reading:
    """One way to understand a message: a command row and how sure we are."""

    name: str
    score: float
    strong: bool
    acts: bool = False  # close enough to act on when the message asks for an action


@dataclass(frozen=True)
class Understanding:
    """What the meaning layer made of a message: the best readings and the message's form."""

    readings: tuple[Reading, ...] = ()
    form: str = "unclear"  # "do", "explain" or "unclear"
    strong_at: float = STRONG  # the thresholds these scores were judged by (embeddings or words)
    act_at: float = ACT

    @property
    def best(self) -> Reading | None:
        return self.readings[0] if self.readings else None

    @property
    def close_second(self) -> Reading | None:
        """A second command reading as likely as the first, if there is one."""
        if len(self.readings) < 2:
            return None
        first, second = self.readings[:2]
        return second if first.score - second.score <= CLOSE and second.name != first.name else None


def message_form(text: str) -> str:
    """Whether a cleaned message asks to do something, to explain something, or is unclear."""
    text = strip_leading(text, "and|no")
    # "i was wondering if we could try a cnn": the request is what follows the politeness
    text = re.sub(r"^(?:i (?:was|am|'?m) (?:just )?wondering (?:if|whether)|i wonder(?: (?:if|whether))?|"
                  r"(?:just )?curious (?:if|whether)|maybe|perhaps|just) ", "", text)
    if re.match(r"(?:how|what) about (?:\w+ing|we|a|an|the|my)\b", text):
        return "do"
    if re.match(r"(?:can|could|may|should|must) i (?!(?:see|have|look|try|download|export|save|go|"
                r"start|play|hear|please)\b)", text):
        return "explain"  # "can i make it better?" asks whether, not for an action
    if ASKS_TO_EXPLAIN.search(text) or COMPARES.search(text):
        return "explain"
    if ASKS_TO_DO.search(text):
        return "do"
    return "unclear"


FILLER = leading()


def _masked(text: str) -> str:
    """Numbers as one digit and fillers dropped: "hmm show image 42?" reads "show image 5"."""
    text = FILLER.sub("", text.lower().strip(" ?!.,"))
    return re.sub(r"\d[\d,]*(?:\.\d+)?|\.\d+", "5", text)


@functools.cache
def load_phrasings(folder: Path) -> dict[str, tuple[str, ...]]:
    """The pack's phrasings per command row; a row the table lacks fails at start, not mid-chat."""
    path = Path(folder) / INTENTS_FILE
    if not path.is_file():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    names = {row.name for row in COMMANDS}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{path.name}: no command row is called {', '.join(unknown)}")
    return {name: tuple(str(phrase).lower() for phrase in phrases) for name, phrases in raw.items()}


@dataclass
class IntentReader:
    """Matches messages to command rows by meaning. One per lesson pack, shared read-only."""

    phrasings: dict[str, tuple[str, ...]]
    encoder: Encoder | None = None
    # where the encoder comes from when it is built lazily (the answers' knowledge base loads it)
    encoder_factory: Callable[[], Encoder | None] | None = None
    _labels: list[str] = field(default_factory=list, init=False, repr=False)
    _vectors: np.ndarray | None = field(default=None, init=False, repr=False)
    _words: _WordIndex | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    # a turn reads the same message (and its parts) more than once: whether it answers a
    # pending check, then what it asks for; each reading encodes, so recent ones are kept
    _recent: OrderedDict[str, Understanding] = field(default_factory=OrderedDict, init=False, repr=False)
    _recent_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def _index(self) -> None:
        with self._lock:
            if self._labels:
                return
            if self.encoder is None and self.encoder_factory is not None:
                self.encoder = self.encoder_factory()
            examples = [(name, phrase) for name, phrases in self.phrasings.items() for phrase in phrases]
            examples += [(row.name, example) for row in COMMANDS for example in row.examples
                         if row.name in self.phrasings]
            texts = [_masked(phrase) for _, phrase in examples]
            if self.encoder is not None:
                self._vectors = np.asarray(self.encoder(texts), dtype=np.float32)
            self._words = _WordIndex(texts)
            self._labels = [name for name, _ in examples]

    def understand(self, text: str) -> Understanding:
        """The command readings of a cleaned message, best first (at most three rows)."""
        with self._recent_lock:
            if text in self._recent:
                self._recent.move_to_end(text)
                return self._recent[text]
        understanding = self._understand(text)
        with self._recent_lock:
            self._recent[text] = understanding
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return understanding

    def _understand(self, text: str) -> Understanding:
        if not self.phrasings or not text.strip():
            return Understanding(form=message_form(text))
        self._index()
        query = _masked(text)
        if self._vectors is not None and self.encoder is not None:
            scores = self._vectors @ np.asarray(self.encoder([query]), dtype=np.float32)[0]
            strong, act, weak = STRONG, ACT, WEAK
        else:
            scores = self._words.scores(query)
            strong, act, weak = STRONG_WORDS, ACT_WORDS, WEAK_WORDS
        best: dict[str, float] = {}
        for label, score in zip(self._labels, scores.tolist(), strict=True):
            best[label] = max(best.get(label, -1.0), score)
        ranked = sorted(best.items(), key=lambda item: -item[1])[:3]
        readings = tuple(Reading(name, score, score >= strong, score >= act)
                         for name, score in ranked if score >= weak)
        return Understanding(readings, message_form(text), strong, act)


class _WordIndex:
    """TF-IDF over words and word pairs: the meaning layer's fallback without embeddings."""

    def __init__(self, texts: Sequence[str]) -> None:
        bags = [self._bag(text) for text in texts]
        counts = Counter(term for bag in bags for term in bag)
        self.idf = {term: math.log((1 + len(bags)) / (1 + count)) + 1 for term, count in counts.items()}
        self.rows = [self._weigh(bag) for bag in bags]

    @staticmethod
    def _bag(text: str) -> Counter[str]:
        words = re.findall(r"[a-z0-9']+", text.lower())
        return Counter(words + [f"{a} {b}" for a, b in itertools.pairwise(words)])

    def _weigh(self, bag: Counter[str]) -> dict[str, float]:
        weights = {term: count * self.idf.get(term, 0.0) for term, count in bag.items()}
        norm = math.sqrt(sum(value * value for value in weights.values())) or 1.0
        return {term: value / norm for term, value in weights.items()}

    def scores(self, text: str) -> np.ndarray:
        query = self._weigh(self._bag(text))
        return np.array([sum(weight * row.get(term, 0.0) for term, weight in query.items())
                         for row in self.rows], dtype=np.float32)
