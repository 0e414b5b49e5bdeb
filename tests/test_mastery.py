"""Mastery per concept: the BKT update against hand-computed values, the concept map as data,
and the tutor using it through its public API (`Tutor.respond`, `Tutor.mastery`): evidence
from checks, hints, flashcards, reviews and predictions; "what should I review?"; a missed
concept coming back as a review question; the side panel's mastery map."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tutor.engine import mastery
from tutor.engine.coaching import PREDICTION_ANSWER
from tutor.engine.commands import COMMANDS
from tutor.engine.lessons import Check, LessonError, LessonPack, load_pack
from tutor.session import Run
from tutor.storage.records import session_from_record, session_to_record

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
PACK = load_pack(LESSONS)
CONCEPTS = mastery.load_concepts(PACK)
RAW = yaml.safe_load((LESSONS / "concepts.yaml").read_text(encoding="utf-8"))
GLOSSARY = {entry["term"] for entry in yaml.safe_load((LESSONS / "glossary.yaml").read_text("utf-8"))}


# ----- the update, by hand ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "correct", "slip", "guess", "expected"),
    [
        # 0.3 x 0.9 / (0.27 + 0.7 x 0.25) = 0.606742; + 0.1 x (1 - 0.606742) = 0.646067
        (0.3, True, 0.1, 0.25, 0.646067),
        # 0.3 x 0.1 / (0.03 + 0.7 x 0.75) = 0.054054; + 0.1 x 0.945946 = 0.148649
        (0.3, False, 0.1, 0.25, 0.148649),
        # then right: 0.148649 x 0.9 / (0.133784 + 0.851351 x 0.25) = 0.385965; + 0.1 x 0.614035
        (0.148649, True, 0.1, 0.25, 0.447368),
        # a typed number, wrong: 0.03 / (0.03 + 0.7 x 0.8) = 0.050847; + 0.1 x 0.949153 = 0.145763
        (0.3, False, 0.1, 0.2, 0.145763),
        # wrong again after the hint (guess 0.5): 0.014576 / (0.014576 + 0.854237 x 0.5) = 0.033001
        (0.145763, False, 0.1, 0.5, 0.129701),
        # a right flashcard (slip 0.3, guess 0.5): 0.21 / (0.21 + 0.35) = 0.375; + 0.1 x 0.625
        (0.3, True, 0.3, 0.5, 0.4375),
        # a wrong flashcard after it: 0.13125 / (0.13125 + 0.5625 x 0.5) = 0.318182; + 0.068182
        (0.4375, False, 0.3, 0.5, 0.386364),
    ],
)
def test_the_bkt_update_matches_hand_computed_values(p, correct, slip, guess, expected):
    # The first three also match pyBKT 1.4.3's Roster with the same parameters (checked once by
    # hand: 0.6460674, 0.1486486, 0.4473684); pyBKT itself is not a dependency.
    updated = mastery.update(p, correct, slip, guess, mastery.P_LEARN)
    assert updated == pytest.approx(expected, abs=5e-6)  # six decimals, by hand


def test_right_raises_and_wrong_lowers_from_any_estimate():
    for tenth in range(1, 10):
        p = tenth / 10
        assert mastery.update(p, True) > p
        assert mastery.update(p, False) < p or p < 0.15  # very low: learning from feedback wins


def test_guess_depends_on_the_question():
    four = Check("q", "choice", "a", "", "", choices=("a", "b", "c", "d"))
    three = Check("q", "choice", "a", "", "", choices=("a", "b", "c"))
    typed = Check("q", "number", 7850, "", "")
    assert mastery.guess_for(four) == 0.25
    assert mastery.guess_for(three) == pytest.approx(1 / 3)
    assert mastery.guess_for(typed) == mastery.GUESS_TYPED


def test_levels_and_prediction_words():
    assert mastery.level(0.3, 0) == "not seen yet"
    assert mastery.level(0.2, 1) == "needs review"
    assert mastery.level(0.6, 2) == "getting there"
    assert mastery.level(0.9, 3) == "good"
    assert mastery.level(0.96, 4) == "mastered"
    assert mastery.level(0.44, 1, missed=False) == "just started"  # one right flashcard
    assert mastery.outcome(0.78, 0.84) == "higher"
    assert mastery.outcome(0.84, 0.78) == "lower"
    assert mastery.outcome(0.840, 0.845) == "same"
    for text, guess in [("i predict higher", "higher"), ("lower", "lower"), ("about the same", "same"),
                        ("i think it will go up", "higher"), ("it'll be worse", "lower")]:
        match = PREDICTION_ANSWER.match(text)
        assert match and mastery.parse_prediction(match.group("guess")) == guess, text
    for text in ("lower the learning rate", "set batch size to 64", "what is higher?"):
        assert PREDICTION_ANSWER.match(text) is None, text


# ----- the concept map is data ---------------------------------------------------------------


def test_the_concept_map_is_well_formed():
    concepts = CONCEPTS.concepts
    assert 12 <= len(concepts) <= 20
    assert len({concept.name for concept in concepts}) == len(concepts)
    rows = {row.name for row in COMMANDS}
    order = {state_id: number for number, state_id in enumerate(PACK.ids)}
    for concept, raw in zip(concepts, RAW, strict=True):
        assert re.fullmatch(r"[a-z][a-z-]*", concept.id), concept.id
        assert concept.description and len(concept.description) < 160, concept.id
        assert concept.steps, concept.id
        assert set(concept.glossary) <= GLOSSARY, (concept.id, set(concept.glossary) - GLOSSARY)
        assert set(concept.experiments) <= rows, concept.id
        assert 1 <= len(concept.reviews) <= 3, concept.id
        for review in raw["reviews"]:
            assert 3 <= len(review["choices"]) <= 4 and review["answer"] in review["choices"], review
            assert review["explanation"].strip(), review
        for later in concept.revisit:  # a step that builds on it comes after one that teaches it
            assert order[later] > min(order[step] for step in concept.steps), (concept.id, later)
    for state in PACK.states:  # every check gives evidence about at least one concept
        if state.check is not None:
            assert CONCEPTS.for_check(state.id), state.id
    assert CONCEPTS.for_flashcards()


def test_a_concept_naming_an_unknown_step_fails_at_load(tmp_path):
    (tmp_path / "concepts.yaml").write_text(
        "- {id: ghost, name: Ghost, description: Nowhere, steps: [nowhere]}\n", encoding="utf-8")
    pack = LessonPack(PACK.title, PACK.dataset, PACK.states, tmp_path)
    with pytest.raises(LessonError, match="unknown steps nowhere"):
        mastery.load_concepts(pack)


def test_a_pack_without_concepts_keeps_no_estimates(tmp_path):
    pack = LessonPack(PACK.title, PACK.dataset, PACK.states, tmp_path)
    assert mastery.load_concepts(pack).concepts == ()


def test_concepts_are_found_by_name_id_or_glossary_term():
    assert CONCEPTS.find("parameters").id == "parameters"
    assert CONCEPTS.find("the loss").id == "loss"
    assert CONCEPTS.find("relu").id == "hidden-layers"
    assert CONCEPTS.find("softmax").id == "logits-softmax"
    assert CONCEPTS.find("the pod bay doors") is None


# ----- through the API -----------------------------------------------------------------------


def _wrong(tutor, session, state_id):
    """Two wrong answers to a step's check (first try, then after the hint)."""
    check = tutor.pack.get(state_id).check
    tutor.respond(session, f"go to {state_id}")
    if check.kind == "choice":
        wrong = "abcd"[(check.choices.index(check.answer) + 1) % len(check.choices)]
        tutor.respond(session, wrong)
        tutor.respond(session, wrong)
    else:
        tutor.respond(session, str(int(float(check.answer)) + 3))
        tutor.respond(session, str(int(float(check.answer)) + 5))


def _right(tutor, session, state_id):
    check = tutor.pack.get(state_id).check
    tutor.respond(session, f"go to {state_id}")
    answer = "abcd"[check.choices.index(check.answer)] if check.kind == "choice" else str(check.answer)
    return tutor.respond(session, answer)


def _letter(question: Check, right: bool = True) -> str:
    index = question.choices.index(question.answer)
    return "abcd"[index if right else (index + 1) % len(question.choices)]


def _pending_review(tutor, session) -> Check:
    concept_id, number = session.pending_check.removeprefix("review:").rsplit(":", 1)
    return tutor.agent.concepts.get(concept_id).reviews[int(number)]


def test_mastery_covers_every_concept_between_0_and_1(tutor_instance, session):
    estimates = tutor_instance.mastery(session)
    assert list(estimates) == [concept.id for concept in CONCEPTS.concepts]
    assert all(value == mastery.P_INIT for value in estimates.values())


def test_wrong_answers_lower_a_concept_and_right_answers_raise_it(tutor_instance, session):
    tutor = tutor_instance
    _wrong(tutor, session, "summary")
    low = tutor.mastery(session)
    assert low["parameters"] < mastery.P_INIT and low["weighted-sum-bias"] < mastery.P_INIT
    assert low["loss"] == mastery.P_INIT  # untouched
    assert [piece["first_try"] for piece in session.evidence] == [True, False]

    other = tutor.new_session()
    assert _right(tutor, other, "summary").text.startswith("**Correct!**")
    assert tutor.mastery(other)["parameters"] > 0.5
    _right(tutor, other, "hidden-layer")  # a second check about parameters raises it again
    assert tutor.mastery(other)["parameters"] > tutor.mastery(tutor.new_session())["parameters"]
    assert tutor.mastery(other)["parameters"] > 0.8


def test_a_hint_first_counts_as_a_miss_and_a_later_right_answer_counts_less(tutor_instance, session):
    tutor = tutor_instance
    first_try = tutor.new_session()
    _right(tutor, first_try, "loss")
    tutor.respond(session, "go to loss")
    guide = tutor.respond(session, "give me a hint")
    assert "think it through" in guide.text.lower()
    assert session.evidence[-1]["kind"] == "hint" and not session.evidence[-1]["correct"]
    _right(tutor, session, "loss")
    assert 0 < tutor.mastery(session)["loss"] < tutor.mastery(first_try)["loss"]
    assert len(session.evidence) == 2  # hint + the answer after it; later tries add nothing
    tutor.respond(session, "check")
    tutor.respond(session, "a")
    assert len(session.evidence) == 2


def test_flashcard_guesses_are_weak_evidence(tutor_instance, session, dataset):
    tutor = tutor_instance
    tutor.respond(session, "go to flashcards")
    tutor.respond(session, str(int(dataset.train_labels[42])))
    assert tutor.mastery(session)["labels-classes"] == pytest.approx(0.4375, abs=1e-4)
    assert not mastery.needs_review(session, "labels-classes")  # under 0.5, but nothing missed
    tutor.respond(session, str((int(dataset.valid_labels[6174]) + 1) % 10))
    assert tutor.mastery(session)["labels-classes"] == pytest.approx(0.3864, abs=1e-4)
    assert mastery.needs_review(session, "labels-classes")


def test_what_should_i_review_names_the_weakest_concept(tutor_instance, session):
    tutor = tutor_instance
    nothing = tutor.respond(session, "what should i review?")
    assert "nothing to go on" in nothing.text.lower()
    _right(tutor, session, "data")  # training-validation: up
    _wrong(tutor, session, "loss")  # loss: down
    reply = tutor.respond(session, "what should I review?")
    assert reply.text.startswith("Review **Loss** first"), reply.text
    assert reply.options[0].label == "Review: Loss" and reply.options[0].message == "review loss"
    report = tutor.respond(session, "how am I doing?")
    assert report.text.index("| Loss |") < report.text.index("| Training and validation data |")
    assert "Weakest so far: **Loss**" in report.text
    assert report.options[0].message == "review loss"

    question = tutor.respond(session, "review loss")  # the button
    assert "**Review:**" in question.text and session.pending_check.startswith("review:loss:")
    before = tutor.mastery(session)["loss"]
    answer = tutor.respond(session, _letter(_pending_review(tutor, session)))
    assert answer.text.startswith("**Right!**")
    assert tutor.mastery(session)["loss"] > before
    assert session.evidence[-1]["kind"] == "review"


def test_a_missed_concept_comes_back_as_a_review_question_later(tutor_instance, session):
    tutor = tutor_instance
    _wrong(tutor, session, "loss")  # loss is now weak
    assert tutor.mastery(session)["loss"] < mastery.WEAK
    early = tutor.respond(session, "go to scaling")  # builds on loss, but too soon after the miss
    assert "**Review:**" not in early.text and session.pending_check == "scaling"
    for question in ("what is a bias?", "what is an epoch?", "what is a pixel?"):
        tutor.respond(session, question)
    reply = tutor.respond(session, "go to scaling")
    assert reply.state == "scaling"
    assert "look back at **Loss**" in reply.text and "**Review:**" in reply.text
    assert session.pending_check.startswith("review:loss:")
    review = _pending_review(tutor, session)
    assert review.question in reply.text
    letters = list("abcd"[:len(review.choices)])
    assert [option.message for option in reply.options[:len(letters)]] == letters
    before = tutor.mastery(session)["loss"]
    answer = tutor.respond(session, _letter(review))
    assert answer.text.startswith("**Right!**") and "Loss:" in answer.text
    assert tutor.mastery(session)["loss"] > before
    assert session.pending_check == "scaling"  # then the step's own check
    assert tutor.pack.get("scaling").check.question in answer.text
    again = tutor.respond(session, "go to scaling")  # spaced: not the same concept at once
    assert "**Review:**" not in again.text


def test_a_review_can_be_ignored_or_skipped(tutor_instance, session):
    tutor = tutor_instance
    _wrong(tutor, session, "loss")
    for question in ("what is a bias?", "what is an epoch?", "what is a pixel?"):
        tutor.respond(session, question)
    tutor.respond(session, "go to scaling")
    assert session.pending_check.startswith("review:")
    skipped = tutor.respond(session, "skip")
    assert skipped.text.startswith("Skipped. The answer is")
    assert session.evidence[-1]["kind"] == "skip"
    tutor.respond(session, "review loss")
    moved = tutor.respond(session, "next")  # moving on leaves the review behind
    assert moved.state == "hidden-layer" and not str(session.pending_check).startswith("review:")


def test_review_by_name_and_an_unknown_name(tutor_instance, session):
    tutor = tutor_instance
    tutor.respond(session, "go to intro")
    reply = tutor.respond(session, "review relu")
    assert "Hidden layers and ReLU" in reply.text
    assert session.pending_check.startswith("review:hidden-layers:")
    unknown = tutor.respond(session, "review the pod bay doors")
    assert "I don't have review questions" in unknown.text and "`parameters`" in unknown.text


def _fake_run(session, number, accuracy, epochs=5):
    session.runs.append(Run(number=number, model="Flatten → Dense(10)", settings=session.settings,
                            history=[{"val_accuracy": accuracy}] * epochs))


def test_a_prediction_is_asked_before_an_experiment_and_graded_against_the_run(tutor_instance, session):
    tutor = tutor_instance
    tutor.respond(session, "go to experiments")
    assert "Predict before you run" not in tutor.respond(session, "scale the pixels").text  # no run yet
    tutor.respond(session, "use raw pixels")
    _fake_run(session, 1, 0.78)
    reply = tutor.respond(session, "scale the pixels")
    assert "**Predict before you run:**" in reply.text and "run 1 (78.0%)" in reply.text
    assert "84%" not in reply.text  # the tutor's own expectation waits until after the run
    assert [option.label for option in reply.options[:3]] == ["Higher", "Lower", "About the same"]
    assert session.pending_prediction["concept"] == "scaling"
    noted = tutor.respond(session, reply.options[0].message)
    assert "**higher**" in noted.text and session.pending_prediction["guess"] == "higher"

    _fake_run(session, 2, 0.84)  # the run finishes (as a training turn would record it)
    graded = tutor.respond(session, "how am i doing?")
    assert "**Your prediction:** higher" in graded.text and "Well predicted" in graded.text
    assert "84%" in graded.text  # now the expectation
    assert session.pending_prediction is None
    assert session.evidence[-1]["kind"] == "prediction" and session.evidence[-1]["correct"]
    assert tutor.mastery(session)["scaling"] > mastery.P_INIT

    tutor.respond(session, "use raw pixels")
    tutor.respond(session, "I predict about the same")
    _fake_run(session, 3, 0.80)
    wrong = tutor.respond(session, "what should i review?")
    assert "Not what you expected" in wrong.text
    assert not session.evidence[-1]["correct"]


def test_a_real_training_settles_the_prediction_in_the_same_turn(tutor_instance, session):
    from tutor.ml.backend import TrainSettings
    from tutor.tools import training

    tutor = tutor_instance
    session.settings = TrainSettings(train_slice=500)
    tutor.respond(session, "go to experiments")
    tutor.respond(session, "train for 1 epoch")
    assert training.wait_for_training(session, timeout=300) and len(session.runs) == 1
    assert "Predict before you run" in tutor.respond(session, "scale the pixels").text
    tutor.respond(session, "I predict higher")
    reply = tutor.respond(session, "train for 1 epoch")
    assert training.wait_for_training(session, timeout=300)
    assert "Training finished" in reply.text and "**Your prediction:** higher. Run 2" in reply.text
    assert session.evidence[-1]["kind"] == "prediction" and session.pending_prediction is None


def test_an_ignored_prediction_blocks_nothing(tutor_instance, session):
    tutor = tutor_instance
    tutor.respond(session, "go to experiments")
    _fake_run(session, 1, 0.78)
    tutor.respond(session, "add a hidden layer")
    assert session.pending_prediction is not None
    evidence = len(session.evidence)
    _fake_run(session, 2, 0.86)
    reply = tutor.respond(session, "compare runs")
    assert "What I expected" in reply.text and "86-88%" in reply.text
    assert len(session.evidence) == evidence and session.pending_prediction is None


def test_mastery_and_a_pending_review_are_saved_with_progress(tutor_instance, session):
    tutor = tutor_instance
    _wrong(tutor, session, "loss")
    tutor.respond(session, "review loss")
    restored = session_from_record(session_to_record(session))
    assert restored.mastery == session.mastery and restored.evidence == session.evidence
    assert restored.pending_check == session.pending_check
    assert tutor.mastery(restored) == tutor.mastery(session)
    question = _pending_review(tutor, restored)
    assert tutor.respond(restored, _letter(question)).text.startswith("**Right!**")


def test_the_side_panel_shows_a_mastery_map_with_a_text_alternative(tutor_instance, session):
    from tutor.web.panel import mastery_map_html

    empty = mastery_map_html(tutor_instance, None)
    assert empty.count("<tr ") == len(CONCEPTS.concepts) and "none met yet" in empty
    _wrong(tutor_instance, session, "loss")
    page = mastery_map_html(tutor_instance, session)
    assert 'data-concept="loss"' in page and "needs review" in page
    assert "to review: Loss (" in page  # the summary sentence says it in words
    assert page.count('aria-hidden="true"') == len(CONCEPTS.concepts)  # bars are decoration only
