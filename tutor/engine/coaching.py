"""The agent's coaching: evidence from every answer, review questions, "what should I review?",
"how am I doing?", and "predict before you run".

`Coaching` is a mixin of the Agent. It feeds the learner's answers to the mastery model
(`tutor.engine.mastery`), brings a weak concept back as one short review question when a later
step builds on it, answers from the estimates when asked, and before an experiment asks what
the learner expects, then grades that guess against the next run. None of it blocks the
lesson: a review or a prediction may be ignored, and "next" always moves on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tutor.engine import checks, mastery
from tutor.engine.lessons import Check, LessonPack, LessonState
from tutor.engine.mastery import Concept, ConceptMap
from tutor.reply import Option, Reply
from tutor.session import Session
from tutor.words import words_to_digits

REVIEW = "review:"  # `session.pending_check` of a review question: "review:<concept id>:<number>"
PREDICTION_ANSWER = re.compile(
    r"^(?:i (?:predict|think|guess|bet|expect|say)(?: that)?(?: it(?:'ll| will)(?: be| go)?)?|"
    r"it(?:'ll| will)(?: be| go)?|probably|maybe|my prediction is|prediction)?[ :]*"
    r"(?:a (?:bit|little) |slightly |much |a lot )?"
    r"(?P<guess>higher|lower|up|down|better|worse|(?:about |roughly |more or less )?the same|same|no change)"
    r"(?: accuracy)?$")


def is_review(pending: str | None) -> bool:
    return bool(pending) and str(pending).startswith(REVIEW)


class Coaching:
    """Mastery-aware teaching for the Agent (a mixin: it relies on the agent's `options_for`)."""

    pack: LessonPack
    concepts: ConceptMap

    # ----- evidence from the lesson's own questions ------------------------------------------
    def note_check(self, session: Session, state_id: str, correct: bool, attempts: int,
                   passed_before: bool) -> None:
        """A check answer: the first try, or the try after the hint; later ones repeat an
        answer already shown, and a check passed before gives no new evidence."""
        item = f"check:{state_id}"
        earlier = mastery.observations(session, item)
        check = self.pack.get(state_id).check
        if passed_before or attempts > 2 or earlier >= 2 or check is None:
            return
        after_hint = attempts > 1 or earlier > 0
        guess = mastery.GUESS_AFTER_HINT if after_hint else mastery.guess_for(check)
        mastery.observe(session, self.concepts.for_check(state_id), correct, "check", item,
                        guess=guess, first_try=not after_hint)

    def note_help(self, session: Session, state_id: str, kind: str) -> None:
        """A hint or the answer asked for before any try: counted as a wrong first answer (in
        knowledge tracing only a right first answer without help counts as right)."""
        item = f"check:{state_id}"
        check = self.pack.get(state_id).check
        if check is None or session.check_attempts.get(state_id, 0) or mastery.observations(session, item):
            return
        mastery.observe(session, self.concepts.for_check(state_id), False, kind, item,
                        guess=mastery.guess_for(check))

    def note_card(self, session: Session, answer: dict[str, Any]) -> None:
        """A flashcard guess: weak evidence about the concepts flashcards are tied to."""
        item = f"card:{answer.get('split')}:{answer.get('index')}"
        if mastery.observations(session, item):
            return
        mastery.observe(session, self.concepts.for_flashcards(), bool(answer.get("correct")), "flashcard",
                        item, slip=mastery.CARD_SLIP, guess=mastery.CARD_GUESS)

    # ----- review questions -------------------------------------------------------------------
    def review_on_entry(self, session: Session, state: LessonState) -> Reply | None:
        """One review question when this step builds on a concept the learner is weak in."""
        concept = mastery.due_review(self.concepts, session, state.id)
        if concept is None:
            return None
        return self.ask_review(session, concept, lead=f"Before the check, a quick look back at "
                               f"**{concept.name}**, which this step builds on and which gave you "
                               "trouble earlier.")

    def ask_review(self, session: Session, concept: Concept, lead: str) -> Reply:
        number, question = mastery.next_review(session, concept)
        session.pending_check = f"{REVIEW}{concept.id}:{number}"
        text = (f"{lead}\n\n" + checks.format_question(question).replace("**Quick check:**", "**Review:**")
                + "\n\n*Answer here, or just move on.*")
        return Reply(text=text, kind="check", state=session.state_id, options=self.options_for(session))

    def pending_question(self, session: Session) -> Check | None:
        """The question waiting for an answer: the step's check or a review question."""
        pending = session.pending_check
        if not pending:
            return None
        if is_review(pending):
            found = self._review_of(pending)
            return found[1] if found else None
        try:
            return self.pack.get(pending).check
        except KeyError:
            return None

    def _review_of(self, pending: str) -> tuple[Concept, Check] | None:
        concept_id, _, number = pending[len(REVIEW):].rpartition(":")
        concept = self.concepts.get(concept_id)
        if concept is None or not number.isdigit() or int(number) >= len(concept.reviews):
            return None
        return concept, concept.reviews[int(number)]

    def grade_review(self, session: Session, message: str) -> Reply | None:
        """Grade the answer to a review question (one try); None when it is no answer."""
        found = self._review_of(session.pending_check or "")
        if found is None:
            session.pending_check = None
            return None
        concept, question = found
        verdict = checks.grade(question, words_to_digits(message))
        if verdict is None:
            return None
        return self._review_done(session, concept, question, verdict, skipped=False)

    def skip_review(self, session: Session) -> Reply:
        found = self._review_of(session.pending_check or "")
        if found is None:
            session.pending_check = None
            return Reply(text="Skipped.", kind="check")
        return self._review_done(session, *found, verdict=False, skipped=True)

    def _review_done(self, session: Session, concept: Concept, question: Check, verdict: bool,
                     skipped: bool) -> Reply:
        item = session.pending_check or f"{REVIEW}{concept.id}"
        session.pending_check = None
        before = mastery.probability(session, concept.id)
        mastery.observe(session, [concept], verdict, "skip" if skipped else "review", item,
                        guess=mastery.guess_for(question))
        after = mastery.probability(session, concept.id)
        if verdict:
            text = f"**Right!** {question.explanation}"
        else:
            lead = "Skipped." if skipped else "Not quite."
            text = f"{lead} The answer is **{question.answer}**. {question.explanation}"
        text += (f"\n\n*{concept.name}: {before:.0%} → {after:.0%} "
                 f"({mastery.level_of(session, concept.id)}).*")
        reply = Reply(text=text, kind="check")
        state = self.pack.get(session.state_id) if session.state_id else None
        if state is not None and state.check is not None and session.pending_card is None \
                and not session.check_attempts.get(state.id):
            session.pending_check = state.id  # now the step's own check, as on entering it
            reply.text += "\n\n" + checks.format_question(state.check)
        options = self.options_for(session)
        if not verdict and concept.glossary:
            term = concept.glossary[0]
            options = [Option(f"Explain {term}", f"what is {term}?"), *options]
        reply.options = options
        return reply

    # ----- "what should I review?" and "how am I doing?" -------------------------------------
    def review_command(self, session: Session, values: dict[str, str]) -> Reply:
        """`review` (the weakest concept, with a button) or `review <concept>` (its question)."""
        wanted = (values.get("concept") or "").strip()
        if wanted and wanted not in ("it", "this", "that", "something", "next"):
            concept = self.concepts.find(wanted)
            if concept is None or not concept.reviews:
                names = ", ".join(f"`{concept.id}`" for concept in self.concepts.concepts)
                return Reply(text=f"I don't have review questions on '{wanted[:60]}'. The ideas I "
                             f"keep track of: {names}.", kind="help")
            return self.ask_review(session, concept, lead=f"A question on **{concept.name}**: "
                                   f"{concept.description}")
        return self.what_to_review(session)

    def what_to_review(self, session: Session) -> Reply:
        weakest = mastery.ranked(self.concepts, session)
        if not weakest:
            return Reply(text="I have nothing to go on yet: I learn what you know from your answers "
                         "to the quick checks, flashcards and review questions. Answer a check or two "
                         "and ask me again.", kind="help", options=self._with_check(session))
        first = weakest[0]
        p = mastery.probability(session, first.id)
        others = ", ".join(f"{concept.name} ({mastery.probability(session, concept.id):.0%})"
                           for concept in weakest[1:3]
                           if mastery.probability(session, concept.id) < mastery.MASTERED)
        if p >= 0.8:
            text = (f"Nothing needs a review: everything you have answered looks solid. The least "
                    f"sure is **{first.name}** ({p:.0%}), if you want a question anyway.")
        else:
            text = (f"Review **{first.name}** first: my estimate that you have it is {p:.0%} "
                    f"({mastery.level_of(session, first.id)}). {first.description}")
            if others:
                text += f"\n\nAfter that: {others}."
        options = [Option(f"Review: {first.name}", f"review {first.id}")]
        if len(weakest) > 1 and mastery.probability(session, weakest[1].id) < 0.8:
            options.append(Option(f"Review: {weakest[1].name}", f"review {weakest[1].id}"))
        return Reply(text=text, kind="help", options=options + self.options_for(session))

    def progress_report(self, session: Session) -> Reply:
        """A short per-concept summary, weakest first, from the estimates."""
        weakest = mastery.ranked(self.concepts, session)
        if not weakest:
            return self.what_to_review(session)
        right = sum(1 for piece in session.evidence if piece.get("correct"))
        solid = [concept for concept in weakest if mastery.probability(session, concept.id) >= 0.8]
        shaky = [concept for concept in weakest if mastery.needs_review(session, concept.id)]
        lines = [f"From your {len(session.evidence)} answer(s) so far ({right} right), here is how "
                 f"sure I am of each idea you have met: {len(solid)} look solid, {len(shaky)} need "
                 "a review.", "", "| idea | my estimate | level |", "|---|---|---|"]
        for concept in weakest:
            p = mastery.probability(session, concept.id)
            lines.append(f"| {concept.name} | {p:.0%} | {mastery.level_of(session, concept.id)} |")
        unseen = [concept.name for concept in self.concepts.concepts if not mastery.seen(session, concept.id)]
        if unseen:
            later = (", ".join(unseen) if len(unseen) <= 4 else
                     f"{len(unseen)} ideas, from {unseen[0]} to {unseen[-1]}")
            lines += ["", f"Not met yet: {later}."]
        first = weakest[0]
        lines += ["", f"Weakest so far: **{first.name}**. Press the button for a question on it."]
        button = Option(f"Review: {first.name}", f"review {first.id}")
        return Reply(text="\n".join(lines), kind="help", options=[button, *self.options_for(session)])

    def _with_check(self, session: Session) -> list[Option]:
        options = self.options_for(session)
        state = self.pack.get(session.state_id) if session.state_id else None
        if state is not None and state.check is not None and all(o.message != "check" for o in options):
            options = [Option("Quick check", "check"), *options]
        return options

    # ----- "predict before you run" ----------------------------------------------------------
    def ask_prediction(self, session: Session, command: str, reply: Reply, expectations: list[str],
                       runs_before: int) -> None:
        """After a change of settings, ask what the learner expects (with buttons); the tutor's
        own expectation is kept back until the run is done. Needs an earlier run to compare."""
        concept = self.concepts.for_experiment(command)
        session.pending_prediction = None
        if concept is None or not session.runs or len(session.runs) != runs_before:
            return
        last = session.runs[-1]
        baseline = last.final_val_accuracy
        if baseline is None or last.diverged or last.stopped:
            return
        expected = " ".join(expectations).strip()
        if expected and expected in reply.text:
            reply.text = reply.text.replace(expected, "").replace("  ", " ")
        change = concept.experiments[command]
        session.pending_prediction = {
            "command": command, "concept": concept.id, "change": change, "baseline": float(baseline),
            "baseline_run": last.number, "baseline_epochs": len(last.history), "runs": len(session.runs),
            "guess": None,
            "expected": expected, "turn": mastery.turn_of(session),
        }
        reply.text += (f"\n\n**Predict before you run:** compared with run {last.number} "
                       f"({baseline:.1%}), will {change} make the validation accuracy go higher, "
                       "lower, or stay about the same (within 1 point)? Pick one, then train. "
                       "(Or just train: I'll tell you what I expected afterwards.)")
        reply.options = [Option("Higher", "I predict higher"), Option("Lower", "I predict lower"),
                         Option("About the same", "I predict about the same"), *self.options_for(session)]

    def take_prediction(self, session: Session, text: str) -> Reply | None:
        """The learner's guess for a pending prediction; None when the message is no guess."""
        pending = session.pending_prediction
        if not pending or pending.get("guess") is not None:
            return None
        match = PREDICTION_ANSWER.match(text.strip(" .!"))
        if match is None:
            return None
        guess = mastery.parse_prediction(match.group("guess"))
        if guess is None:
            return None
        pending["guess"] = guess
        epochs = "1 epoch" if pending.get("command") == "cnn" else "5 epochs"
        return Reply(text=f"Noted: you expect the validation accuracy to be "
                     f"**{mastery.PREDICTIONS[guess]}** after {pending['change']}. Now train, and we "
                     "will see.", kind="help",
                     options=[Option(f"Train {epochs}", f"train for {epochs}"), *self.options_for(session)])

    def settle_prediction(self, session: Session) -> Iterator[Reply]:
        """Once the run after a prediction is done: grade the guess against it."""
        pending = session.pending_prediction
        if not isinstance(pending, dict) or session.is_training:
            return
        if len(session.runs) <= int(pending.get("runs", 0)):
            return
        session.pending_prediction = None
        run = session.runs[int(pending["runs"])]
        expected = pending.get("expected") or ""
        seen = f" What I expected: {expected}" if expected else ""
        accuracy = run.final_val_accuracy
        if run.stopped or (accuracy is None and not run.diverged):
            if seen:
                yield Reply(text=f"That run stopped early, so it settles no prediction.{seen}",
                            kind="training")
            return
        guess = pending.get("guess")
        baseline = float(pending["baseline"])
        result = "lower" if run.diverged else mastery.outcome(baseline, float(accuracy))
        if guess is None:
            if seen:
                yield Reply(text=seen.strip(), kind="training")
            return
        correct = guess == result
        concept = self.concepts.get(str(pending.get("concept")))
        about = [concept] if concept else []
        mastery.observe(session, about, correct, "prediction", f"prediction:{run.number}",
                        slip=mastery.PREDICTION_SLIP, guess=mastery.PREDICTION_GUESS)
        reached = "failed (the loss became NaN)" if run.diverged else f"reached {accuracy:.1%}"
        text = (f"**Your prediction:** {mastery.PREDICTIONS[guess]}. Run {run.number} {reached}, "
                f"against {baseline:.1%} for run {pending['baseline_run']}: "
                f"{mastery.PREDICTIONS[result]}. ")
        epochs = int(pending.get("baseline_epochs") or 0)
        if epochs and len(run.history) != epochs and not run.diverged:
            text += (f"(Run {run.number} trained {len(run.history)} epoch(s) and run "
                     f"{pending['baseline_run']} {epochs}, so part of the gap is the training time.) ")
        text += ("Well predicted!" if correct else "Not what you expected, and that is where the "
                 "learning is. Two runs can differ by a point or two by luck, so a second run is "
                 "worth it when the gap is small.")
        yield Reply(text=text + seen, kind="training")
