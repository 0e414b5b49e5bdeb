"""Grading short answers and reading numbers written as words."""

from __future__ import annotations

import pytest

from tutor.engine.checks import format_question, grade, parse_choice, parse_class, parse_number
from tutor.engine.lessons import Check, load_pack
from tutor.ml.data import CLASS_NAMES
from tutor.words import words_to_digits


def make_check(kind, answer, choices=(), tolerance=0.0):
    return Check(
        question="?",
        kind=kind,
        answer=answer,
        hint="a hint",
        explanation="an explanation",
        choices=tuple(choices),
        tolerance=tolerance,
    )


CHOICES = ("Red", "Green light", "Blue sky above", "Yellow")

# ----- class names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("7", 7),
        ("Sneaker", 7),
        ("sneakers", 7),
        ("SNEAKER", 7),
        ("sneeker", 7),
        ("it's a sneaker", 7),
        ("I think it is a sneaker.", 7),
        ("ankle boot", 9),
        ("Ankel boot", 9),
        ("t-shirt", 0),
        ("tshirt", 0),
        ("T-shirt/top", 0),
        ("0", 0),
        ("Trouser", 1),
        ("Bag", 8),
    ],
)
def test_parse_class_accepts(text, label):
    assert parse_class(text) == label


@pytest.mark.parametrize("label", range(10))
def test_every_class_name_parses_to_its_label(label):
    assert parse_class(CLASS_NAMES[label]) == label
    assert parse_class(CLASS_NAMES[label].upper()) == label
    assert parse_class(str(label)) == label


@pytest.mark.parametrize(
    "text",
    [
        "banana",
        "",
        "   ",
        "10",
        "could you please explain again how the weights of a neuron are learned during training",
    ],
)
def test_parse_class_rejects(text):
    assert parse_class(text) is None


# ----- grading --------------------------------------------------------------------------------


def test_grade_number():
    check = make_check("number", 7850)
    assert grade(check, "7850") is True
    assert grade(check, "7,850") is True
    assert grade(check, "about 7850 parameters") is True
    assert grade(check, "7840") is False
    assert grade(check, "7,840") is False
    assert grade(check, "what is a parameter?") is None
    assert grade(check, "") is None


def test_grade_number_tolerance():
    check = make_check("number", 0.8, tolerance=0.05)
    assert grade(check, "0.82") is True
    assert grade(check, "0.9") is False


def test_parse_number():
    assert parse_number("7,850") == 7850
    assert parse_number("10%") == 10
    assert parse_number("-3") == -3
    assert parse_number("between 1 and 2") is None  # two numbers: not one answer


def test_grade_class():
    check = make_check("class", "Sneaker")
    assert grade(check, "7") is True
    assert grade(check, "sneakers") is True
    assert grade(check, "it's a sneaker") is True
    assert grade(check, "Bag") is False
    assert grade(check, "3") is False
    assert grade(check, "why do we count from zero?") is None


def test_grade_choice_by_letter_number_and_words():
    check = make_check("choice", "Blue sky above", CHOICES)
    assert grade(check, "c") is True
    assert grade(check, "C)") is True
    assert grade(check, "3") is True
    assert grade(check, "blue sky above") is True
    assert grade(check, "a") is False
    assert grade(check, "b") is False
    assert grade(check, "d") is False
    assert grade(check, "Yellow") is False
    assert grade(check, "e") is None
    assert grade(check, "how does the optimizer work?") is None


def test_letters_beyond_the_choices_are_not_answers():
    check = make_check("choice", "Red", CHOICES[:3])
    assert parse_choice(check, "c") == "Blue sky above"
    assert parse_choice(check, "d") is None
    assert parse_choice(check, "4") is None


def test_format_question_letters_the_choices():
    text = format_question(make_check("choice", "Red", CHOICES))
    for letter, choice in zip("abcd", CHOICES, strict=True):
        assert f"{letter}) {choice}" in text


def test_every_lesson_check_accepts_its_own_answer():
    for state in load_pack().states:
        check = state.check
        assert grade(check, str(check.answer)) is True, state.id
        if check.kind == "choice":
            letter = "abcd"[check.choices.index(str(check.answer))]
            assert grade(check, letter) is True, state.id
            wrong = "abcd"[(check.choices.index(str(check.answer)) + 1) % len(check.choices)]
            assert grade(check, wrong) is False, state.id
        if check.kind == "number":
            assert grade(check, f"{float(check.answer) + check.tolerance + 1:g}") is False, state.id


# ----- numbers as words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("six one seven four", "6174"),
        ("three", "3"),
        ("one hundred and twenty-eight", "128"),
        ("eighty six seventy five", "8675"),
        ("forty two", "42"),
        ("seven thousand eight hundred and fifty", "7850"),
        ("show validation image six one seven four", "show validation image 6174"),
        ("train for three more epochs", "train for 3 more epochs"),
        ("predict image eighty six seventy five", "predict image 8675"),
        ("one hundred and twenty-eight neurons", "128 neurons"),
        ("set learning rate to zero point zero one", "set learning rate to 0.01"),
        ("a rate of point five", "a rate of 0.5"),
        ("what is the point of softmax", "what is the point of softmax"),
    ],
)
def test_words_to_digits(text, expected):
    assert words_to_digits(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Sneaker",
        "someone often gets a bone",  # number words hidden inside other words
        "Show me the Ankle boot, please!",
        "train for 5 epochs",
        "a bag and a boot",
        "",
    ],
)
def test_words_to_digits_leaves_other_words_alone(text):
    assert words_to_digits(text) == text
