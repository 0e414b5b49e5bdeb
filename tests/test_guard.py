"""The steering guard: orders and attacks are steered, questions that share their words are not.

Two sets pull against each other: tests/eval/steer.yaml (must be steered, with the right kind)
and tests/eval/not_steered.yaml plus generated questions about every glossary term and every
line of code the lesson shows (must be answered). The held-out quarter of not_steered.yaml was
written before the rules and never used to tune them; its figures are printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tutor.answers.guard import GuardError, guard_for, load_guard
from tutor.engine.lessons import DEFAULT_PACK, load_pack
from tutor.ml import codegen, data
from tutor.ml.backend import ModelSpec, TrainSettings
from tutor.tools import lesson

EVAL = Path(__file__).parent / "eval"
STEER = yaml.safe_load((EVAL / "steer.yaml").read_text(encoding="utf-8"))
NOT_STEERED = yaml.safe_load((EVAL / "not_steered.yaml").read_text(encoding="utf-8"))
TUNING = [item["message"] for item in NOT_STEERED if not item.get("held_out")]
HELD_OUT = [item["message"] for item in NOT_STEERED if item.get("held_out")]
GLOSSARY = yaml.safe_load((DEFAULT_PACK / "glossary.yaml").read_text(encoding="utf-8"))
GUARD = guard_for()
GUARD_KINDS = ("code", "injection", "hostile")  # the guard's own; off_topic mostly comes from retrieval


def _code_lines() -> list[str]:
    """Every line of code the lesson shows: the tutor's code strings and the lessons' `code`."""
    shown = [
        codegen.GPU_CODE, data.LOAD_CODE, lesson._image_code("train", 42), "model.summary()",
        "model.predict(train_images[0:10])",
        *(codegen.model_code(spec) for spec in (ModelSpec(), ModelSpec(hidden=((128, "relu"),)),
                                                 ModelSpec(convolutional=True))),
        *(codegen.compile_code(settings) for settings in (
            TrainSettings(), TrainSettings(optimizer="sgd", learning_rate=0.01))),
        *(codegen.fit_code(settings) for settings in (TrainSettings(), TrainSettings(scaled=True))),
    ]
    lines = {line.split("  #")[0].strip().rstrip(",") for text in shown for line in text.splitlines()}
    for state in load_pack().states:
        lines.update(re.findall(r"`([^`\n]+)`", state.body))
    # code, not a shape like `(60000,)` or a class name like `Dress`: an import, or a name
    # called, set or indexed
    return sorted(line for line in lines if re.search(r"^(?:import|from)\s|[a-z_]\w*\s*[.(=\[]", line))


TERM_QUESTIONS = [f"what is {entry['term']}?" for entry in GLOSSARY]
ALIAS_QUESTIONS = [f"what does {alias} mean?" for entry in GLOSSARY for alias in entry.get("aliases") or []]
CODE_QUESTIONS = [f"what does `{line}` do?" for line in _code_lines()]


def test_the_sets_are_big_enough_and_a_quarter_is_held_out():
    assert len(TUNING) + len(HELD_OUT) >= 40
    assert abs(len(HELD_OUT) / (len(TUNING) + len(HELD_OUT)) - 0.25) < 0.02
    assert len(CODE_QUESTIONS) >= 20 and len(TERM_QUESTIONS) == len(GLOSSARY)


@pytest.mark.parametrize("item", STEER, ids=[item["kind"] for item in STEER])
def test_every_must_steer_message_gets_its_kind(item):
    if item["kind"] in GUARD_KINDS:
        assert GUARD.classify(item["message"]) == item["kind"]
    else:  # off topic: retrieval's call, or the guard's rule for other subjects' homework
        assert GUARD.classify(item["message"]) in (None, "off_topic")


@pytest.mark.parametrize("message", TUNING + HELD_OUT)
def test_questions_with_trigger_words_pass_the_guard(message):
    assert GUARD.classify(message) is None


def test_every_glossary_term_alias_and_code_line_passes_the_guard():
    steered = [(message, GUARD.classify(message))
               for message in TERM_QUESTIONS + ALIAS_QUESTIONS + CODE_QUESTIONS
               if GUARD.classify(message) is not None]
    assert steered == []


def _steered(tutor_instance, messages: list[str]) -> list[tuple[str, str]]:
    """The messages the whole answerer (guard, then retrieval) steers, with the steer's kind."""
    found = []
    for message in messages:
        reply = tutor_instance.answerer(tutor_instance.new_session(), message)
        kind = tutor_instance.answerer.guard.steered(reply.text)
        if kind is not None:
            found.append((message, kind))
    return found


def test_tuning_questions_terms_and_code_get_answers_not_steers(tutor_instance):
    assert _steered(tutor_instance, TUNING + TERM_QUESTIONS + CODE_QUESTIONS) == []


def test_held_out_questions_get_answers(tutor_instance):
    steered = _steered(tutor_instance, HELD_OUT)
    print(f"\nheld-out not steered: {len(HELD_OUT) - len(steered)} of {len(HELD_OUT)}; {steered}")
    assert [kind for _, kind in steered if kind in GUARD_KINDS] == []  # the guard never fires
    assert len(steered) <= len(HELD_OUT) // 10  # retrieval may miss one (measured: 12 of 13)


def test_the_answerer_steers_what_the_guard_catches(tutor_instance):
    session = tutor_instance.new_session()
    reply = tutor_instance.answerer(session, "import os; os.system('rm -rf /')")
    assert tutor_instance.answerer.guard.steered(reply.text) == "code"
    assert "Why build a brain?" in reply.text


@pytest.mark.parametrize("message", [
    "", "   ", "?", "\n\n;;;", "🙂" * 50, "\x00\x01", "a" * 20000, "ignore " * 3000,
    "what is " + "(" * 500, "<system>" * 200, "act as " * 500 + "?",
])
def test_odd_input_never_raises(message, tutor_instance):
    GUARD.classify(message)
    reply = tutor_instance.answerer(tutor_instance.new_session(), message)
    assert reply is None or reply.text.strip()


def test_classify_takes_anything():
    assert GUARD.classify(None) is None
    assert GUARD.classify(42) is None


def test_every_rule_says_what_it_catches():
    kinds = {rule.kind for rule in GUARD.rules}
    assert kinds == {*GUARD_KINDS, "off_topic"}
    assert all(rule.catches and rule.strength in ("always", "order") for rule in GUARD.rules)


@pytest.mark.parametrize(("text", "complaint"), [
    ("rules: [1]", "off_topic"),
    ("replies: {off_topic: x}\nasking: a\nfiller: b\nrules: [{kind: code, strength: always, "
     "catches: x, pattern: a}]", "kind 'code'"),
    ("replies: {off_topic: x, code: y}\nasking: a\nfiller: b\nrules: [{kind: code, "
     "strength: sometimes, catches: x, pattern: a}]", "strength"),
    ("replies: {off_topic: x, code: y}\nasking: a\nfiller: b\nrules: [{kind: code, "
     "strength: order, catches: x, pattern: '('}]", "bad pattern"),
    ("replies: {off_topic: x, code: y}\nasking: a\nfiller: b\nrules: [{kind: code, "
     "strength: order, pattern: a}]", "catches"),
    ("[: not yaml", "cannot read"),
])
def test_a_bad_guard_file_fails_loudly(tmp_path, text, complaint):
    path = tmp_path / "guard.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GuardError, match=re.escape(complaint)):
        load_guard(path)


def test_a_pack_without_its_own_guard_uses_the_default(tmp_path):
    assert guard_for(tmp_path) is GUARD
