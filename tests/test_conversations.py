"""Multi-turn conversations in the learner's own words (tests/eval/conversations.yaml).

Every item runs in a fresh session of the shared tutor through `Tutor.respond`; an item passes
when all its graded turns pass. The runner and its checks live in benchmarks/answers.py
(`run_conversation`), which reports the same set with latencies. The held-out split is never
tuned on: see the file's header.
"""

from __future__ import annotations

import argparse
from collections import Counter
from types import SimpleNamespace

import pytest
import yaml

import benchmarks.answers
from benchmarks.answers import (
    CONVERSATIONS,
    KINDS,
    SPLITS,
    ItemResult,
    conversation_problems,
    conversation_report,
    load_conversations,
    run_conversation,
    split_failures,
)

ITEMS = load_conversations()
# The goal (issue 16) is 95% on tune and 90% on held-out. Measured 2026-12-03: tune 114 of 114
# (100%), held-out 36 of 47 (76.6%; it was 34 before the second development set's work): the
# held-out gap is real and open. These floors guard what is reached against regressions, with a
# margin for another CPU's rounding; raise them as the tutor improves, never lower them to pass.
GOALS = {"tune": 0.95, "held_out": 0.90}
PASS_RATES = {"tune": 0.95, "held_out": 0.70}
MIN_ITEMS = 130
MIN_HELD_OUT_SHARE = 0.25


def test_conversation_file_is_well_formed():
    steps = yaml.safe_load((CONVERSATIONS.parents[2] / "lessons" / "pack.yaml").read_text())["states"]
    assert conversation_problems(ITEMS, steps) == []
    assert len(ITEMS) >= MIN_ITEMS
    splits = Counter(item["split"] for item in ITEMS)
    assert splits["held_out"] >= MIN_HELD_OUT_SHARE * len(ITEMS), splits
    for split in SPLITS:
        kinds = {item["kind"] for item in ITEMS if item["split"] == split}
        assert kinds == set(KINDS), f"{split} lacks {set(KINDS) - kinds}"


def _summary(results: list[ItemResult]) -> tuple[dict[str, float], str]:
    """The pass rate of each split, and what failed: one line per failing TUNE item, and the
    held-out failures as a count only (never their ids or text: nobody tunes on them)."""
    rates = {}
    for split in SPLITS:
        chosen = [result for result in results if result.split == split]
        rates[split] = sum(result.passed for result in chosen) / len(chosen) if chosen else 0.0
    tune, held_out = split_failures(results)
    failed = f"{len(tune)} tune item(s) failing, {held_out} held-out item(s) failing (not shown)"
    return rates, "\n".join([failed + (":" if tune else ""), *tune])


def test_failure_summary_names_tune_items_only():
    def result(name: str, split: str, passed: bool) -> ItemResult:
        return ItemResult(id=name, split=split, kind="direct", problems=[] if passed else ["broke"])

    _, text = _summary([result("t-ok", "tune", True), result("t-bad", "tune", False),
                        result("h-bad", "held_out", False), result("h-bad2", "held_out", False)])
    assert "t-bad" in text and "t-ok" not in text
    assert "h-bad" not in text and "2 held-out item(s) failing" in text


@pytest.mark.parametrize("split", ["tune", "held_out", "all"])
def test_the_report_never_shows_a_held_out_item(monkeypatch, capsys, tmp_path, split):
    items = [{"id": "tune-a", "split": "tune", "kind": "direct", "turns": [{"say": "secret tune words"}]},
             {"id": "held-b", "split": "held_out", "kind": "direct", "turns": [{"say": "secret held words"}]}]
    path = tmp_path / "items.yaml"
    path.write_text(yaml.safe_dump(items))

    def failing(tutor, item, train_slice):
        return ItemResult(id=item["id"], split=item["split"], kind=item["kind"],
                          problems=[f"broke on {item['turns'][0]['say']}"])

    monkeypatch.setattr(benchmarks.answers, "run_conversation", failing)
    arguments = argparse.Namespace(conversations=str(path), conversation_slice=10, failures=True,
                                   slowest=5, split=split)
    benchmarks.answers.report_conversations(SimpleNamespace(answerer=SimpleNamespace(mode="bm25")), arguments)
    shown = capsys.readouterr().out
    assert "held-b" not in shown and "secret held words" not in shown
    assert ("tune-a" in shown) == (split != "held_out")
    assert ("1 held-out item(s) (not shown)" in shown) == (split != "tune")


def test_conversation_pass_rates(tutor_instance):
    results = [run_conversation(tutor_instance, item) for item in ITEMS]
    rates, failures = _summary(results)
    print("\n" + conversation_report(results))
    verdicts = [f"{split} {rates[split]:.1%} of {goal:.0%} {'met' if rates[split] >= goal else 'NOT met'}"
                for split, goal in GOALS.items()]
    print("goals: " + ", ".join(verdicts))
    short = [f"{split} {rates[split]:.1%} < {goal:.0%}" for split, goal in PASS_RATES.items()
             if rates[split] < goal]
    assert not short, f"{'; '.join(short)}; {failures}"
