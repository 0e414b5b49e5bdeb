"""The agent's meaning layer: acting on what a learner asks in their own words.

A message no exact command takes is read by `tutor.engine.intents` (which command it sounds
like, and whether it asks to do or to explain) and `tutor.engine.slots` (its values). A clear
request is spelled out as the exact command ("put the batch size at 128" -> `set batch size
to 128`) and run, with a line that says what was done, so learners also learn the short form.
A question that sounds like a command is answered, with the command as a button; a bare
"a cnn?" gets both readings as buttons. Nothing is acted on that the guard would steer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

from tutor.engine import checks
from tutor.engine.bare import bare_value, opposite
from tutor.engine.commands import COMMANDS, Command, parse_command
from tutor.engine.fillers import INTERJECTIONS, strip_leading
from tutor.engine.followups import read_follow_up
from tutor.engine.intents import COMPARES, IntentReader, Reading, Understanding, message_form
from tutor.engine.lessons import LessonPack
from tutor.engine.slots import Slots, read_slots
from tutor.engine.spelling import correct_request
from tutor.engine.values import names_its_value, slot_value
from tutor.reply import Option, Reply
from tutor.session import Session

ROWS: dict[str, Command] = {}
for _row in COMMANDS:
    ROWS.setdefault(_row.name, _row)
NO_BUTTON = {"next", "back", "help", "goto", "restart", "stop", "skip", "check", "another_card"}
ASKS_FOR_ANSWER = re.compile(
    r"\b(?:what(?:'s| is) the (?:right |correct )?answer|tell me the answer|give me the answer|"
    r"(?:a )?hint|help me(?: with (?:this|it))?|i'?m stuck|i don'?t know|no idea|dunno|not sure|"
    r"which (?:one )?is (?:it|right|correct))\b")
QUESTION_WORDS = re.compile(r"\b(?:why|how|what|which|whether|if|when|because|does|did|is|are|am|was|were)\b")
ABOUT_DATA = re.compile(r"\b(?:my|mine|am i|our)\b|\b(?:image|picture|pic|img|sample)\s*#?\s*\d")
HOW_TO = re.compile(r"^(?:so )?how (?:do|can|would|should|could) (?:i|we|you)\b")
ANOTHER = re.compile(r"^(?:and |now |then |ok |okay )*(?:another|1 more|one more|again|same again)"
                     r"(?: one| 1| time| layer)?"
                     r"(?: (?:with|of|at|for|but with))? (?:\d)")
SAME_THING = re.compile(r"\b(?:it|that|them)\b.*\b(?:back )?(?:up|down)\b|"
                        r"\b(?:\d+x|\d+ times) (?:bigger|smaller|higher|lower|larger)\b|"
                        r"^(?:even |a bit |a little )?(?:bigger|smaller|higher|lower)(?: still| again)?$")
AND_VALUE = re.compile(r"^(?:and|what about|how about|now|then|ok|same for)\b.*\d")
NOT_ANSWERS = re.compile(r"\b(?:don'?t|dont|do not) (?:get|understand)|\bconfus|\bi'?m lost\b|\bstupid\b|"
                         r"\bhomework\b|\bexplain\b|\btell me\b")
NAVIGATE = re.compile(r"\b(?:skip|jump|go|take me|bring me|move|head|hop|return|get me|fast forward|"
                      r"rewind|open|navigate|back)\b(?: \w+){0,2} (?:to|into)\b")
CONFIRM = {"restart": "Start the whole lesson over? That clears your model and runs. Or did you mean the "
           "first step, with everything kept?"}
# a value the message names that a command uses: that command is more likely the one meant
SLOT_OF_ROW = {
    "optimizer": lambda slots, text: slots.optimizer is not None,
    "use_run": lambda slots, text: slots.run is not None,
    "show_image": lambda slots, text: slots.image is not None,
    "predict": lambda slots, text: slots.image is not None,
    "add_hidden": lambda slots, text: slots.units is not None,
    "rate": lambda slots, text: bool(re.search(r"\b(?:learning rate|lr|step size)\b", text)),
    "batch": lambda slots, text: "batch" in text,
    "train": lambda slots, text: slots.epochs is not None,
    "goto": lambda slots, text: slots.step is not None,
}
SLOT_BONUS = 0.06
# commands that only show the learner's own results: a question about those results that
# sounds like one ("how do my runs stack up?") is best answered by running it. Not
# `you_vs_model`: "did I beat my model?" is answered with the verdict first (tutor.answers.versus)
SHOWS = {"compare", "weights", "confusion", "mistakes", "curves", "summary", "filters", "progress", "review"}
OWN_RESULTS = re.compile(r"^(?:which|what|where|who|how (?:do|does|did|well|good))\b"  # asks to see,
                         r".*\b(?:my|our|mine|it|its|the model|the network|the neurons)\b")  # not "can i"
DEFINITION = re.compile(r"^(?:what(?:'s| is| are)|whats) (?:a|an|the)?\b|\b(?:mean|means|meaning|define|"
                        r"explain|why|should|how (?:do|does|can|would) (?:i|we|you) (?:read|use))\b")
# rows that only a word of their own makes likely: "train it again with the same settings" is a
# fresh start, not a replay from the same seed; without the word, the row is not a reading
NEEDS = {
    "same_start": re.compile(r"\b(?:seed|exact(?:ly)?|identical|reproduc\w*|replay|same (?:start|initial|"
                             r"starting|weights|curve|random))\b"),
    "filters": re.compile(r"\b(?:filters?|kernels?|feature maps?|activation maps?|cnn|conv\w*)\b"),
}
PARTS = re.compile(r"[.?!;]\s+|,\s+|\s+-+\s+|\s+but\s+")
ACK = re.compile(rf"^(?:{INTERJECTIONS}|got it|sure|no)(?:[ ,]+(?:{INTERJECTIONS}|got it|sure|then))*$")
SLOT_WORDS = {
    "image": "which image number", "epochs": "how many epochs",
    "optimizer": "which optimizer (Adam, SGD or RMSprop)",
    "rate": "which learning rate", "batch": "which batch size", "count": "how many images",
    "run": "which run number", "step": "which step",
}


class Meaning:
    """The meaning layer of the Agent (a mixin: it relies on the agent's parts below)."""

    pack: LessonPack
    reader: IntentReader | None
    screen: Callable[[Session, str], Reply | None] | None

    def spelled(self, text: str) -> str:
        """The message with typos in command words fixed ("trian it for 4 epocs")."""
        phrasings = tuple(phrase for phrases in (self.reader.phrasings if self.reader else {}).values()
                          for phrase in phrases)
        return correct_request(text, self.pack.folder, phrasings)

    # ----- acting on meaning ----------------------------------------------------------------
    def not_an_answer(self, text: str) -> bool:
        """Whether a message is surely no answer to a pending check: a follow-up, a tentative
        question ("learning rate 0.1?"), a learner who is lost, or a clear request."""
        if read_follow_up(text) is not None or NOT_ANSWERS.search(text):
            return True
        if text.endswith("?") and len(text.split()) >= 2:
            return True
        if self.reader is None or len(text.split()) < 3:
            return False
        understanding, _ = self._read(text)
        return bool(understanding.best and understanding.best.acts and understanding.form == "do")

    def by_meaning(self, session: Session, text: str, message: str) -> Generator[Reply, None, bool]:
        """Act on, offer or annotate a command the message means; False when it means none."""
        if self.reader is None:
            return False
        again = self.another_like_last(session, text)
        if again is not None:
            yield from self._act(session, again)
            return True
        understanding, slots = self._read(text)
        navigation = NAVIGATE.search(text)
        target = read_slots(text[navigation.end():], self.pack.named_steps()).step if navigation else None
        if navigation:
            slots.step = target  # "back to the simple model": no step is named after "to"
        if target and understanding.form != "explain":  # "skip ahead to the cnn bit": the step after "to"
            understanding = Understanding((Reading("goto", 1.0, True, True),), "do",
                                          understanding.strong_at, understanding.act_at)
            slots.step = target
        clauses = self._command_clauses(text)
        own_sentence = [clause for clause in clauses if _own_sentence(clause, text)]
        if understanding.form == "explain":  # a question may still end in a request of its own
            clauses = own_sentence
        if clauses:
            steer = self.screen(session, message) if self.screen is not None else None
            if steer is not None:
                yield steer
                return True
            for clause in clauses:  # "use sgd and add a hidden layer": both, in order
                yield from self._act(session, clause)
            return True
        best = understanding.best
        value_of = bare_value(text, slots)  # "relu", "sgd?": the one command that takes that value
        if value_of is not None:
            command, _ = self.spell_out(session, value_of, slots)
            yield from self.offer_readings(session, text, message, command)
            return True
        if best is None:
            return False
        if not navigation and best.name in ("back", "next"):
            slots.step = None  # "go back one step, i skipped the layers bit": one step, not to "layers"
        name = opposite(_reading_name(best.name, slots), text)
        command, missing = self.spell_out(session, name, slots)
        short = len(text.split()) <= 4
        plain_request = (understanding.form == "unclear" and best.strong and "?" not in message
                         and not QUESTION_WORDS.search(text)
                         and (len(text.split()) >= 4  # "hop over to the part with predictions"
                              or names_its_value(name, slots)  # "lr 0.005 plz", "even bigger batches"
                              or name in ("next", "back")))  # "moving on": a step is harmless to take
        about_results = (understanding.form == "explain" and best.strong and name in SHOWS
                         and OWN_RESULTS.search(strip_leading(text)) is not None
                         and not DEFINITION.search(text))
        # "whats next?", "where to now": a question that is a move asks to make it (a step is harmless)
        move_question = (understanding.form == "explain" and best.acts and name in ("next", "back")
                         and len(text.split()) <= 4 and not COMPARES.search(text))
        if (understanding.form == "do" and best.acts) or plain_request or about_results or move_question:
            steer = self.screen(session, message) if self.screen is not None else None
            if steer is not None:
                yield steer
                return True
            second = understanding.close_second
            if second is not None and {best.name, second.name} == {"next", "back"}:
                second = None  # the words say which way
                name = "back" if re.search(r"\b(?:back|previous|before|earlier|rewind)\b", text) else "next"
                command, missing = self.spell_out(session, name, slots)
            second_name = opposite(_reading_name(second.name, slots), text) if second is not None else ""
            if second is not None and self.spell_out(session, second_name, slots)[0] == command:
                second = None  # two rows, one command ("run the training once more")
            if second is not None:
                yield from self._offer_both_commands(session, understanding, slots)
                return True
            if command is None:
                yield self._ask_for(name, missing)
                return True
            if name in CONFIRM and (session.runs or session.history):
                # a command that wipes work is offered, never run on a guess (with no work, it is run)
                first = Option("Go to the first step", f"go to {self.pack.first().id}")
                yield Reply(text=CONFIRM[name], kind="help",
                            options=[Option(f"Yes: {command}", command), first])
                return True
            yield from self._act(session, command)
            return True
        if understanding.form == "unclear" and best.strong and short and name not in NO_BUTTON \
                and not ABOUT_DATA.search(text) and (command is not None or ROWS[name].topic):
            # "batch size": a command that needs a value offers to ask for it
            asks = f"set the {ROWS[name].topic}" if command is None else ""
            yield from self.offer_readings(session, text, message, command, asks)
            return True
        replies = list(self._answer(session, message))
        last = replies[-1] if replies else None
        how_to = (HOW_TO.search(text) is not None and best.acts and command is not None
                  and not COMPARES.search(text) and last is not None and not last.steered)
        if how_to and name in NO_BUTTON:  # "how do i kill a training that runs too long?": `stop`
            last.text = f"Here you just say `{command}`.\n\n{last.text}"
        if last is not None and command is not None and name not in NO_BUTTON:
            if last.steered == "off_topic" or understanding.form == "do":
                if last.steered == "off_topic":
                    last.text = (f"I'm not sure what you mean. Did you want me to do "
                                 f"`{command}`? Press the button if so.")
                    last.steered = ""
                last.options = [Option(f"Do it: {command}", command),
                                *(last.options or self.options_for(session, quiz=False))]
            elif (best.strong and not last.steered and (_fits(ROWS[name], best.score, text) or how_to)
                  and not COMPARES.search(text)):
                last.options = [Option(f"Try it: {command}", command),
                                *(last.options or self.options_for(session, quiz=False))]
                if HOW_TO.search(text):  # "how do I delete a layer I added?": the answer is the command
                    last.text = f"Here you just say `{command}` (or press **Try it**).\n\n{last.text}"
        yield from replies
        return True

    def _read(self, text: str) -> tuple[Understanding, Slots]:
        """The message's readings and values, looking into its parts when the whole is unclear:
        "ok cool, got it. im ready for the next part" and "i think the rate is too big, make it
        smaller" ask for something in one part; the values come from the whole message."""
        steps = self.pack.named_steps()
        slots = read_slots(text, steps)
        whole = _agree_with_slots(self.reader.understand(text), slots, text)
        parts = [part.strip() for part in PARTS.split(text) if len(part.split()) >= 2 and not ACK.match(part)]
        if len(parts) < 2 and not (parts and parts[0] != text):
            return whole, slots
        chosen: tuple[Understanding, Slots] | None = None
        if whole.form == "do" and whole.best is not None and whole.best.acts:
            chosen = (whole, slots)  # a part that reads more clearly still wins
        for part in parts[:4]:
            part_slots = read_slots(part, steps)
            reading = _agree_with_slots(self.reader.understand(part), part_slots, part)
            if reading.form == "do" and reading.best is not None and reading.best.acts and (
                    chosen is None or reading.best.score > chosen[0].best.score):
                chosen = (reading, part_slots)
        if chosen is not None:  # the part says what to do; the values may be anywhere in the message
            return chosen[0], slots
        if whole.best is not None and whole.best.acts and (whole.form == "unclear" or any(
                len(part.split()) <= 5 for part in parts[1:] if message_form(part) == "do")) and any(
                message_form(part) == "do" for part in parts):
            # "which ones did it get wrong? show me a few": the short request points at the question
            return Understanding(whole.readings, "do", whole.strong_at, whole.act_at), slots
        return whole, slots

    def _command_clauses(self, text: str) -> list[str]:
        """The exact commands in a longer request: "be my study buddy and quiz me" -> ["quiz me"].
        Empty unless the message has two or more clauses and some are exact commands."""
        clauses = [re.sub(r"^(?:(?:can|could|would|will) you |please |then |just |also )+|"
                          r"(?: please| pls| plz| thanks| thank you)+$", "", part.strip(" ?!.")).strip()
                   for part in re.split(r",? (?:and(?: then)?|then)\b,? |, |[.?!;]\s+", text) if part.strip()]
        if len(clauses) < 2:
            return []
        steps = self.pack.step_names()
        commands = [clause for clause in clauses if parse_command(clause, steps) is not None][:3]
        others = [clause for clause in clauses if clause not in commands]
        if any(re.search(r"\d", clause) for clause in others):
            return []  # "bump the epochs to 3 and train": the number belongs to the whole request
        return commands

    def another_like_last(self, session: Session, text: str) -> str | None:
        """ "and now another one with 32" after `add a hidden layer of 64 relu neurons`: the same
        command with the new value, as an exact command; None when there is no such last command."""
        follows = (ANOTHER.search(text) or (AND_VALUE.search(text) and len(text.split()) <= 7)
                   or (SAME_THING.search(text) and len(text.split()) <= 10))
        if not follows or session.dialogue.kind != "action" or not session.dialogue.question:
            return None
        last = parse_command(session.dialogue.question, self.pack.step_names())
        if last is None or last.name not in ROWS or not ROWS[last.name].slots:
            return None
        if SAME_THING.search(text) and last.name not in ("rate", "batch"):
            return None  # "bump it back up" moves a setting; nothing else has a direction
        command, _ = self.spell_out(session, last.name, read_slots(text, self.pack.named_steps()))
        return command

    def _act(self, session: Session, command: str) -> Iterator[Reply]:
        intent = parse_command(command, self.pack.step_names())
        if intent is None:  # a canonical form the table cannot read back: a bug, said plainly
            yield Reply(text=f"I meant to run `{command}` but could not. Try typing it.", kind="help")
            return
        self.remember_action(session, intent.name, command)
        note = f"*(I read that as `{command}`.)*"
        first = True
        for reply in self._run_intent(session, intent, command):
            if first and reply.final:
                reply.text = f"{note}\n\n{reply.text}".strip()
                first = False
            yield reply
        if first:
            yield Reply(text=note, kind="help")

    def _offer_both_commands(self, session: Session, understanding: Understanding,
                             slots: Slots) -> Iterator[Reply]:
        options = []
        for reading in understanding.readings[:2]:
            command, _ = self.spell_out(session, _reading_name(reading.name, slots), slots)
            if command is not None:
                options.append(Option(command, command))
        if len(options) < 2:
            yield Reply(text="I'm not sure which you mean. " + " ".join(f"`{o.message}`" for o in options)
                        + "? Press a button or say it another way.", kind="help",
                        options=options + self.options_for(session))
            return
        yield Reply(text=f"Did you mean `{options[0].message}` or `{options[1].message}`? "
                    "Press the one you want.", kind="help", options=options)

    def _ask_for(self, name: str, missing: str) -> Reply:
        row = ROWS[name]
        wanted = SLOT_WORDS.get(missing, missing)
        return Reply(text=f"Happy to. Tell me {wanted}, for example `{row.examples[0]}`.", kind="help",
                     options=[Option(example, example) for example in row.examples[:2]])

    def spell_out(self, session: Session, name: str, slots: Slots) -> tuple[str | None, str]:
        """The exact command for a row and the values found, or (None, the missing value)."""
        row = ROWS.get(name)
        if row is None:
            return None, ""
        single = int(slots.numbers[0]) if len(slots.numbers) == 1 and slots.numbers[0] >= 1 else None
        values: dict[str, Any] = {}
        for slot in row.slots:
            value = slot_value(session, slot, slots, single)
            if value is None:
                if name == "train":
                    return ROWS["train_default"].say(), ""
                if name == "retrain":
                    return "train again", ""
                if name == "add_hidden" and slot == "units":
                    return ROWS["add_hidden"].examples[0], ""
                return None, slot
            values[slot] = value
        command = row.say(**values)
        if name == "add_hidden":
            command = command.replace("  ", " ")
        if name == "optimizer" and slots.rate is not None:
            command += f" with a learning rate of {slots.rate:g}"
        return command, ""

    # ----- dialogue ---------------------------------------------------------------------------
    def remember_action(self, session: Session, name: str, command: str) -> None:
        """Note the command as the conversation's last topic ("why?" and "again" refer to it)."""
        row = ROWS.get(name)
        if name in ("help", "stop", "skip", "next", "back", "goto", "restart", "check"):
            return
        topic = f"glossary:{row.topic}" if row is not None and row.topic else ""
        session.dialogue.remember(topic, "action", command, "", [row.topic] if row and row.topic else [])

    def _repeat_action(self, session: Session) -> Iterator[Reply]:
        command = session.dialogue.question
        yield from self._act(session, command)

    def _guide_check(self, session: Session, text: str) -> Reply | None:
        """One guiding question before revealing a check's answer; "just tell me" reveals it."""
        if not ASKS_FOR_ANSWER.search(text) or session.dialogue.guided or len(text.split()) > 7:
            return None
        state = self.pack.get(session.pending_check)
        if state.check is None:
            return None
        session.dialogue.guided = True
        options = [option for option in self.options_for(session) if option.message != "skip"]
        return Reply(
            text=f"Let's think it through first. {state.check.hint} With that in mind, what would "
            f"you answer?\n\n{checks.format_question(state.check)}",
            kind="check",
            options=[*options, Option("Just tell me", "skip")],
        )


def _own_sentence(clause: str, text: str) -> bool:
    """Whether a command stands as a sentence of its own ("which clothes does it mix up? confusion
    matrix pls"): then it is a request even after a question."""
    return any(part.strip(" ?!.").startswith(clause) for part in re.split(r"[.?!;]\s+", text)[1:])


def _agree_with_slots(understanding: Understanding, slots: Slots, text: str) -> Understanding:
    """Readings re-ranked: a row whose own value the message names ("rmsprop", "run 1") gains a little."""
    readings = []
    for reading in understanding.readings:
        if reading.name in NEEDS and not NEEDS[reading.name].search(text):
            continue
        agrees = SLOT_OF_ROW.get(reading.name)
        score = reading.score + (SLOT_BONUS if agrees is not None and agrees(slots, text) else 0.0)
        readings.append(Reading(reading.name, score, score >= understanding.strong_at,
                                score >= understanding.act_at))
    readings.sort(key=lambda reading: -reading.score)
    return Understanding(tuple(readings), understanding.form, understanding.strong_at, understanding.act_at)


def _fits(row: Command, score: float, text: str) -> bool:
    """Whether a question is close enough to a command to offer it as a "try it" button:
    very close in meaning, or naming the command's own topic ("what is a cnn?")."""
    topic = set(re.findall(r"[a-z]+", row.topic.lower()))
    return score >= 0.8 or bool(topic and topic <= set(re.findall(r"[a-z]+", text)))


def _reading_name(name: str, slots: Slots) -> str:
    """A move that names a step is a jump to it ("go back to the flashcards")."""
    if name in ("back", "next") and slots.step:
        return "goto"
    if name in ("train", "train_default") and slots.again:
        return "retrain"
    return name
