"""Multi-turn conversations in the learner's own words (tests/eval/conversations.yaml).

Every item runs in a fresh session of the shared tutor through `Tutor.respond`; an item passes
when all its graded turns pass. The runner and its checks live in benchmarks/answers.py
(`run_conversation`), which reports the same set with latencies. The held-out split is never
tuned on: see the file's header.
"""

from __future__ import annotations

from collections import Counter

import yaml

from benchmarks.answers import (
    CONVERSATIONS,
    KINDS,
    SPLITS,
    ItemResult,
    conversation_problems,
    conversation_report,
    load_conversations,
    run_conversation,
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


def _summary(results: list[ItemResult]) -> tuple[dict[str, float], list[str]]:
    """The pass rate of each split, and one line per failing item."""
    rates = {}
    for split in SPLITS:
        chosen = [result for result in results if result.split == split]
        rates[split] = sum(result.passed for result in chosen) / len(chosen) if chosen else 0.0
    return rates, [result.failure_line() for result in results if not result.passed]


def test_conversation_pass_rates(tutor_instance):
    results = [run_conversation(tutor_instance, item) for item in ITEMS]
    rates, failures = _summary(results)
    print("\n" + conversation_report(results))
    verdicts = [f"{split} {rates[split]:.1%} of {goal:.0%} {'met' if rates[split] >= goal else 'NOT met'}"
                for split, goal in GOALS.items()]
    print("goals: " + ", ".join(verdicts))
    short = [f"{split} {rates[split]:.1%} < {goal:.0%}" for split, goal in PASS_RATES.items()
             if rates[split] < goal]
    assert not short, f"{'; '.join(short)}; {len(failures)} failing:\n" + "\n".join(failures)
