"""Socratic before a concept (issue 16, item 5): on the step before the one that teaches a
concept, a learner walking the lesson who asks what it is gets ONE guiding question first, with
a "Just tell me" button; their answer is connected to the explanation. Never twice in a row,
once per upcoming step, and never for look-ups, data, settings, comparisons or follow-ups.
"""

from __future__ import annotations

import pytest

from tutor.engine.guiding import NO_IDEA, _on_track
from tutor.engine.lessons import load_pack
from tutor.engine.mastery import load_concepts

LOSS = load_concepts(load_pack()).get("loss").guiding


def say(tutor, session, message):
    if not session.state_id:
        tutor.start(session)
    return tutor.respond(session, message)


def walk_to_summary(tutor, session):
    """Architecture, then `next`: the learner is on the step before the loss step, in order."""
    say(tutor, session, "go to architecture")
    say(tutor, session, "next")
    assert session.state_id == "summary"


def test_every_concept_has_a_guiding_question_in_the_lessons_words():
    concepts = load_concepts(load_pack()).concepts
    assert concepts and all(concept.guiding is not None for concept in concepts)
    for concept in concepts:
        assert concept.guiding.question.endswith("?"), concept.id
        assert concept.guiding.connect and concept.guiding.look_for, concept.id


def test_a_concept_the_next_step_teaches_gets_one_guiding_question_first(tutor_instance, session):
    walk_to_summary(tutor_instance, session)
    guide = say(tutor_instance, session, "what's a loss function?")
    assert LOSS.question in guide.text
    assert "sparsecategoricalcrossentropy" not in guide.text.lower()  # not the answer yet
    assert guide.options[0].label == "Just tell me"
    assert not guide.steered


def test_an_answer_on_the_right_track_is_connected_to_the_explanation(tutor_instance, session):
    walk_to_summary(tutor_instance, session)
    say(tutor_instance, session, "what's a loss function?")
    reply = say(tutor_instance, session, "you could add up how far off each guess was")
    assert reply.text.startswith("Yes")
    assert "how far off each guess was" in reply.text  # their own words, quoted back
    assert LOSS.connect in reply.text
    assert "loss function" in reply.text.lower() and "model.compile" in reply.text  # then the answer
    assert session.pending_check == "summary"  # the step's own check is still open


def test_an_answer_off_the_track_still_gets_the_connection_and_the_answer(tutor_instance, session):
    walk_to_summary(tutor_instance, session)
    say(tutor_instance, session, "what's a loss function?")
    reply = say(tutor_instance, session, "maybe with a bigger model")
    assert not reply.text.startswith("Yes") and "thinking it through" in reply.text
    assert LOSS.connect in reply.text and "model.compile" in reply.text


@pytest.mark.parametrize("refusal", ["just tell me", "i don't know", "not sure"])
def test_just_tell_me_gives_the_answer_and_leaves_the_check_open(tutor_instance, session, refusal):
    walk_to_summary(tutor_instance, session)
    say(tutor_instance, session, "what's a loss function?")
    reply = say(tutor_instance, session, refusal)
    assert "model.compile" in reply.text and LOSS.question not in reply.text
    assert "skipped" not in reply.text.lower()
    assert session.pending_check == "summary"


def test_never_two_guiding_questions_in_a_row_nor_two_for_one_step(tutor_instance, session):
    walk_to_summary(tutor_instance, session)
    say(tutor_instance, session, "what's a loss function?")
    second = say(tutor_instance, session, "what is a logit?")  # a new question instead of an answer
    assert "before i tell you" not in second.text.lower()
    assert "logit" in second.text.lower().split("\n\n")[0]
    third = say(tutor_instance, session, "what is an optimizer?")  # later, same upcoming step
    assert "before i tell you" not in third.text.lower()
    assert "optimizer" in third.text.lower().split("\n\n")[0]


@pytest.mark.parametrize("message", [
    "what is my loss",  # about the learner's own model
    "what is the batch size set to",  # a setting
    "loss vs accuracy",  # a comparison
    "what is training image 42",  # the data
    "what is a parameter",  # this step's own concept: its text was just shown
])
def test_data_settings_comparisons_and_this_step_are_answered(tutor_instance, session, message):
    walk_to_summary(tutor_instance, session)
    reply = say(tutor_instance, session, message)
    assert "before i tell you" not in reply.text.lower(), reply.text[:160]


def test_a_learner_who_jumped_here_gets_the_answer_straight_away(tutor_instance, session):
    say(tutor_instance, session, "go to summary")  # from the welcome: looking something up
    reply = say(tutor_instance, session, "what's a loss function?")
    assert "before i tell you" not in reply.text.lower()
    assert "model.compile" in reply.text


def test_reading_the_learners_answer():
    assert _on_track("you add up the mistakes", LOSS.look_for)
    assert not _on_track("no clue, maybe bigger", ("far", "off"))
    assert _on_track("no", ("no",)) and not _on_track("now", ("no",))  # short words whole
    assert _on_track("it memorises them", ("memor",))  # longer ones as a word's start
    assert NO_IDEA.match("i don't know") and NO_IDEA.match("no idea") and not NO_IDEA.match("no")
