"""The glossary's follow-up fields (simple, why, example) and comparisons.yaml are well-formed data:
short non-empty strings that add something new, on enough entries, and comparisons that name two
distinct glossary terms, each pair once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
GLOSSARY = yaml.safe_load((LESSONS / "glossary.yaml").read_text(encoding="utf-8"))
COMPARISONS = yaml.safe_load((LESSONS / "comparisons.yaml").read_text(encoding="utf-8"))
TERMS = {entry["term"] for entry in GLOSSARY}

FOLLOW_UPS = ("simple", "why", "example")
MAX_CHARS = 600
MIN_COMPLETE_ENTRIES = 80
MIN_COMPARISONS = 25


def _norm(text: str) -> str:
    """Lower-case words only, so that spacing, line folds and punctuation do not matter."""
    return " ".join(re.findall(r"[\w.%,'-]+", str(text).lower())).strip(" .")


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", " ".join(str(text).split()), maxsplit=1)[0]


def test_the_files_are_lists():
    assert isinstance(GLOSSARY, list) and GLOSSARY
    assert isinstance(COMPARISONS, list) and COMPARISONS


@pytest.mark.parametrize("entry", GLOSSARY, ids=lambda entry: str(entry["term"]))
def test_follow_up_fields_are_short_new_strings(entry):
    given = {key: entry[key] for key in FOLLOW_UPS if key in entry}
    for key, value in given.items():
        assert isinstance(value, str), (key, value)
        assert value.strip(), f"{key} is empty"
        assert len(value) <= MAX_CHARS, f"{key} has {len(value)} characters (at most {MAX_CHARS})"
        text = _norm(value)
        for other in ("short", "long"):
            assert text != _norm(entry.get(other, "")), f"{key} repeats {other}"
            assert text != _norm(_first_sentence(entry.get(other, ""))), (
                f"{key} repeats the first sentence of {other}")
    texts = [_norm(value) for value in given.values()]
    assert len(set(texts)) == len(texts), "two follow-up fields say the same thing"


def test_enough_entries_have_all_three_follow_ups():
    complete = [entry["term"] for entry in GLOSSARY if all(entry.get(key) for key in FOLLOW_UPS)]
    assert len(complete) >= MIN_COMPLETE_ENTRIES, len(complete)


@pytest.mark.parametrize("term", ["neuron", "weight", "bias", "layer", "dense layer", "pixel",
                                  "label", "class", "softmax", "logit", "loss", "cross-entropy",
                                  "optimizer", "Adam", "SGD", "learning rate", "epoch", "batch",
                                  "training data", "validation data", "accuracy", "overfitting",
                                  "scaling pixels", "hidden layer", "ReLU", "activation function",
                                  "convolution", "filter", "prediction", "parameter", "gradient",
                                  "backpropagation"])
def test_core_concepts_have_all_three_follow_ups(term):
    (entry,) = [entry for entry in GLOSSARY if entry["term"] == term]
    assert all(entry.get(key) for key in FOLLOW_UPS), term


def test_the_glossary_loader_reads_the_follow_ups():
    from tutor.answers.knowledge import _glossary_passages

    passages = {passage.title: passage for passage in _glossary_passages(LESSONS / "glossary.yaml")}
    for entry in GLOSSARY:
        for key in FOLLOW_UPS:
            assert getattr(passages[entry["term"]], key) == " ".join(str(entry.get(key) or "").split())


def test_there_are_enough_comparisons():
    assert len(COMPARISONS) >= MIN_COMPARISONS, len(COMPARISONS)


@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda item: " vs ".join(map(str, item["terms"])))
def test_a_comparison_names_two_distinct_glossary_terms_and_answers(comparison):
    assert set(comparison) == {"terms", "answer"}, sorted(comparison)
    terms = comparison["terms"]
    assert isinstance(terms, list) and len(terms) == 2, terms
    assert all(isinstance(term, str) for term in terms), terms
    assert terms[0] != terms[1], terms
    missing = [term for term in terms if term not in TERMS]
    assert not missing, f"not a glossary term: {missing}"
    answer = comparison["answer"]
    assert isinstance(answer, str) and answer.strip(), terms


def test_no_comparison_pair_appears_twice():
    seen: dict[frozenset, list] = {}
    for comparison in COMPARISONS:
        pair = frozenset(comparison["terms"])
        assert pair not in seen, f"{comparison['terms']} repeats {seen[pair]}"
        seen[pair] = comparison["terms"]
