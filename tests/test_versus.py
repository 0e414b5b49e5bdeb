"""The learner against their model: "how did I do against the model?", "did I beat the computer?"
are answered from the session, the comparison in the first sentence: the learner's flashcard
score next to what their trained model says for the same cards, then its validation accuracy.
"""

from __future__ import annotations

import re

import pytest

from tutor.answers.versus import asks_versus
from tutor.ml import backend
from tutor.ml.backend import TrainSettings
from tutor.tools import lesson


def say(tutor, session, message):
    if not session.state_id:
        tutor.start(session)
    return tutor.respond(session, message)


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]


@pytest.mark.parametrize("question", [
    "did I beat the computer?", "how did I do against the model?", "who won, the network or me?",
    "am I smarter than the AI?", "did my model outscore me?", "how do my answers stack up against the model",
    "was I as accurate as my neural network?", "me versus the machine", "who got more right, me or the bot?",
])
def test_questions_that_pit_the_learner_against_the_model(question):
    assert asks_versus(question)


@pytest.mark.parametrize("question", [
    "is the model better than guessing?", "did my model beat the baseline?", "what is a computer?",
    "how did my model do on the validation set?", "compare runs", "is a cnn better than a dense network?",
    "how do I compare two runs?",
])
def test_other_comparisons_are_not_read_as_me_against_the_model(question):
    assert not asks_versus(question)


def test_before_cards_or_training_the_answer_says_what_is_missing(tutor_instance, session):
    reply = say(tutor_instance, session, "did I beat the computer?")
    assert "haven't guessed any flashcards" in reply.text and not reply.steered
    say(tutor_instance, session, "go to flashcards")
    say(tutor_instance, session, "9")  # training image 42 is an ankle boot: right
    reply = say(tutor_instance, session, "how did I do against the model?")
    assert first_sentence(reply.text).startswith("You got **1 of 1**")
    assert "hasn't trained" in reply.text and not session.history


def test_after_cards_and_a_training_the_comparison_comes_first(tutor_instance, session, dataset):
    session.settings = TrainSettings(train_slice=1000)
    say(tutor_instance, session, "go to flashcards")
    say(tutor_instance, session, "9")  # training image 42: Ankle boot, right
    say(tutor_instance, session, "0")  # validation image 6174: Sneaker, wrong
    say(tutor_instance, session, "train for 1 epoch")
    assert session.history and len(session.flashcard_answers) == 2
    images = [dataset.split(answer["split"])[0][answer["index"]] for answer in session.flashcard_answers]
    said = [int(backend.predict_logits(session.model, lesson.model_inputs(session, image[None])).argmax())
            for image in images]
    model_right = sum(guess == answer["label"] for guess, answer in zip(said, session.flashcard_answers,
                                                                          strict=True))
    runs = len(session.runs)

    reply = say(tutor_instance, session, "did I beat the computer?")

    first = first_sentence(reply.text)
    verdict = "You beat" if model_right < 1 else "tie" if model_right == 1 else "Your model beat"
    assert verdict in first, first
    assert "1 of 2" in first or "**1 of 2**" in first
    assert f"{model_right} of 2" in first
    assert f"{session.history[-1]['val_accuracy']:.1%}" in reply.text  # then the validation images
    assert "| card | you said | model said | truth |" in reply.text
    assert len(session.runs) == runs and not reply.steered  # answered, nothing run
