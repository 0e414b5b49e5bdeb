"""The glossary's follow-up fields (simple, why, example), comparisons.yaml and faq.yaml are
well-formed data: short non-empty strings that add something new, on enough entries; comparisons
that name two distinct glossary terms, each pair once, with a verdict; FAQ entries that answer first
and belong to a lesson step."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
GLOSSARY = yaml.safe_load((LESSONS / "glossary.yaml").read_text(encoding="utf-8"))
COMPARISONS = yaml.safe_load((LESSONS / "comparisons.yaml").read_text(encoding="utf-8"))
FAQ = yaml.safe_load((LESSONS / "faq.yaml").read_text(encoding="utf-8"))
STATE_IDS = set(yaml.safe_load((LESSONS / "pack.yaml").read_text(encoding="utf-8"))["states"])
TERMS = {entry["term"] for entry in GLOSSARY}

FOLLOW_UPS = ("simple", "why", "example")
MAX_CHARS = 600
MIN_COMPLETE_ENTRIES = 80
MIN_COMPARISONS = 25
MAX_VERDICT_CHARS = 400
# a verdict opens with the choice, or says first that the two are no alternatives
VERDICT_OPENERS = ("neither", "both", "either")
FAQ_COUNT = (45, 60)
ALSO_COUNT = (3, 6)
MAX_FAQ_ANSWER_CHARS = 600
# An FAQ answer gives the answer first. Its first word is one of these ("Yes.", "No.",
# "Not really.", "It depends:"), or it starts with a number ("70,000 in all."), or it names the
# thing asked in a short first sentence of at most FAQ_NAME_WORDS words ("Shirts and other
# tops.", "About 13 seconds on a small CPU.") before the explanation.
FAQ_OPENERS = {"yes", "no", "not", "it"}
FAQ_NAME_WORDS = 8


def _norm(text: str) -> str:
    """Lower-case words only, so that spacing, line folds and punctuation do not matter."""
    return " ".join(re.findall(r"[\w.%,'-]+", str(text).lower())).strip(" .")


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z\"'(])", " ".join(str(text).split()), maxsplit=1)[0]


def test_the_files_are_lists():
    assert isinstance(GLOSSARY, list) and GLOSSARY
    assert isinstance(COMPARISONS, list) and COMPARISONS
    assert isinstance(FAQ, list) and FAQ


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
    assert set(comparison) == {"terms", "answer", "verdict"}, sorted(comparison)
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


@pytest.mark.parametrize("comparison", COMPARISONS, ids=lambda item: " vs ".join(map(str, item["terms"])))
def test_a_comparison_has_a_short_verdict_that_opens_with_the_choice(comparison):
    verdict = comparison.get("verdict")
    assert isinstance(verdict, str) and verdict.strip(), comparison["terms"]
    verdict = " ".join(verdict.split())
    assert len(verdict) <= MAX_VERDICT_CHARS, f"verdict has {len(verdict)} characters"
    assert _norm(verdict) != _norm(comparison["answer"]), "verdict repeats the answer"
    opening = re.split(r"[:,;.]", verdict, maxsplit=1)[0].lower()
    stems = {word[:5] for term in comparison["terms"] for word in re.findall(r"[a-z]{3,}", term.lower())}
    opening_stems = {word[:5] for word in re.findall(r"[a-z]{3,}", opening)}
    assert opening.split()[0] in VERDICT_OPENERS or stems & opening_stems, (
        f"the verdict should open with the choice or with {VERDICT_OPENERS}: {opening!r}")


# ----- faq.yaml ---------------------------------------------------------------------------------


def _opens_with_the_answer(answer: str) -> bool:
    """The rule written at FAQ_OPENERS: a yes/no opener, a number, or a short naming sentence."""
    text = " ".join(answer.split())
    first = re.split(r"[\s,.:;]+", text, maxsplit=1)[0]
    if first.lower() in FAQ_OPENERS or first[:1].isdigit():
        return True
    head = re.split(r"(?<=[.:;])\s", text, maxsplit=1)[0]
    return len(head.split()) <= FAQ_NAME_WORDS


def test_the_faq_has_the_right_number_of_entries():
    low, high = FAQ_COUNT
    assert low <= len(FAQ) <= high, len(FAQ)


@pytest.mark.parametrize("entry", FAQ, ids=lambda entry: str(entry.get("question")))
def test_an_faq_entry_is_well_formed(entry):
    assert set(entry) == {"question", "also", "answer", "state"}, sorted(entry)
    question, also, answer = entry["question"], entry["also"], entry["answer"]
    assert isinstance(question, str) and question.strip().endswith("?"), question
    assert entry["state"] in STATE_IDS, f"not a step id of pack.yaml: {entry['state']}"
    assert isinstance(also, list) and ALSO_COUNT[0] <= len(also) <= ALSO_COUNT[1], also
    assert all(isinstance(item, str) and item.strip() for item in also), also
    phrasings = [_norm(question), *(_norm(item) for item in also)]
    assert len(set(phrasings)) == len(phrasings), "a phrasing repeats the question or another one"
    assert isinstance(answer, str) and answer.strip(), question
    assert len(answer) <= MAX_FAQ_ANSWER_CHARS, f"answer has {len(answer)} characters"
    assert _opens_with_the_answer(answer), f"the answer should come first: {answer[:60]!r}"


def test_no_faq_question_or_phrasing_appears_twice():
    seen: dict[str, str] = {}
    for entry in FAQ:
        for phrasing in [entry["question"], *entry["also"]]:
            key = _norm(phrasing).rstrip("?")
            assert key not in seen, f"{phrasing!r} is also under {seen[key]!r}"
            seen[key] = entry["question"]


@pytest.mark.parametrize("answer, opens", [
    ("Yes. Because ...", True), ("No, not here.", True), ("Not really. The ...", True),
    ("It depends: on ...", True), ("70,000 in all. Then ...", True), ("Shirts. The tops ...", True),
    ("Because the model has far too few numbers to memorise the pictures. So ...", False),
])
def test_the_answer_first_rule(answer, opens):
    assert _opens_with_the_answer(answer) is opens
