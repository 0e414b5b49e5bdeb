"""The command table: one row per command the tutor understands, and the parser that reads it.

A row holds everything about one command: the pattern a cleaned message must match, typed
examples (a test parses each one and requires it to reach its own row), the phrases a learner
says aloud and Whisper writes (speech recognition expects them: `tutor.speech.spoken`), and its
line in `help` (and in the README's list, checked by a test). Rows are tried in order, first
match wins; `goto` comes last because its openings ("switch to", "show me the") also begin
other commands, and the loose ones among them only name a step that exists.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from tutor.words import words_to_digits

SPLITS = {
    "training": "train", "train": "train", "study": "train",
    "validation": "valid", "valid": "valid", "test": "valid", "quiz": "valid",
}
_SPLIT = r"(?:(?P<split>training|train|study|validation|valid|test|quiz)\s+)?"
_NUMBER = r"(?P<number>-?\d[\d,]*)"
NUMBER_SLOT = "{n}"  # in a spoken phrase: a number heard there fills it
HELP_SECTIONS = {
    "moving": "Moving through the lesson",
    "notebook": "The notebook's steps",
    "beyond": "Beyond the notebook",
}


@dataclass(frozen=True)
class Intent:
    """A recognised command: its name and the values pulled out of the message."""

    name: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Command:
    """One row of the table. `spoken`: as said and as Whisper writes it (capitalised, with the
    full stop that ends a spoken sentence), `{n}` for a number. `help`: the words shown in
    `help` (empty: not listed), under `section`."""

    name: str
    pattern: re.Pattern[str]
    examples: tuple[str, ...]
    spoken: tuple[str, ...] = ()
    help: str = ""
    section: str = "beyond"
    canonical: str = ""  # the exact command for given values: "show {split} image {image}"
    topic: str = ""  # the glossary term a "why?" after this command is about

    @property
    def slots(self) -> tuple[str, ...]:
        """The values the canonical form needs ("split", "image")."""
        return tuple(re.findall(r"\{(\w+)\}", self.canonical or self.examples[0]))

    def say(self, **values: object) -> str:
        """The exact command that does this with these values (a button's message)."""
        return (self.canonical or self.examples[0]).format(**values)


def _row(name: str, pattern: str, examples: tuple[str, ...], spoken: tuple[str, ...] = (),
         help: str = "", section: str = "beyond", canonical: str = "", topic: str = "") -> Command:
    return Command(name, re.compile(pattern), examples, spoken, help, section, canonical, topic)


COMMANDS: tuple[Command, ...] = (
    _row("stop", r"^(?:please\s+)?(?:stop|halt|cancel|abort)(?:\s+(?:the\s+)?training)?$",
         ("stop", "stop training", "please cancel the training"), ("Stop.", "Stop training."),
         "`stop`", "notebook"),
    _row("help", r"^(?:help|\?|what can (?:i|you) do|commands|menu|options)$",
         ("help", "what can i do", "?"), ("Help.",), "`help`", "moving"),
    _row("restart", r"^(?:restart|start over|start again|reset|from the (?:start|beginning))$",
         ("restart", "start over", "from the beginning"), ("Restart.", "Start over."), "`restart`", "moving"),
    _row("next",
         r"^(?:next|continue|go on|go ahead|next step|move on|forward|onward|let'?s go|"
         r"ok(?:ay)?|yes|sure|ready|got it|done|go|next please|carry on)$",
         ("next", "continue", "move on", "got it", "next please"), ("Next.", "Next step.", "Continue."),
         "`next`", "moving"),
    _row("back", r"^(?:back|go back|previous|prev|previous step|step back|last step)$",
         ("back", "go back", "previous step"), ("Go back.", "Back.", "Previous step."), "`back`", "moving"),
    _row("another_card",
         r"^(?:another|new|one more|1 more|next|more)\s+(?:flash\s*)?cards?$|^(?:flash\s*cards?|quiz me on a card)$",
         ("another card", "new card", "one more card", "flashcards"),
         ("Another card.", "New card.", "One more card."), "`another card`", "notebook", topic="label"),
    _row("skip", r"^(?:skip|pass|i don'?t know|no idea|dunno|reveal|show (?:me )?the answer|just tell me(?: the answer)?)$",
         ("skip", "i don't know", "show me the answer"), ("Skip.", "I don't know.", "Show me the answer."),
         "`skip`", "notebook"),
    _row("show_image",
         rf"^(?:show|display|plot|see|view)(?: me)?(?: the)?\s+{_SPLIT}(?:image|picture|card|img|sample)"
         rf"\s*(?:number|no\.?|#)?\s*{_NUMBER}$",
         ("show training image 42", "show validation image 6174", "show me picture 7"),
         ("Show training image {n}.", "Show validation image {n}.", "Show image {n}."),
         "`show training image 42`, `show validation image 6174`", "notebook",
         canonical="show {split} image {image}", topic="image"),
    _row("train",
         rf"^(?:train|fit|run training|keep training|continue training)(?: it| the model| my model)?"
         rf"(?:\s+(?:for|another|by))?\s*{_NUMBER}\s*(?:more\s+)?(?:epochs?|times|passes|rounds)?(?: more)?$",
         ("train for 5 epochs", "train for 3 more epochs", "keep training for 2 epochs"),
         ("Train for {n} epochs.", "Train for {n} more epochs."), "`train for 5 epochs`", "notebook",
         canonical="train for {epochs} epochs", topic="epoch"),
    _row("train_default", r"^(?:train|fit|train (?:it|the model|my model)|start training)$",
         ("train", "train the model", "start training"), ("Train.", "Train the model.", "Start training."),
         "`train`", "notebook", topic="training"),
    _row("retrain",
         rf"^(?:train|fit) (?:it |the model |my model )?again(?: for {_NUMBER} epochs?)?$|^retrain(?: it| the model)?$",
         ("train again", "train it again for 3 epochs", "retrain the model"),
         ("Train again.", "Train again for {n} epochs."), "`train again` (a fresh start, same settings)",
         "notebook", canonical="train again for {epochs} epochs", topic="initialization"),
    _row("predict",
         rf"^(?:predict|classify|guess)(?: the)?\s+{_SPLIT}(?:image|picture|img|sample)?"
         rf"\s*(?:number|no\.?|#)?\s*{_NUMBER}$",
         ("predict image 8675", "predict validation image 10", "classify training image 3"),
         ("Predict image {n}.", "Predict validation image {n}.", "Predict training image {n}."),
         "`predict image 8675`, `predict validation image 10`", "notebook",
         canonical="predict {split} image {image}", topic="prediction"),
    _row("summary",
         r"^(?:(?:show )?(?:the )?(?:model )?summary|model\.summary\(\)|summari[sz]e(?: the model)?)$",
         ("summary", "show the model summary", "model.summary()"), ("Show the model summary.", "Summary."),
         "`summary`", "notebook", topic="model.summary"),
    _row("curves", r"^(?:show )?(?:the |my )?(?:training )?(?:curves?|history|plots?|graphs?)$",
         ("curves", "show the curves", "show my training curves"),
         ("Show the curves.", "Show my training curves."), "`curves`", "notebook", topic="learning curve"),
    _row("check", r"^(?:check|quiz me|quick check|check my understanding|test me|ask me)$"
         r"|^(?:quiz|test) me (?:on|about) (?!image|picture)[a-z' ]{2,60}$",
         ("check", "quiz me", "test me"), ("Check.", "Quiz me."), "`check` (this step's quick question)",
         "notebook"),
    _row("scale",
         r"^(?:please )?(?:scale|normali[sz]e|rescale)(?: the)?(?: pixels?| images?| inputs?| data)?"
         r"(?: to 0-1| to 0 1)?$|^(?:use )?scaled pixels$|^divide (?:the )?pixels by 255$",
         ("scale the pixels", "normalize the images", "divide the pixels by 255"), ("Scale the pixels.",),
         "`scale the pixels`", topic="scaling pixels"),
    _row("unscale", r"^(?:use )?raw pixels$|^(?:unscale|don'?t scale|do not scale|stop scaling)(?: the pixels)?$",
         ("use raw pixels", "don't scale the pixels"), ("Use raw pixels.",), "`use raw pixels`", topic="scaling pixels"),
    _row("add_hidden",
         r"^add (?:a |an |1 |another )?(?:hidden )?layer(?: (?:of|with))?(?: (?P<units>-?\d[\d,]*))?"
         r"(?: (?P<act>relu|sigmoid|tanh|linear))?(?: (?:neurons|units|nodes))?"
         r"(?: (?P<act2>relu|sigmoid|tanh|linear))?$",
         ("add a hidden layer", "add a hidden layer of 64 neurons", "add another layer with 32 tanh units"),
         ("Add a hidden layer.", "Add a hidden layer of {n} neurons.", "Add a hidden layer of {n} relu neurons."),
         "`add a hidden layer`",
         canonical="add a hidden layer of {units} {activation} neurons", topic="hidden layer"),
    _row("one_layer",
         r"^(?:remove|drop|delete) (?:the |all )?(?:hidden )?layers?$|^(?:use )?(?:the )?(?:1|one)[- ]layer model$"
         r"|^no hidden layers?$",
         ("remove the hidden layers", "use the one-layer model", "no hidden layers"),
         ("Use the one-layer model.", "Remove the hidden layers."), "`remove the hidden layers`", topic="layer"),
    _row("cnn",
         r"^(?:use|try|switch to|build) (?:a |the )?(?:small )?"
         r"(?:cnn|convolutional (?:network|model|neural network)|convnet|convolutions?)$",
         ("use a cnn", "switch to a cnn", "try a convolutional network"),
         ("Use a CNN.", "Use a convolutional network."), "`use a cnn`", topic="CNN"),
    _row("optimizer",
         r"^(?:use|switch to|try) (?P<opt>adam|sgd|rmsprop)(?:(?: optimi[sz]er)?(?: with)?(?: (?:a|the))?"
         r" learning rate(?: of| =)? (?P<rate>-?[\d.]+(?:e-?\d+)?))?$",
         ("use adam", "switch to sgd", "use sgd with a learning rate of 0.1"),
         ("Use Adam.", "Use SGD.", "Use RMSprop."), "`use sgd`", canonical="use {optimizer}", topic="optimizer"),
    _row("rate",
         r"^(?:set |use |change )?(?:the |a )?learning rate(?: to| =| of)? (?P<rate>-?[\d.,]+(?:e[-+]?\d+)?)$",
         ("set learning rate to 0.01", "learning rate 0.001"), ("Set learning rate to {n}.",),
         "`set learning rate to 0.01`",
         canonical="set learning rate to {rate}", topic="learning rate"),
    _row("batch", r"^(?:set |use |change )?(?:the |a )?batch(?: size)?(?: to| =| of)? (?P<number>-?\d[\d,]*)$",
         ("set batch size to 64", "use a batch size of 128", "batch 32"),
         ("Set batch size to {n}.", "Use a batch size of {n}."), "`set batch size to 64`",
         canonical="set batch size to {batch}", topic="batch size"),
    _row("slice",
         r"^(?:train|learn) (?:on|with) (?:the first )?(?P<number>-?\d[\d,]*) (?:images|pictures|examples|samples)$"
         r"|^use (?P<number2>-?\d[\d,]*) (?:training )?images$",
         ("train on 5000 images", "use 1000 training images"), ("Train on {n} images.",),
         "`train on 5000 images`",
         canonical="train on {count} images", topic="training data"),
    _row("all_data", r"^(?:use|train on) all (?:the )?(?:data|images|training images)$",
         ("use all the data", "train on all images"), ("Use all the data.",), "`use all the data`", topic="training data"),
    _row("quick_on", r"^(?:quick|fast) (?:mode|training)(?: on)?$|^(?:go|train) (?:quick|fast)$|^quick$",
         ("quick mode on", "fast training", "quick"), ("Quick mode on.",), "`quick mode on`", topic="steps_per_execution"),
    _row("quick_off", r"^(?:quick|fast) (?:mode|training) off$|^(?:use )?(?:the )?notebook(?:'s)? settings$",
         ("quick mode off", "use the notebook's settings"), ("Quick mode off.",), "`quick mode off`"),
    _row("compare", r"^(?:compare|show)(?: my| the| all)? runs?$|^runs$|^compare$",
         ("compare runs", "show my runs", "compare"), ("Compare runs.",), "`compare runs`"),
    _row("use_run", r"^(?:use|restore|load|go back to|back to) run (?P<number>-?\d+)$",
         ("use run 2", "go back to run 1"), ("Use run {n}.",), "`use run 2`", canonical="use run {run}"),
    _row("undo", r"^undo(?: that| the last change)?$", ("undo", "undo that"), ("Undo.",), "`undo`"),
    _row("weights",
         r"^(?:show )?(?:the |my )?weight maps?$|^show (?:the )?weights$|^what did (?:the|my) neurons learn$",
         ("show weight maps", "show the weights", "what did my neurons learn"),
         ("Show weight maps.", "Show the weights."), "`show weight maps`", topic="weight map"),
    _row("confusion", r"^(?:show )?(?:the |a |my )?confusion matrix$",
         ("show the confusion matrix", "confusion matrix", "show me the confusion matrix"),
         ("Show the confusion matrix.",), "`confusion matrix`", topic="confusion matrix"),
    _row("mistakes",
         r"^(?:show )?(?:the |my )?(?:most confident |biggest |worst )?mistakes$|^what did it get wrong$",
         ("show mistakes", "show the biggest mistakes", "what did it get wrong"),
         ("Show mistakes.", "Show the biggest mistakes."), "`show mistakes`"),
    _row("filters",
         r"^(?:show )?(?:the |my )?(?:cnn )?(?:filters|feature maps|activation maps)"
         r"(?: for (?:validation )?image (?P<number>\d+))?$",
         ("show filters", "show me the filters", "feature maps for image 12"), ("Show filters.",),
         "`show filters` (after a CNN)", topic="filter"),
    _row("export",
         r"^(?:export|download|save|give me)(?: my| the)?(?: jupyter)? (?:notebook|ipynb|session as a notebook)$"
         r"|^export$",
         ("export my notebook", "download the notebook", "export"), ("Export my notebook.",),
         "`export my notebook` (take it home)", "notebook"),
    _row("you_vs_model",
         r"^(?:you|me) vs (?:the )?model$|^compare (?:me|my guesses|my answers)(?: (?:with|to) the model)?$",
         ("compare me with the model", "me vs model", "compare my guesses to the model"),
         ("Compare me with the model.",), "`compare me with the model`"),
    _row("same_start",
         r"^(?:(?:train|fit|run)(?: it| the model| my model)? again|re(?:peat|run|train)"
         r"(?: it| the| my| that| this)?(?: last)?(?: run| training| model)?) (?:with|from) "
         r"(?:the )?same (?:start|seed|starting weights)$|^(?:the )?same (?:start|seed)(?: again)?$",
         ("repeat the run with the same seed", "train again with the same seed", "same start"),
         ("Train again with the same start.", "Same start.", "Repeat the run with the same seed."),
         "`train again with the same start`", "notebook", topic="random variation between runs"),
    _row("review",
         r"^(?:what (?:should|do|can) i (?:review|revise|go over|practi[sc]e|work on|study)(?: next| again| now)?"
         r"|what (?:should|do) i need to (?:review|revise|go over|work on)|what am i (?:weak|bad) at"
         r"|review(?: the| my)?(?: weak(?:est)? (?:ones?|spots?|concepts?|ideas?))?"
         r"|review (?!(?:the |my )?runs?$)(?P<concept>[a-z0-9][a-z0-9 ,'./()-]*))\??$",
         ("what should i review?", "review", "review parameters", "what am i weak at"),
         ("Review.", "Review my weak spots."),  # spoken: no "What..."/"How...", which questions open with
         "`what should i review?`", "moving"),
    _row("progress",
         r"^(?:how am i doing|how(?:'s| is| am i getting on with) (?:my progress|it going|the lesson)"
         r"|how (?:much|well) do i know(?: it| this)?|(?:show )?my (?:progress|mastery|scores?)"
         r"|what do i know(?: so far)?|(?:show (?:the |my )?)?mastery(?: map)?|progress(?: report)?)\??$",
         ("how am i doing?", "show my progress", "what do i know so far", "mastery map"),
         ("Show my progress.", "Show the mastery map."),
         "`how am i doing?`", "moving"),
    _row("join_class",
         r"^(?:please )?(?:join|enter|enrol (?:in|me in)|enroll (?:in|me in)|sign me up for)"
         r"(?: the| my| a)? class(?: code)?(?: (?!as )(?P<code>[a-z0-9][a-z0-9_-]{0,39}))?"
         r"(?: as (?P<name>[a-z0-9][a-z0-9 '_-]{0,29}))?$",
         ("join class demo", "join class bio-101 as quiet otter", "enrol in class 7b"),
         ("Join class {n}.", "Join a class."),
         "`join class <code>` (your instructor's class, under a made-up name)", "moving",
         canonical="join class {code}"),
    # last: "go to" anything (an unknown step gets the list of steps), and the looser openings
    # ("open", "show me the", "switch to") only when what follows names a step
    _row("goto", r"^(?:go to|goto|jump to|take me to)\s+(?P<target>.+)$",
         ("go to training", "take me to the flashcards", "jump to prediction"), (),
         "`go to <step>` (e.g. `go to training`)", "moving",
         canonical="go to {step}"),
    _row("goto", r"^(?:open|show me the|switch to|show me)\s+(?P<target>.+)$",
         ("open training", "switch to the loss step"), ()),
)
LOOSE_GOTO = COMMANDS[-1]


def parse_command(message: str, steps: Collection[str] | None = None) -> Intent | None:
    """The command in a cleaned, lower-case message (`clean_message`), or None.

    "show me X" is also read as "show X" ("show me the filters" is the filters command).
    `steps`: the lesson's step ids and titles, lower case; "open X", "show me the X" and
    "switch to X" go to a step only when X is one of them (without `steps`, never).
    """
    readings = dict.fromkeys([message, re.sub(r"^(?:(?:can|could) you )?show me ", "show ", message)])
    for row in COMMANDS:
        for reading in readings:
            match = row.pattern.match(reading)
            if match is None:
                continue
            values = {key: value for key, value in match.groupdict().items() if value}
            if row is LOOSE_GOTO and not _names_a_step(values["target"], steps):
                continue
            return Intent(row.name, values)
    return None


def _names_a_step(target: str, steps: Collection[str] | None) -> bool:
    wanted = re.sub(r"^the |(?: step| part| section)$", "", target.strip()).replace("-", " ")
    return steps is not None and wanted in {step.replace("-", " ") for step in steps}


def clean_message(message: str) -> str:
    """Lower case, numbers as digits, spaces collapsed, end punctuation dropped."""
    text = words_to_digits(message.replace("\u00a0", " "))
    text = re.sub(r"\s+", " ", text.lower()).strip()
    return text.strip(" .!,;:")


def help_lines() -> list[str]:
    """The table's help entries, a line per section ("- Moving through the lesson: `next`, ...")."""
    lines = []
    for section, title in HELP_SECTIONS.items():
        entries = [row.help for row in COMMANDS if row.help and row.section == section]
        lines.append(f"- {title}: " + ", ".join(entries))
    return lines


def spoken_phrases() -> tuple[str, ...]:
    """Every command phrase as said, in table order (speech recognition expects them)."""
    return tuple(phrase for row in COMMANDS for phrase in row.spoken)
