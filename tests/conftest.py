"""Shared fixtures: one Tutor and one Fashion-MNIST load per test run, a fresh learner per test."""

from __future__ import annotations

import pytest

import tutor.ml.data
from tutor import Tutor
from tutor.tools import training


@pytest.fixture(scope="session")
def tutor_instance():
    """The tutor with the real lesson pack, shared like the app shares it between learners."""
    return Tutor(max_messages_per_minute=None)  # tests send messages faster than people


@pytest.fixture
def session(tutor_instance):
    """A new learner; any training it started is stopped and joined afterwards."""
    learner = tutor_instance.new_session()
    yield learner
    if learner.training is not None:
        learner.training.stop.set()
        training.wait_for_training(learner, timeout=60)


@pytest.fixture(scope="session")
def dataset():
    """The real Fashion-MNIST arrays, loaded once."""
    return tutor.ml.data.load_dataset()
