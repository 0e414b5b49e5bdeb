"""How well and how fast the offline agent answers free-form questions.

Runs the evaluation set (`tests/eval/questions.yaml`) through `Tutor.respond` for each retrieval
mode side by side (BM25 alone, embeddings alone, the hybrid default) and prints the pass rate
and the answer latency (p50, p95). Questions about the learner's own model are asked after a
real 5-epoch training on raw pixels (a slice, to keep the run short).

Then runs the conversation set (`tests/eval/conversations.yaml`: multi-turn, the learner's own
words) with the default retrieval mode and reports each split (tune, held-out) apart: items
passed, per kind, and the p50/p95 latency of the turns that did not train. The runner
(`run_conversation`) is shared with tests/test_conversations.py.

    python benchmarks/answers.py [--slice 10000] [--modes bm25,embeddings,hybrid]
                                 [--conversations FILE] [--no-conversations]
                                 [--split {tune,held_out,all}] [--failures] [--slowest N]

Held-out honesty: `--failures` and `--slowest` name tune items only; a held-out failure (of the
conversations, or of the questions marked `heldout`) is only counted, never shown.
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = ROOT / "tests" / "eval" / "conversations.yaml"


def facts_for(session, dataset) -> dict[str, str]:
    """The learner's own figures, formatted as the evaluation set's placeholders expect."""
    from tutor.ml import backend
    from tutor.ml.data import CLASS_NAMES

    last = session.history[-1]
    values = [row["val_accuracy"] for row in session.history]
    logits = backend.predict_logits(session.model, dataset.valid_images)
    image = backend.predict_logits(session.model, dataset.train_images[8675:8676])[0]
    matrix = backend.confusion_counts(dataset.valid_labels, logits.argmax(axis=1))
    np.fill_diagonal(matrix, 0)
    true, guess = divmod(int(matrix.argmax()), 10)
    return {
        "val_accuracy_pct": f"{last['val_accuracy']:.1%}",
        "params": "7,850",
        "epochs": str(len(session.history)),
        "loss_1dp": f"{last['loss']:.1f}",
        "best_epoch": str(int(np.argmax(values)) + 1),
        "confused_a": CLASS_NAMES[true],
        "confused_b": CLASS_NAMES[guess],
        "pred_class_8675": CLASS_NAMES[int(np.argmax(image))],
    }


def passes(text: str, groups: list[list[str]], facts: dict[str, str]) -> bool:
    lowered = text.lower()
    return all(any(option.format(**facts).lower() in lowered for option in group) for group in groups)


# ----------------------------------------------------------------------------------------------
# The conversation set: multi-turn items in the learner's own words (tests/eval/conversations.yaml)

KINDS = ("action", "follow_up", "comparison", "direct", "not_steered", "steered", "ambiguous")
SPLITS = ("tune", "held_out")
EXPECT_KEYS = frozenset({"contains", "not_contains", "steered", "state", "first_sentence",
                         "starts_with", "options_contain", "check"})
CONVERSATION_SLICE = 2000  # training images per fit in the conversation set, to keep it short
SETUP_EPOCHS = 2  # what `trained: true` trains before the conversation
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
BOLD_TITLE = re.compile(r"^\*\*([^*]{1,60})\*\*\s*")
LEADING_NOTE = re.compile(r"^\*?\([^)]{0,200}\)\*?\s*")  # "*(I read that as `next`.)*"


def load_conversations(path: Path | str = CONVERSATIONS) -> list[dict[str, Any]]:
    """The conversation items, as written in the file."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []


@dataclass
class Before:
    """What the session looked like just before a turn, for the relative checks."""

    state: str
    spec: Any
    settings: Any
    history: list[dict[str, float]]
    runs: int
    text: str  # the previous reply's text


@dataclass
class TurnResult:
    """One learner message: how long it took, whether it trained, and why it failed if it did."""

    turn: int
    message: str
    seconds: float
    trained: bool
    graded: bool
    problems: list[str] = field(default_factory=list)
    text: str = ""


@dataclass
class ItemResult:
    """One conversation: passed when every graded turn passed (and the setup worked)."""

    id: str
    split: str
    kind: str
    turns: list[TurnResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # setup problems and exceptions

    @property
    def passed(self) -> bool:
        return not self.problems and all(not turn.problems for turn in self.turns)

    def failure_line(self) -> str:
        """The item, its first failing turn and the start of the reply, on one line."""
        if self.problems:
            return f"{self.id}: {'; '.join(self.problems)}"
        turn = next(turn for turn in self.turns if turn.problems)
        reply = " ".join(turn.text.split())[:200]
        return (f"{self.id} [{self.kind}, {self.split}] turn {turn.turn} {turn.message!r}: "
                f"{'; '.join(turn.problems)} | reply: {reply!r}")


def live_facts(session) -> dict[str, str]:
    """The learner's own figures for the placeholders (empty before any training)."""
    if not session.history:
        return {}
    last = session.history[-1]
    facts = {"epochs_trained": str(len(session.history))}
    if "val_accuracy" in last:
        facts["val_accuracy_pct1"] = f"{last['val_accuracy']:.1%}"
        facts["val_accuracy_pct0"] = f"{last['val_accuracy']:.0%}"
    if "accuracy" in last:
        facts["train_accuracy_pct1"] = f"{last['accuracy']:.1%}"
        facts["train_accuracy_pct0"] = f"{last['accuracy']:.0%}"
    if "loss" in last:
        facts["loss_1dp"] = f"{last['loss']:.1f}"
    return facts


def _fill(option: str, facts: dict[str, str]) -> str:
    """An expected string with its placeholders replaced (KeyError when a fact is missing)."""
    return option.format(**facts) if "{" in option else option


def _groups(value: Any) -> list[list[str]]:
    """`contains`-style groups: a bare string is a group of one."""
    return [[str(part) for part in group] if isinstance(group, list) else [str(group)]
            for group in value or []]


def _found(option: str, text: str, whole_words: bool = False) -> bool:
    """Case-insensitive substring; short words (3 letters or fewer) as whole words when asked."""
    option = option.lower()
    if whole_words and option.isalpha() and len(option) <= 3:
        return re.search(rf"\b{re.escape(option)}\b", text) is not None
    return option in text


def opening(text: str) -> str:
    """The reply's first sentence, after heading lines and a leading note in parentheses, with a
    short bold title before it kept ("**Bias.** A bias is ...")."""
    lines = [line for line in text.strip().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    body = " ".join(" ".join(lines).split())
    while LEADING_NOTE.match(body):
        body = LEADING_NOTE.sub("", body, count=1)
    title = ""
    match = BOLD_TITLE.match(body)
    if match and len(match.group(1).split()) <= 6:
        title, body = match.group(0), body[match.end():]
    first = SENTENCE_END.split(body, maxsplit=1)[0] if body else ""
    return (title + first).replace("**", "").replace("`", "")


def _units(spec) -> list[tuple[int, str]]:
    """The hidden layers of a ModelSpec as (units, activation) pairs."""
    return [(int(layer[0]), str(layer[1]) if len(layer) > 1 else "") for layer in spec.hidden]


def _rate(settings) -> float:
    """The learning rate the next fit will use (the asked one, else the optimizer's default)."""
    from tutor.ml.backend import DEFAULT_RATES

    if settings.learning_rate is not None:
        return float(settings.learning_rate)
    return DEFAULT_RATES.get(settings.optimizer, math.nan)


def _flag(argument: str) -> bool:
    return argument.strip().lower() in ("true", "yes", "1", "on")


def _turn_trained(session, reply, before: Before) -> bool:
    """Whether this turn ran a fit."""
    return (len(session.runs) > before.runs or session.history != before.history
            or reply.progress is not None)


def _asks(reply) -> bool:
    """Whether the reply puts a question to the learner: a quiz, or a question in its opening."""
    if reply.kind in ("check", "flashcard"):
        return True
    lines = [line for line in reply.text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    sentences = SENTENCE_END.split(" ".join(" ".join(lines).split()))
    return any(sentence.rstrip("*_ )").endswith("?") for sentence in sentences[:3])


def _new_sentence(text: str, previous: str) -> bool:
    """Whether the reply says at least one sentence the previous reply did not."""
    old = " ".join(previous.lower().split())
    sentences = SENTENCE_END.split(" ".join(text.lower().split()))
    return any(len(sentence) > 20 and sentence not in old for sentence in sentences)


Check = Callable[[str, Any, Any, Before], bool]
CHECKS: dict[str, Check] = {
    "hidden_units_include": lambda arg, s, r, b: int(arg) in [u for u, _ in _units(s.model_spec)],
    "hidden_activation_include": lambda arg, s, r, b: arg.strip().lower() in [
        a.lower() for _, a in _units(s.model_spec)],
    "hidden_layers": lambda arg, s, r, b: len(_units(s.model_spec)) == int(arg),
    "hidden_layers_grew": lambda arg, s, r, b: len(_units(s.model_spec)) > len(_units(b.spec)),
    "convolutional": lambda arg, s, r, b: bool(s.model_spec.convolutional) == _flag(arg),
    "optimizer": lambda arg, s, r, b: s.settings.optimizer.lower() == arg.strip().lower(),
    "learning_rate": lambda arg, s, r, b: math.isclose(_rate(s.settings), float(arg), rel_tol=1e-6),
    "learning_rate_lower": lambda arg, s, r, b: _rate(s.settings) < _rate(b.settings),
    "learning_rate_higher": lambda arg, s, r, b: _rate(s.settings) > _rate(b.settings),
    "batch_size": lambda arg, s, r, b: s.settings.batch_size == int(arg),
    "batch_size_lower": lambda arg, s, r, b: s.settings.batch_size < b.settings.batch_size,
    "batch_size_higher": lambda arg, s, r, b: s.settings.batch_size > b.settings.batch_size,
    "scaled": lambda arg, s, r, b: bool(s.settings.scaled) == _flag(arg),
    "trained": lambda arg, s, r, b: _turn_trained(s, r, b),
    "not_trained": lambda arg, s, r, b: not _turn_trained(s, r, b),
    "trained_epochs": lambda arg, s, r, b: _turn_trained(s, r, b) and (
        (r.progress is not None and r.progress.epochs == int(arg))
        or (bool(s.runs) and len(s.runs) > b.runs and s.runs[-1].settings.epochs == int(arg))),
    "figures": lambda arg, s, r, b: bool(r.figures),
    "files": lambda arg, s, r, b: bool(r.files),
    "pending_card": lambda arg, s, r, b: s.pending_card is not None,
    "state_unchanged": lambda arg, s, r, b: s.state_id == b.state,
    "model_unchanged": lambda arg, s, r, b: s.model_spec == b.spec and s.settings == b.settings,
    "differs_from_previous": lambda arg, s, r, b: _new_sentence(r.text, b.text),
    "options_at_least": lambda arg, s, r, b: len(r.options) >= int(arg),
    "asks_question": lambda arg, s, r, b: _asks(r),
}


def _checks(value: Any) -> list[tuple[str, str]]:
    """`check` as (name, argument) pairs: a string or a list of "name" / "name: argument"."""
    entries = value if isinstance(value, list) else [value] if value else []
    pairs = []
    for entry in entries:
        name, _, argument = str(entry).partition(":")
        pairs.append((name.strip(), argument.strip()))
    return pairs


def _sentence_groups(value: Any) -> list[list[str]]:
    """`first_sentence`: a list of strings is one group, a list of lists is several."""
    if not value:
        return []
    if all(isinstance(part, list) for part in value):
        return _groups(value)
    return [[str(part) for part in value]]


def _starts(text: str, option: str) -> bool:
    """Whether `text` opens with `option` as whole words ("no" is not the start of "not")."""
    return re.match(rf"{re.escape(option)}(?![a-z])", text) is not None


def _options_match(groups: list[list[str]], options: list[str]) -> bool:
    """Whether each group matches a different option (a small bipartite matching)."""
    owner: dict[int, int] = {}

    def place(group: int, seen: set[int]) -> bool:
        for index, option in enumerate(options):
            if index in seen or not any(_found(part, option) for part in groups[group]):
                continue
            seen.add(index)
            if index not in owner or place(owner[index], seen):
                owner[index] = group
                return True
        return False

    return all(place(group, set()) for group in range(len(groups)))


def grade(expect: dict[str, Any], reply, session, before: Before, facts: dict[str, str],
          steered: Callable[[str], str | None]) -> list[str]:
    """Why a reply misses its expectations (an empty list when it meets them all)."""
    problems: list[str] = []
    haystack = f"{reply.text}\n{reply.code or ''}".lower()
    if "Traceback (most recent call last)" in reply.text:
        problems.append("a traceback in the reply")
    try:
        for group in _groups(expect.get("contains")):
            if not any(_found(_fill(option, facts), haystack) for option in group):
                problems.append(f"contains none of {group}")
        for option in expect.get("not_contains") or []:
            if _found(_fill(str(option), facts), haystack):
                problems.append(f"contains {option!r}")
        first = opening(reply.text).lower()
        for group in _sentence_groups(expect.get("first_sentence")):
            wanted = [_fill(option, facts) for option in group]
            if not any(_found(option, first, whole_words=True) for option in wanted):
                problems.append(f"first sentence {first[:100]!r} has none of {wanted}")
        if "starts_with" in expect:
            start = first.replace("*", "").replace("_", "").lstrip(" \"'")
            wanted = [_fill(str(option), facts).lower() for option in expect["starts_with"]]
            if not any(_starts(start, option) for option in wanted):
                problems.append(f"reply starts {start[:60]!r}, not with one of {wanted}")
    except KeyError as missing:
        problems.append(f"needs {missing} but the learner has not trained")
    if "steered" in expect:
        kind = steered(reply.text)
        wanted_steer = expect["steered"]
        if isinstance(wanted_steer, bool):
            if (kind is not None) != wanted_steer:
                problems.append(f"steered is {kind!r}, expected {wanted_steer}")
        elif kind != wanted_steer:
            problems.append(f"steered is {kind!r}, expected {wanted_steer!r}")
    if "state" in expect:
        states = expect["state"] if isinstance(expect["state"], list) else [expect["state"]]
        if session.state_id not in states:
            problems.append(f"state is {session.state_id!r}, expected {states}")
    if "options_contain" in expect:
        options = [f"{option.label} {option.message}".lower() for option in reply.options]
        if not _options_match(_groups(expect["options_contain"]), options):
            labels = [option.label for option in reply.options]
            problems.append(f"options {labels} do not offer each of {expect['options_contain']}")
    for name, argument in _checks(expect.get("check")):
        if not CHECKS[name](argument, session, reply, before):
            problems.append(f"check {name}{': ' + argument if argument else ''} failed")
    return problems


def _snapshot(session, text: str) -> Before:
    return Before(state=session.state_id, spec=session.model_spec, settings=session.settings,
                  history=list(session.history), runs=len(session.runs), text=text)


def run_conversation(tutor, item: dict[str, Any], train_slice: int = CONVERSATION_SLICE) -> ItemResult:
    """One item in a fresh session: open the lesson, go to `start`, train if asked, then talk."""
    from tutor.ml.backend import TrainSettings
    from tutor.tools import training

    result = ItemResult(id=str(item["id"]), split=str(item.get("split")), kind=str(item.get("kind")))
    session = tutor.new_session()
    session.settings = TrainSettings(train_slice=train_slice)
    steered = tutor.answerer.guard.steered
    try:
        previous = tutor.start(session).text
        if item.get("start"):
            previous = tutor.respond(session, f"go to {item['start']}").text
            if session.state_id != item["start"]:
                result.problems.append(f"setup: 'go to {item['start']}' left the learner on "
                                       f"{session.state_id!r}")
                return result
        if item.get("trained"):
            runs = len(session.runs)
            previous = tutor.respond(session, f"train for {SETUP_EPOCHS} epochs").text
            if len(session.runs) <= runs or not session.history:
                result.problems.append("setup: 'train for 2 epochs' did not train")
                return result
        for number, turn in enumerate(item["turns"], start=1):
            before = _snapshot(session, previous)
            facts = live_facts(session)
            started = time.perf_counter()
            reply = tutor.respond(session, str(turn["say"]))
            seconds = time.perf_counter() - started
            outcome = TurnResult(turn=number, message=str(turn["say"]), seconds=seconds,
                                 trained=_turn_trained(session, reply, before),
                                 graded="expect" in turn, text=reply.text)
            if outcome.graded:
                outcome.problems = grade(turn["expect"] or {}, reply, session, before, facts, steered)
            result.turns.append(outcome)
            previous = reply.text
    except Exception as error:  # one broken item must not hide the others' results
        result.problems.append(f"raised {type(error).__name__}: {error}")
    finally:
        if session.training is not None:
            session.training.stop.set()
            training.wait_for_training(session, timeout=60)
    return result


def conversation_problems(items: list[dict[str, Any]], step_ids: list[str]) -> list[str]:
    """What is malformed in the conversation file (empty when it is well formed)."""
    problems = []
    ids = [str(item.get("id")) for item in items]
    problems += [f"duplicate id {name}" for name in sorted({n for n in ids if ids.count(n) > 1})]
    for item in items:
        name = item.get("id")
        if item.get("split") not in SPLITS:
            problems.append(f"{name}: split {item.get('split')!r}")
        if item.get("kind") not in KINDS:
            problems.append(f"{name}: kind {item.get('kind')!r}")
        if item.get("start") is not None and item["start"] not in step_ids:
            problems.append(f"{name}: start {item['start']!r} is no step")
        turns = item.get("turns") or []
        if not any("expect" in turn for turn in turns):
            problems.append(f"{name}: no graded turn")
        for turn in turns:
            if not str(turn.get("say", "")).strip():
                problems.append(f"{name}: a turn says nothing")
            expect = turn.get("expect") or {}
            problems += [f"{name}: unknown expectation {key!r}" for key in set(expect) - EXPECT_KEYS]
            problems += [f"{name}: unknown check {check!r}" for check, _ in _checks(expect.get("check"))
                         if check not in CHECKS]
    return problems


def split_failures(results: list[ItemResult]) -> tuple[list[str], int]:
    """The failing tune items, one line each, and how many held-out items failed (a count only:
    their ids and text are never shown, so nobody tunes on them)."""
    tune = [result.failure_line() for result in results if not result.passed and result.split == "tune"]
    held_out = sum(not result.passed for result in results if result.split == "held_out")
    return tune, held_out


def _percentile(values: list[float], share: float) -> float:
    return float(np.percentile(values, share)) if values else math.nan


def conversation_report(results: list[ItemResult]) -> str:
    """Both splits apart: items passed, per kind, and the latency of the turns that did not train."""
    lines = [f"{'split':9s} {'passed':>12s} {'rate':>7s} {'p50':>8s} {'p95':>8s}  per kind"]
    for split in SPLITS:
        chosen = [result for result in results if result.split == split]
        if not chosen:
            continue
        passed = sum(result.passed for result in chosen)
        latencies = [turn.seconds for result in chosen for turn in result.turns if not turn.trained]
        kinds = []
        for kind in KINDS:
            of_kind = [result for result in chosen if result.kind == kind]
            if of_kind:
                kinds.append(f"{kind} {sum(r.passed for r in of_kind)}/{len(of_kind)}")
        lines.append(f"{split:9s} {passed:>5d} of {len(chosen):<4d} {passed / len(chosen):6.1%} "
                     f"{_percentile(latencies, 50) * 1000:6.0f}ms {_percentile(latencies, 95) * 1000:6.0f}ms"
                     f"  {', '.join(kinds)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=int, default=10000, help="training images for the live questions")
    parser.add_argument("--modes", default="bm25,embeddings,hybrid")
    parser.add_argument("--questions", default=str(ROOT / "tests" / "eval" / "questions.yaml"),
                        help="the evaluation file")
    parser.add_argument("--failures", action="store_true",
                        help="list each failing tune question and conversation with the start of its "
                             "answer (held-out failures: a count only)")
    parser.add_argument("--slowest", type=int, default=0, metavar="N",
                        help="list the N slowest questions and conversation turns (tune only)")
    parser.add_argument("--split", choices=("tune", "held_out", "all"), default="all",
                        help="which split of the conversation set to run and report")
    parser.add_argument("--conversations", default=str(CONVERSATIONS),
                        help="the multi-turn conversation set, run after the questions")
    parser.add_argument("--no-conversations", action="store_true",
                        help="skip the conversation set")
    parser.add_argument("--conversation-slice", type=int, default=CONVERSATION_SLICE,
                        help="training images per fit in the conversation set")
    arguments = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tutor import Tutor
    from tutor.ml import data

    questions = yaml.safe_load(Path(arguments.questions).read_text())
    tutor = Tutor(train_slice=arguments.slice, max_messages_per_minute=None)
    dataset = data.load_dataset()
    trained = tutor.new_session()
    tutor.respond(trained, "go to training")
    facts = facts_for(trained, dataset)
    print(f"{len(questions)} questions; live facts from a 5-epoch run on {arguments.slice:,} images "
          f"(val accuracy {facts['val_accuracy_pct']})")
    rows = []
    default_mode = tutor.answerer.mode
    for mode in arguments.modes.split(","):
        tutor.answerer.mode = mode
        tutor.answerer._knowledge = None  # rebuild the index for this mode
        _ = tutor.answerer.knowledge
        fresh = tutor.new_session()
        tutor.respond(fresh, "hi")
        passed, latencies, heldout = 0, [], [0, 0]
        for item in questions:
            # held-out questions are run and counted, never shown (nor among the slowest)
            session = copy.copy(trained) if item["after_training"] else fresh
            started = time.perf_counter()
            reply = tutor.respond(session, item["question"])
            latencies.append(time.perf_counter() - started)
            ok = passes(reply.text, item["must_contain"], facts)
            passed += ok
            if item.get("heldout"):
                heldout[0] += ok
                heldout[1] += 1
            if arguments.failures and not ok and not item.get("heldout"):
                answer = " ".join(reply.text.split())[:300]
                print(f"FAIL [{mode}] {item['question']!r}\n  expected {item['must_contain']}\n"
                      f"  answered {answer}")
        if arguments.failures and heldout[1] > heldout[0]:
            print(f"FAIL [{mode}] {heldout[1] - heldout[0]} held-out question(s) (not shown)")
        if arguments.slowest:
            timed = zip(latencies, questions, strict=True)
            slow = sorted(((seconds, item["question"]) for seconds, item in timed if not item.get("heldout")),
                          reverse=True)
            for seconds, question in slow[:arguments.slowest]:
                print(f"SLOW [{mode}] {seconds * 1000:5.0f}ms {question[:90]!r}")
        latencies.sort()
        rows.append((mode, passed, statistics.median(latencies), float(np.percentile(latencies, 95)),
                     heldout))
    print(f"\n{'mode':12s} {'passed':>12s} {'rate':>7s} {'p50':>8s} {'p95':>8s} {'held-out':>9s}")
    for mode, passed, p50, p95, (held_passed, held_total) in rows:
        print(f"{mode:12s} {passed:>5d} of {len(questions):<4d} {passed / len(questions):6.1%} "
              f"{p50 * 1000:6.0f}ms {p95 * 1000:6.0f}ms {held_passed:>4d} of {held_total}")
    print("\ngoals: pass rate >= 95%, non-training answers p95 <= 300 ms")
    if not arguments.no_conversations:
        if tutor.answerer.mode != default_mode:
            tutor.answerer.mode = default_mode
            tutor.answerer._knowledge = None  # back to the default index
        report_conversations(tutor, arguments)
    return 0


def report_conversations(tutor, arguments: argparse.Namespace) -> None:
    """Run the conversation set (the chosen split, or both) once and print each split apart; with
    --failures, the failing tune items and a count of the held-out ones."""
    split = getattr(arguments, "split", "all")
    items = [item for item in load_conversations(arguments.conversations)
             if split == "all" or item.get("split") == split]
    print(f"\n{len(items)} conversations ({arguments.conversation_slice:,}-image training slice), "
          f"retrieval mode {tutor.answerer.mode}, split {split}")
    results = [run_conversation(tutor, item, arguments.conversation_slice) for item in items]
    if arguments.failures:
        tune, held_out = split_failures(results)
        for line in tune:
            print(f"FAIL [conversation] {line}")
        if held_out:
            print(f"FAIL [conversation] {held_out} held-out item(s) (not shown)")
    if arguments.slowest:
        turns = sorted(((turn.seconds, result.id, turn.message) for result in results
                        if result.split == "tune" for turn in result.turns if not turn.trained),
                       reverse=True)
        for seconds, name, message in turns[:arguments.slowest]:
            print(f"SLOW [conversation] {seconds * 1000:5.0f}ms {name}: {message[:80]!r}")
    print(conversation_report(results))
    print("goals: tune >= 95%, held-out >= 90% (tests/test_conversations.py)")


if __name__ == "__main__":
    sys.exit(main())
