"""The command table: every example reaches its own row, nothing is shadowed by `goto`, and
`help`, the README and speech recognition all read the same rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutor import Tutor
from tutor.engine.commands import COMMANDS, clean_message, help_lines, parse_command, spoken_phrases
from tutor.engine.lessons import load_pack

ROOT = Path(__file__).resolve().parents[1]
PACK = load_pack()
STEPS = PACK.step_names()
EXAMPLES = [(row.name, example) for row in COMMANDS for example in row.examples]


@pytest.mark.parametrize(("name", "example"), EXAMPLES)
def test_every_example_reaches_its_own_row(name, example):
    intent = parse_command(clean_message(example), STEPS)
    assert intent is not None and intent.name == name, (example, intent)


def test_every_row_has_examples_and_a_way_to_reach_it():
    for row in COMMANDS:
        assert len(row.examples) >= 2, row.name
        assert row.help or row.name == "goto", f"{row.name} is missing from help"


@pytest.mark.parametrize(
    ("message", "name"),
    [
        # "switch to", "show me the" and "open" begin step names and other commands alike;
        # the other command wins, and a step is gone to only when one is named
        ("switch to sgd", "optimizer"),
        ("switch to a cnn", "cnn"),
        ("show me the confusion matrix", "confusion"),
        ("show me the filters", "filters"),
        ("can you show me the weight maps", "weights"),
        ("show me my training curves", "curves"),
        ("show me the answer", "skip"),
        ("show me training image 42", "show_image"),
        ("show me the loss step", "goto"),
        ("switch to training", "goto"),
        ("open the flashcards", "goto"),
        ("go to flashcards", "goto"),
    ],
)
def test_a_command_is_not_shadowed_by_goto(message, name):
    intent = parse_command(clean_message(message), STEPS)
    assert intent is not None and intent.name == name, intent


@pytest.mark.parametrize("message", ["open the pod bay doors", "switch to decaf", "show me the world"])
def test_loose_openings_go_nowhere_unless_they_name_a_step(message):
    assert parse_command(clean_message(message), STEPS) is None


def test_an_unknown_step_after_go_to_lists_the_steps():
    tutor = Tutor(train_slice=500, max_messages_per_minute=None)
    session = tutor.new_session()
    tutor.respond(session, "")
    reply = tutor.respond(session, "go to the moon")
    assert "I don't know a step called" in reply.text and "`training`" in reply.text
    assert tutor.respond(session, "switch to sgd").text != reply.text


def test_help_is_made_from_the_table():
    tutor = Tutor(train_slice=500, max_messages_per_minute=None)
    session = tutor.new_session()
    tutor.respond(session, "")
    text = tutor.respond(session, "help").text
    for line in help_lines():
        assert line in text
    for row in COMMANDS:
        for entry in re.findall(r"`([^`]+)`", row.help):  # every command shown parses
            assert "<" in entry or parse_command(clean_message(entry), STEPS) is not None, entry


def test_the_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text()
    for row in COMMANDS:
        for entry in re.findall(r"`[^`]+`", row.help):
            assert entry in readme, f"README's command list misses {entry} ({row.name})"


def test_speech_expects_every_rows_phrases():
    from tutor.speech import spoken

    assert spoken_phrases() == spoken.COMMAND_PHRASES
    names = {row.name for row in COMMANDS if row.spoken}
    assert names == {row.name for row in COMMANDS} - {"goto"}
