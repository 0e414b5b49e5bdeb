"""The lesson pack is data: it parses, its actions exist, its buttons are understood, every step
can be reached, and a malformed file is refused with its name in the message."""

from __future__ import annotations

import inspect
import shutil
import textwrap

import pytest

from tutor import Tutor
from tutor.engine.commands import clean_message, parse_command
from tutor.engine.lessons import DEFAULT_PACK, LessonError, load_pack, parse_state
from tutor.ml import backend
from tutor.ml.data import CLASS_NAMES
from tutor.tools import catalog, training

PACK = load_pack()
EXPECTED_IDS = [
    "intro",
    "data",
    "flashcards",
    "neuron-math",
    "architecture",
    "summary",
    "loss",
    "training",
    "prediction",
    "conclusion",
]


# ----- the real pack --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted(path for path in DEFAULT_PACK.glob("*.md") if path.name != "README.md"),
    ids=lambda path: path.name,
)
def test_every_lesson_file_parses(path):
    state = parse_state(path)
    assert state.id == path.stem
    assert state.title.strip() and state.body.strip()


def test_the_pack_loads_every_listed_file():
    assert len(PACK.states) >= len(EXPECTED_IDS)
    for state in PACK.states:
        assert (DEFAULT_PACK / f"{state.id}.md").is_file()


def test_ids_in_teaching_order():
    assert PACK.ids[0] == "intro"
    in_pack = [state_id for state_id in PACK.ids if state_id in EXPECTED_IDS]
    assert in_pack == EXPECTED_IDS  # the notebook's flow, in its order
    assert [state.step for state in PACK.states] == list(range(len(PACK.states)))
    assert PACK.title == "Building a Brain in 10 Minutes"
    assert PACK.dataset == "fashion_mnist"


@pytest.mark.parametrize("state", PACK.states, ids=PACK.ids)
def test_actions_exist_and_accept_their_arguments(state):
    for action in state.actions:
        assert action.name in catalog.TOOLS, f"{state.id}: unknown action {action.name}"
        signature = inspect.signature(catalog.TOOLS[action.name])
        signature.bind(None, **action.arguments)  # raises TypeError on a wrong argument


@pytest.mark.parametrize("state", PACK.states, ids=PACK.ids)
def test_each_state_has_a_check_options_and_a_body(state):
    assert state.check is not None
    assert state.check.kind in ("number", "class", "choice")
    assert state.options
    assert state.body.strip()
    assert state.summary.strip()
    if state is not PACK.states[-1]:
        next_title = PACK.states[PACK.index(state.id) + 1].title
        nexts = [option for option in state.options if option.message == "next"]
        assert nexts, f"{state.id} offers no way on"
        assert nexts[0].label.lower() == f"next: {next_title}".lower()


@pytest.mark.parametrize(
    "message", sorted({option.message for state in PACK.states for option in state.options})
)
def test_every_option_message_is_understood(message):
    assert parse_command(clean_message(message)) is not None


def test_option_targets_exist():
    for state in PACK.states:
        for option in state.options:
            intent = parse_command(clean_message(option.message))
            if intent is not None and intent.name == "goto":
                assert PACK.find(intent.values["target"]) is not None, option.message


# ----- reaching every state through the agent -------------------------------------------------


@pytest.fixture(scope="module")
def walked(tutor_instance):
    """A learner who went from the first state to the last by saying "next" only."""
    learner = tutor_instance.new_session()
    learner.settings = backend.TrainSettings(train_slice=320)
    reached = [tutor_instance.respond(learner, "next").state]
    for _ in range(len(PACK.states) + 2):
        reply = tutor_instance.respond(learner, "next")
        if reply.state == reached[-1]:
            break
        reached.append(reply.state)
    training.wait_for_training(learner, timeout=60)
    return learner, reached


def test_next_reaches_every_state_in_order(walked):
    learner, reached = walked
    assert reached == PACK.ids
    assert learner.visited == PACK.ids
    assert learner.runs and len(learner.runs[0].history) == 5  # the training state trained


def _go_to(tutor_instance, learner, target_state, words):
    if learner.state_id == target_state.id:  # move away first, so the jump has to happen
        tutor_instance.respond(learner, "back" if PACK.index(target_state.id) else "next")
    assert learner.state_id != target_state.id
    return tutor_instance.respond(learner, f"go to {words}")


@pytest.mark.parametrize("state", PACK.states, ids=PACK.ids)
def test_go_to_id(tutor_instance, walked, state):
    learner, _ = walked
    reply = _go_to(tutor_instance, learner, state, state.id)
    assert reply.state == state.id
    assert learner.state_id == state.id
    assert state.title in reply.text


@pytest.mark.parametrize("state", PACK.states, ids=PACK.ids)
def test_go_to_title(tutor_instance, walked, state):
    learner, _ = walked
    reply = _go_to(tutor_instance, learner, state, state.title)
    assert reply.state == state.id
    assert learner.state_id == state.id


def test_go_to_an_unknown_step_lists_the_steps(tutor_instance, walked):
    learner, _ = walked
    before = learner.state_id
    reply = tutor_instance.respond(learner, "go to the moon")
    assert learner.state_id == before
    for state_id in PACK.ids:
        assert f"`{state_id}`" in reply.text


# ----- malformed packs ------------------------------------------------------------------------

GOOD_STATE = """\
---
id: {id}
title: {title}
step: {step}
summary: "A tiny state."
actions: {actions}
options:
  - {{label: "Next", message: "next"}}
  - {{label: "Quick check", message: "check"}}
check:
  question: "What is one plus one?"
  kind: number
  answer: 2
  hint: "Count on your fingers."
  explanation: "One and one make two."
---
Body of {title}.
"""


def write_pack(folder, states, manifest=True):
    """A pack of the given (id, title, actions) states, with or without pack.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    for step, (state_id, title, actions) in enumerate(states):
        (folder / f"{state_id}.md").write_text(
            GOOD_STATE.format(id=state_id, title=title, step=step, actions=actions), encoding="utf-8"
        )
    if manifest:
        names = "\n".join(f"  - {state_id}" for state_id, _, _ in states)
        (folder / "pack.yaml").write_text(
            f"title: Tiny pack\ndataset: fashion_mnist\nstates:\n{names}\n", encoding="utf-8"
        )
    return folder


@pytest.fixture
def tiny_pack(tmp_path):
    return write_pack(
        tmp_path / "tiny",
        [
            ("hello", "Hello there", "[]"),
            ("card", "Look at a card", "[{show_image: {split: valid, index: 6174}}]"),
        ],
    )


def test_the_tiny_pack_loads(tiny_pack):
    pack = load_pack(tiny_pack)
    assert pack.ids == ["hello", "card"]
    assert pack.title == "Tiny pack"
    assert pack.get("card").actions[0].arguments == {"split": "valid", "index": 6174}


def _break(folder, name, text):
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.mark.parametrize(
    ("case", "content"),
    [
        ("bad YAML", "---\nid: card\ntitle: [unclosed\n---\nBody.\n"),
        ("missing id", "---\ntitle: Look at a card\n---\nBody.\n"),
        (
            "choice answer not among the choices",
            """\
            ---
            id: card
            title: Look at a card
            check:
              question: "Which?"
              kind: choice
              answer: "Purple"
              choices: ["Red", "Green", "Blue"]
              hint: "h"
              explanation: "e"
            ---
            Body.
            """,
        ),
        ("no front matter", "Just a body.\n"),
        (
            "unknown check kind",
            "---\nid: card\ntitle: T\ncheck: {question: q, kind: essay, answer: a, hint: h, "
            "explanation: e}\n---\nB\n",
        ),
        ("id differs from the file name", "---\nid: carrd\ntitle: T\n---\nB\n"),
    ],
)
def test_a_malformed_lesson_names_its_file(tiny_pack, case, content):
    _break(tiny_pack, "card.md", content)
    with pytest.raises(LessonError, match=r"card\.md"):
        load_pack(tiny_pack)
    with pytest.raises(LessonError):
        Tutor(tiny_pack)


def test_pack_yaml_naming_a_missing_file(tiny_pack):
    (tiny_pack / "pack.yaml").write_text("title: Tiny\nstates: [hello, ghost, card]\n", encoding="utf-8")
    with pytest.raises(LessonError, match=r"pack\.yaml.*ghost\.md"):
        load_pack(tiny_pack)


def test_a_missing_folder_is_a_lesson_error(tmp_path):
    with pytest.raises(LessonError, match="does not exist"):
        load_pack(tmp_path / "nowhere")


# ----- a new lesson without Python ------------------------------------------------------------


def test_a_tiny_pack_can_be_walked(tiny_pack, dataset):
    tiny = Tutor(tiny_pack)
    learner = tiny.new_session()
    first = tiny.respond(learner, "next")
    assert first.state == "hello"
    assert "Step 1 of 2: Hello there" in first.text
    assert "What is one plus one?" in first.text
    assert [option.message for option in first.options] == ["next", "check"]

    right = tiny.respond(learner, "2")
    assert "Correct" in right.text
    assert learner.checks_passed == {"hello": True}

    second = tiny.respond(learner, "next")
    assert second.state == "card"
    label = int(dataset.valid_labels[6174])
    assert f"label {label}, **{CLASS_NAMES[label]}**" in second.text
    assert len(second.figures) == 1
    assert "6174" in second.figures[0].alt

    assert tiny.respond(learner, "go to hello there").state == "hello"
    assert tiny.respond(learner, "go to card").state == "card"
    assert tiny.respond(learner, "back").state == "hello"
    assert [row["id"] for row in tiny.lesson_map(learner)] == ["hello", "card"]
    assert all(row["visited"] for row in tiny.lesson_map(learner))


def test_a_pack_without_a_manifest_is_ordered_by_step(tmp_path):
    folder = write_pack(
        tmp_path / "loose", [("zeta", "Zeta", "[]"), ("alpha", "Alpha", "[]")], manifest=False
    )
    shutil.copy(DEFAULT_PACK / "README.md", folder / "README.md")  # ignored, not a lesson
    assert load_pack(folder).ids == ["zeta", "alpha"]

