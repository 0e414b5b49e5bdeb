"""Free-form questions through Tutor.respond: the evaluation set, live facts and steering."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from benchmarks.answers import facts_for, passes
from tutor import Tutor

EVAL = Path(__file__).parent / "eval"
QUESTIONS = yaml.safe_load((EVAL / "questions.yaml").read_text())
STEER = yaml.safe_load((EVAL / "steer.yaml").read_text())
PASS_RATE = 0.95  # the goal; measured 134 of 135 (99.3%) on the hybrid retriever


@pytest.fixture(scope="module")
def tutor():
    return Tutor(train_slice=10000, max_messages_per_minute=None)


@pytest.fixture(scope="module")
def trained(tutor, dataset):
    """A learner who trained 5 epochs on raw pixels (a 10,000-image slice), and their facts."""
    session = tutor.new_session()
    tutor.respond(session, "go to training")
    assert len(session.history) == 5
    facts = facts_for(session, dataset)
    return session, facts


def test_evaluation_set_pass_rate(tutor, trained):
    trained_session, facts = trained
    fresh = tutor.new_session()
    tutor.respond(fresh, "hi")
    failures = []
    for item in QUESTIONS:
        # every question starts from the same place, so one answer cannot steer the next
        session = copy.copy(trained_session) if item["after_training"] else fresh
        reply = tutor.respond(session, item["question"])
        if not passes(reply.text, item["must_contain"], facts):
            failures.append((item["question"], reply.text[:120]))
    rate = 1 - len(failures) / len(QUESTIONS)
    print(f"\nevaluation set: {len(QUESTIONS) - len(failures)} of {len(QUESTIONS)} ({rate:.1%})")
    assert len(QUESTIONS) >= 80
    assert rate >= PASS_RATE, failures[:10]


def test_answers_name_the_learners_own_figures(tutor, trained):
    session, facts = trained
    reply = tutor.respond(copy.copy(session), "how accurate is my model?")
    assert facts["val_accuracy_pct"] in reply.text
    reply = tutor.respond(copy.copy(session), "why is my loss so big?")
    assert facts["loss_1dp"] in reply.text
    assert "255" in reply.text


def test_questions_before_training_say_so_or_explain(tutor):
    session = tutor.new_session()
    tutor.respond(session, "hi")
    reply = tutor.respond(session, "how accurate is my model?")
    assert "%" not in reply.text or "trained" in reply.text.lower() or "accuracy" in reply.text.lower()
    assert session.history == []


@pytest.mark.parametrize("item", STEER, ids=[item["kind"] for item in STEER])
def test_hostile_and_off_topic_messages_steer_back_and_change_nothing(tutor, item):
    session = tutor.new_session()
    tutor.respond(session, "hi")
    tutor.respond(session, "next")
    before = (session.state_id, list(session.visited), session.model, list(session.history))
    lesson_before = [state.body for state in tutor.pack.states]
    reply = tutor.respond(session, item["message"])
    assert reply.text.strip()
    assert "Traceback" not in reply.text
    assert "You are Brain Tutor" not in reply.text  # never the LLM prompt
    assert (session.state_id, session.visited, session.model, session.history) == before
    assert [state.body for state in tutor.pack.states] == lesson_before
    assert reply.kind in ("answer", "help", "error")
    assert "Meet the data" in reply.text or "help" in reply.text.lower()
