"""Questions about a given image, a count or the learner's own settings are answered from the data
and the session, with the answer in the first sentence; concept questions and commands are not."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest

from tutor.answers.data_facts import data_answer
from tutor.answers.facts import live_answer
from tutor.engine.commands import COMMANDS
from tutor.ml import data
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.session import Run
from tutor.words import words_to_digits


def ask(tutor_instance, session, message: str):
    """The tutor's reply to one question, asked once the lesson has started."""
    if not session.state_id:
        tutor_instance.respond(session, "hi")
    return tutor_instance.respond(session, message)


def sentences(text: str) -> list[str]:
    """The reply's sentences (a decimal point or "T-shirt/top" does not end one)."""
    return [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]


def first(text: str) -> str:
    return sentences(text)[0]


def answer_sentence(text: str) -> str:
    """The sentence that gives the answer: the first, or the one after a bare "Yes."/"No."."""
    parts = sentences(text)
    return parts[1] if re.fullmatch(r"(?:Yes|No|Neither)\.", parts[0]) else parts[0]


def _label(dataset, split: str, index: int) -> tuple[int, str]:
    label = int(dataset.split(split)[1][index])
    return label, data.CLASS_NAMES[label]


# ----- one image ------------------------------------------------------------------------------
IMAGE_QUESTIONS = [
    ("what's the label of training image 42?", "train", 42),
    ("what is validation image 6174?", "valid", 6174),
    ("which class is validation picture 10", "valid", 10),
    ("what is training image 7", "train", 7),
    ("what's in picture 3?", "train", 3),
    ("What kind of clothing is image 100?", "train", 100),
    ("what label does image 9 have?", "train", 9),
    ("tell me the class of validation image 25", "valid", 25),
    ("what does training image 1234 look like?", "train", 1234),
    ("what is image number twelve in the validation set", "valid", 12),
]


def _check_image_answer(reply, dataset, split: str, index: int) -> None:
    label, name = _label(dataset, split, index)
    lead = first(reply.text)
    assert f"image {index} is label {label}" in lead, reply.text
    assert name in lead
    assert ("Validation" if split == "valid" else "Training") in lead
    assert reply.figures, "the image itself is shown"


@pytest.mark.parametrize(("message", "split", "index"),
                         [param.values if hasattr(param, "values") else param for param in IMAGE_QUESTIONS])
def test_the_live_answer_gives_a_given_images_label_first(session, dataset, message, split, index):
    _check_image_answer(live_answer(session, words_to_digits(message)), dataset, split, index)


@pytest.mark.parametrize(("message", "split", "index"), IMAGE_QUESTIONS)
def test_a_given_image_is_shown_with_its_label_first(tutor_instance, session, dataset, message,
                                                     split, index):
    _check_image_answer(ask(tutor_instance, session, message), dataset, split, index)


def test_is_image_n_a_class_gets_yes_or_no_first(tutor_instance, session, dataset):
    label, name = _label(dataset, "train", 0)
    reply = ask(tutor_instance, session, f"is training image 0 a {name.lower()}?")
    assert first(reply.text) == "Yes.", reply.text
    other = (label + 3) % 10
    reply = ask(tutor_instance, session, f"Is image 0 a {data.CLASS_NAMES[other].lower()}?")
    assert first(reply.text).startswith("No"), reply.text
    assert name in reply.text
    _, valid_name = _label(dataset, "valid", 6174)
    reply = ask(tutor_instance, session, f"was validation image 6174 a {valid_name.lower()}")
    assert first(reply.text) == "Yes." and valid_name in answer_sentence(reply.text)


@pytest.mark.parametrize(("message", "last"), [
    ("what is training image 60000?", "59,999"),
    ("what's validation image 10000", "9,999"),
    ("which class is image 123456?", "59,999"),
    ("what is image -1", "59,999"),
])
def test_image_numbers_out_of_range_get_the_valid_range(tutor_instance, session, message, last):
    reply = ask(tutor_instance, session, message)
    assert last in first(reply.text) or last in reply.text.split("\n")[0], reply.text
    assert "Traceback" not in reply.text and "went wrong" not in reply.text
    assert not reply.figures


# ----- counts ---------------------------------------------------------------------------------
@pytest.mark.parametrize("message", [
    "how many training images are there?", "How big is the training set?",
    "how many pictures are in the training data?",
])
def test_the_training_set_size_comes_first(tutor_instance, session, dataset, message):
    assert f"{len(dataset.train_labels):,}" in first(ask(tutor_instance, session, message).text)


@pytest.mark.parametrize("message", [
    "how many images are we training on?", "how many pictures does my model learn from?",
    "how many images does my model see in one epoch?",
])
def test_the_learners_own_slice_comes_first(tutor_instance, session, dataset, message):
    total = len(dataset.train_labels)
    used = min(total, session.settings.train_slice or total)
    assert f"{used:,}" in first(ask(tutor_instance, session, message).text)
    session.settings = replace(session.settings, train_slice=5000)
    reply = ask(tutor_instance, session, message)
    assert "5,000" in first(reply.text) and f"{total:,}" in reply.text
    assert "`use all the data`" in reply.text


@pytest.mark.parametrize(("message", "expected"), [
    ("how many pics in the validation set?", lambda ds: f"{len(ds.valid_labels):,}"),
    ("how many validation images are there", lambda ds: f"{len(ds.valid_labels):,}"),
    ("how many test images do we have?", lambda ds: f"{len(ds.valid_labels):,}"),
    ("how many images are there in total?",
     lambda ds: f"{len(ds.train_labels) + len(ds.valid_labels):,}"),
    ("how many classes are there?", lambda ds: str(len(data.CLASS_NAMES))),
    ("how many labels are there", lambda ds: str(len(np.unique(ds.train_labels)))),
    ("how many categories of clothes are there?", lambda ds: str(len(data.CLASS_NAMES))),
    ("how many pixels does an image have?", lambda ds: str(ds.train_images[0].size)),
    ("how many pixels in each picture", lambda ds: str(ds.train_images[0].size)),
    ("how many images per class?", lambda ds: f"{np.bincount(ds.train_labels)[0]:,}"),
    ("how many sneakers are in the training set?", lambda ds: f"{np.bincount(ds.train_labels)[7]:,}"),
    ("how many training images have label 3?", lambda ds: f"{np.bincount(ds.train_labels)[3]:,}"),
])
def test_counts_from_the_data_come_first(tutor_instance, session, dataset, message, expected):
    reply = ask(tutor_instance, session, message)
    assert expected(dataset) in first(reply.text), reply.text


@pytest.mark.parametrize("message", ["how many steps per epoch?", "how many batches are in one epoch?",
                                     "how many weight updates per epoch"])
def test_steps_per_epoch_use_the_learners_batch_size(tutor_instance, session, dataset, message):
    total = len(dataset.train_labels)
    used = min(total, session.settings.train_slice or total)
    assert f"{math.ceil(used / session.settings.batch_size):,}" in first(
        ask(tutor_instance, session, message).text)
    session.settings = replace(session.settings, batch_size=128, train_slice=None)
    assert f"{math.ceil(total / 128):,}" in first(ask(tutor_instance, session, message).text)


def test_runs_are_counted(tutor_instance, session):
    assert "0" in first(ask(tutor_instance, session, "how many runs have I made?").text)
    session.runs = [Run(number=1, model="Flatten → Dense(10)", settings=TrainSettings()),
                    Run(number=2, model="Flatten → Dense(10)", settings=TrainSettings())]
    for message in ("how many runs have I done?", "how many times have I trained?"):
        assert "2" in first(ask(tutor_instance, session, message).text)


# ----- the learner's settings -----------------------------------------------------------------
@pytest.mark.parametrize("message", ["what learning rate am I using?", "what's my learning rate?",
                                     "which learning rate are we using right now?"])
def test_the_learners_learning_rate(tutor_instance, session, message):
    assert f"{session.settings.base_rate:g}" in first(ask(tutor_instance, session, message).text)
    session.settings = replace(session.settings, learning_rate=0.0123)
    assert "0.0123" in first(ask(tutor_instance, session, message).text)


def test_the_learners_batch_size_and_optimizer(tutor_instance, session):
    size = session.settings.batch_size
    for message in ("what's my batch size?", "what batch size am I using?"):
        assert str(size) in first(ask(tutor_instance, session, message).text)
    assert first(ask(tutor_instance, session, f"is my batch size {size * 2}?").text) == "No."
    assert first(ask(tutor_instance, session, f"is my batch size {size}?").text) == "Yes."
    session.settings = replace(session.settings, batch_size=128, optimizer="sgd")
    assert "128" in first(ask(tutor_instance, session, "what's my batch size").text)
    assert "SGD" in first(ask(tutor_instance, session, "which optimizer am I using?").text)
    assert first(ask(tutor_instance, session, "am I using adam right now?").text) == "No."
    assert first(live_answer(session, "am i using sgd at the moment").text) == "Yes."


def test_am_i_using_sgd_is_answered_not_obeyed(tutor_instance, session):
    session.settings = replace(session.settings, optimizer="sgd")
    before = session.settings
    assert first(ask(tutor_instance, session, "am i using sgd at the moment").text) == "Yes."
    assert session.settings == before


@pytest.mark.parametrize("message", ["is my data scaled?", "are my training pixels normalized?",
                                     "did I scale the pixels?"])
def test_whether_the_pixels_are_scaled(tutor_instance, session, message):
    reply = ask(tutor_instance, session, message)
    assert first(reply.text) == ("Yes." if session.settings.scaled else "No.")
    assert "255" in reply.text
    session.settings = replace(session.settings, scaled=True)
    assert first(ask(tutor_instance, session, message).text) == "Yes."


def test_short_yes_no_questions_about_settings_are_answered_live(session):
    """Four-word questions: the engine may first ask "do it or explain?", the live answer is ready."""
    session.settings = replace(session.settings, optimizer="adam", scaled=False)
    assert first(live_answer(session, "am I using adam?").text) == "Yes."
    assert first(live_answer(session, "am I using sgd?").text) == "No."
    assert first(live_answer(session, "are my pixels normalized?").text) == "No."
    assert first(live_answer(session, "am I using raw pixels?").text) == "Yes."


def test_whether_all_the_data_is_used(tutor_instance, session, dataset):
    session.settings = replace(session.settings, train_slice=None)
    reply = ask(tutor_instance, session, "am I training on all the data?")
    assert first(reply.text) == "Yes." and f"{len(dataset.train_labels):,}" in reply.text
    session.settings = replace(session.settings, train_slice=2000)
    reply = ask(tutor_instance, session, "am i training on all the images?")
    assert first(reply.text) == "No." and "2,000" in answer_sentence(reply.text)


# ----- can it do better? ----------------------------------------------------------------------
@pytest.mark.parametrize("message", [
    "can I make the model better?", "is it possible to make my model better?",
    "could I get better accuracy?", "can I make it better?", "is there a way to improve my model?",
])
def test_can_it_do_better_says_yes_then_the_commands(tutor_instance, session, message):
    reply = ask(tutor_instance, session, message)
    assert first(reply.text) == "Yes.", reply.text
    for command in ("`scale the pixels`", "`add a hidden layer`", "`use a cnn`", "`train for 5 epochs`"):
        assert command in answer_sentence(reply.text)


@pytest.mark.parametrize("message", [
    "how do I improve my model?", "how can I get better accuracy?", "any tips to improve my accuracy?",
    "how do I make it more accurate?", "what can I do to improve my results?",
])
def test_how_to_do_better_names_the_commands_first(tutor_instance, session, message):
    reply = ask(tutor_instance, session, message)
    assert "`scale the pixels`" in first(reply.text), reply.text
    assert "`add a hidden layer`" in reply.text and "`use a cnn`" in reply.text


def test_improvements_follow_the_learners_settings(tutor_instance, session):
    session.settings = replace(session.settings, scaled=True)
    session.model_spec = ModelSpec(convolutional=True)
    session.history = [{"loss": 0.3, "accuracy": 0.9, "val_loss": 0.32, "val_accuracy": 0.8976}]
    reply = ask(tutor_instance, session, "can I improve my model?")
    assert first(reply.text).startswith("Yes")
    assert "89.8%" in reply.text
    assert "`scale the pixels`" not in reply.text and "`use a cnn`" not in reply.text
    assert "`train for 5 epochs`" in reply.text


@pytest.mark.parametrize(("message", "verdict"), [
    ("is 100% accuracy possible?", "No"), ("can my model reach 99%?", "No"),
    ("is 95% possible?", "No"), ("can my model get 90%?", "Yes"),
    ("could we reach 85 percent?", "Yes"),
])
def test_is_a_target_possible_says_yes_or_no_first(tutor_instance, session, message, verdict):
    assert first(ask(tutor_instance, session, message).text).startswith(verdict)


# ----- the older live answers lead with their figure ------------------------------------------
def test_older_live_answers_lead_with_the_figure(tutor_instance, session):
    assert "7,850" in first(ask(tutor_instance, session, "how many parameters does my model have").text)
    assert "0" in first(ask(tutor_instance, session, "how many epochs did I train?").text)
    assert first(ask(tutor_instance, session, "are there hidden layers in our model?").text) == "No."
    assert first(ask(tutor_instance, session, "does my model have a hidden layer?").text) == "No."
    assert first(ask(tutor_instance, session, "is my model a cnn?").text) == "No."
    session.history = [{"loss": 0.4, "accuracy": 0.86, "val_loss": 0.45, "val_accuracy": 0.845}]
    assert "1" in first(ask(tutor_instance, session, "how many epochs did i train").text)
    assert first(ask(tutor_instance, session, "is my model overfitting?").text).startswith("No")
    assert "second" in first(ask(tutor_instance, session, "how long will 10 epochs take?").text)


# ----- not captured -------------------------------------------------------------------------
CONCEPTS = ["what is a label?", "what is validation?", "what is an image?", "what's a pixel",
            "what is the learning rate?", "whats the learning rate", "what is a batch?",
            "what does a batch size of 32 mean", "what does it mean to scale the pixels?",
            "what is an optimizer", "what is a class?", "why 1875 steps",
            "how many neurons does a hidden layer have?", "does softmax improve accuracy?",
            "what batch size should I use?", "how many epochs should I train?",
            "the grid of numbers for image 42, what am i looking at"]


@pytest.mark.parametrize("message", CONCEPTS)
def test_concept_questions_are_left_to_the_lesson(tutor_instance, session, message):
    assert live_answer(session, message) is None
    reply = ask(tutor_instance, session, message)
    assert reply.text.strip() and not reply.figures


def test_concept_questions_still_get_the_glossary(tutor_instance, session):
    assert "**Label" in ask(tutor_instance, session, "what is a label?").text
    assert "**Image" in ask(tutor_instance, session, "what is an image?").text


def test_commands_are_not_taken_for_questions(session):
    examples = [example for row in COMMANDS for example in row.examples]
    assert [example for example in examples if data_answer(session, example) is not None] == []
