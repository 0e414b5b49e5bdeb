"""Loss against validation loss: val_loss has its own glossary entry (no longer an alias of
loss) and a curated comparison, both tied to the learner's own last epoch once they trained.
"""

from __future__ import annotations

import re

import pytest

from tutor.answers.comparisons import _own_losses, load_comparisons
from tutor.answers.knowledge import shared_knowledge
from tutor.engine.lessons import load_pack
from tutor.ml.backend import TrainSettings
from tutor.session import Session


def say(tutor, session, message):
    if not session.state_id:
        tutor.start(session)
    return tutor.respond(session, message)


def first_sentence(text: str) -> str:
    body = re.sub(r"^\*\*[^*]{1,60}\*\*\s*", "", text.strip())  # "**Loss vs Validation loss.** ..."
    return re.split(r"(?<=[.!?])\s+", body, maxsplit=1)[0]


def test_val_loss_is_its_own_entry_with_every_follow_up_field():
    pack = load_pack()
    knowledge = shared_knowledge(pack, "bm25")
    for said in ("val_loss", "val loss", "validation loss"):
        named = knowledge.named(f"what is {said}")
        assert [passage.title for passage in named] == ["validation loss"], said
    entry = next(p for p in knowledge.passages if p.kind == "glossary" and p.title == "validation loss")
    assert all((entry.short, entry.long, entry.simple, entry.why, entry.example))
    loss = next(p for p in knowledge.passages if p.kind == "glossary" and p.title == "loss")
    assert "val_loss" not in loss.names and "validation loss" not in loss.names
    assert frozenset({"loss", "validation loss"}) in load_comparisons(pack.folder)


@pytest.mark.parametrize("question", [
    "loss vs val loss", "what's the difference between loss and validation loss?",
    "why is val_loss higher than loss?", "is val loss the same thing as the loss?",
])
def test_a_question_about_both_contrasts_both(tutor_instance, session, question):
    reply = say(tutor_instance, session, question)
    opening = reply.text.split("\n\n")[0].lower()
    if opening.startswith("no,"):  # "the same?": no first, then the contrast
        opening = reply.text.split("\n\n")[1].lower()
    assert "training images" in opening and "validation images" in opening, reply.text[:300]
    assert not reply.steered


def test_after_training_the_contrast_uses_the_learners_last_epoch(tutor_instance, session):
    session.settings = TrainSettings(train_slice=1000)
    say(tutor_instance, session, "train for 1 epoch")
    last = session.history[-1]
    reply = say(tutor_instance, session, "what's the difference between loss and val loss")
    assert f"{last['loss']:.2f}" in reply.text and f"{last['val_loss']:.2f}" in reply.text
    entry = say(tutor_instance, session, "what does val_loss mean?")
    assert f"{last['val_loss']:.2f}" in entry.text  # the entry, then their own figures
    mine = say(tutor_instance, session, "what's my val loss?")
    assert f"{last['val_loss']:.1f}" in first_sentence(mine.text)
    assert "validation loss" in first_sentence(mine.text).lower()


@pytest.mark.parametrize(("loss", "val_loss", "says"), [
    (0.40, 0.55, "higher"), (16.9, 11.2, "lower"), (0.50, 0.51, "about the same"),
])
def test_the_own_figures_say_which_way_the_gap_goes(loss, val_loss, says):
    session = Session()
    session.history = [{"loss": loss, "val_loss": val_loss, "accuracy": 0.8, "val_accuracy": 0.8}]
    text = _own_losses(session)
    assert f"{loss:.2f}" in text and f"{val_loss:.2f}" in text and says in text
