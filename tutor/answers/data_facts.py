"""Live answers about the data and the learner's own settings, each leading with what was asked.

"What is validation image 6174?" gets that image and its label, "how many images are we
training on?" the number (their slice, if set), "what learning rate am I using?" their rate, "can
I make it better?" a yes and the commands that do it. Every pattern needs an image number, a
count, the learner's own settings or an improvement, so concept questions ("what is a label?")
and commands ("scale the pixels") fall through to the lesson's answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from tutor.engine.fillers import INTERJECTIONS
from tutor.ml import data
from tutor.reply import Reply
from tutor.session import Session
from tutor.tools import lesson

IC = re.IGNORECASE
# words a question may open with before its real start
OPENING = rf"^(?:(?:{INTERJECTIONS}|and|but|then|also|please|quick question|tutor)\b[\s,:;!.-]*)*"
CLASS_WORDS: dict[str, int] = {
    "t-shirt": 0, "t-shirts": 0, "tshirt": 0, "t shirt": 0, "tee": 0, "top": 0, "trouser": 1,
    "trousers": 1, "pants": 1, "jeans": 1, "pullover": 2, "pullovers": 2, "sweater": 2, "jumper": 2,
    "dress": 3, "dresses": 3, "coat": 4, "coats": 4, "jacket": 4, "sandal": 5, "sandals": 5,
    "shirt": 6, "shirts": 6, "sneaker": 7, "sneakers": 7, "trainer": 7, "trainers": 7, "bag": 8,
    "bags": 8, "handbag": 8, "purse": 8, "ankle boot": 9, "ankle boots": 9, "boot": 9, "boots": 9,
}
CLASS_WORD = re.compile(r"\b(?:" + "|".join(
    re.escape(word) for word in sorted(CLASS_WORDS, key=len, reverse=True)) + r")\b", IC)
IMAGE_REF = re.compile(
    r"(?:\b(?P<split>training|train|validation|valid|test|quiz)(?:\s+(?:set|pile))?(?:'s)?\s+)?"
    r"\b(?:image|picture|pic|img|photo|sample|example|flashcard|card)\s*(?:number\s*|no\.?\s*|#\s*)?"
    r"(?P<index>-?\d+(?:,\d{3})*)\b", IC)
VALID_WORD = re.compile(r"\b(?:validation|valid|test|quiz)\b", IC)
IMAGE_SKIP = re.compile(r"predict|guess|think|classif|confiden|\bsure\b|\bmodel|network|neuron|pixel|"
                        r"grid|numbers|values|bright|logit|output|weight|how many|differen|compar|\bvs\b", IC)
ASKS_LABEL = re.compile(r"\b(?:label|class|category|kind of|type of|sort of|name of|called)\b", IC)
WHAT_IS = re.compile(OPENING + r"(?:what|what's|whats|wat)(?:\s+is|\s+was)?\s+(?:in|on)?\s*"
                     r"(?:the\s+)?(?:\w+\s+){0,2}?(?:image|picture|pic|img|photo|sample|example)\b"
                     r"|\bwhat does\b.*\b(?:show|look like|contain|depict)", IC)
WHAT_IT = re.compile(r"\b(?:what|wat|which)(?:'s|s| is| was)?\s+(?:it|this|that|in it|on it|that one)\b"
                     r"(?!\s+(?:mean|do|does|for)\b)", IC)  # "training image 7, what is it?"
IS_IT_A = re.compile(OPENING + r"(?:is|was|isn't)\s+(?:the\s+)?(?:\w+\s+){0,2}?"
                     r"(?:image|picture|pic|img|photo|sample|example)\b", IC)

HOW_MANY = re.compile(r"\bhow (?:many|much|big|large)\b|\bnumber of\b|\bcount\b", IC)
COUNT_SKIP = re.compile(r"\b(?:right|wrong|correct\w*|mistak\w*|miss\w*|predict\w*|guess\w*|confus\w*|"
                        r"accura\w*|why|time|seconds?|minutes?|long|fast|slow|should|recommend\w*|ideal|"
                        r"enough|need|best|optimal|minimum|maximum|parameters?|params|loss|means?|neurons?|"
                        r"weights?(?!\s+updates?))\b", IC)
IMAGES = r"\b(?:images?|pictures?|pics?|photos?|examples?|samples?|items?|data|set|pile|clothes)\b"
OWNER = re.compile(r"\b(?:my|our|mine|we|i|am i|the model|the network|this model)\b", IC)

WH = re.compile(OPENING + r"(?:what|what's|whats|wat|which|tell me)\b", IC)
YES_NO = re.compile(OPENING + r"(?:is|are|am|was|were|did|do|does|have|has|isn't|aren't)\b", IC)
MINE = re.compile(r"\b(?:my|our|am i|i'm|im|are we|we're|we|i|current|currently|using|right now|"
                  r"set to|at the moment)\b", IC)
SETTING_SKIP = re.compile(r"\b(?:mean|means|meaning|why|should|work|works|explain|difference|vs|good|"
                          r"better|best|ideal|help|helps|affect|happens?|if|would|bigger|smaller|larger|"
                          r"higher|lower)\b|\bdo\s*\??$", IC)
OPTIMIZERS = {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}
SETTINGS: dict[str, re.Pattern[str]] = {
    "rate": re.compile(r"\blearning[- ]rate\b|\blr\b|\bstep size\b", IC),
    "batch": re.compile(r"\bbatch(?:[- ]?size)?\b", IC),
    "optimizer": re.compile(r"\boptimi[sz]er\b|\b(?:adam|sgd|rmsprop)\b", IC),
    "scaled": re.compile(r"\b(?:scaled|normali[sz]ed|rescaled|raw)\b|\bdivided by 255\b|"
                         r"\bdid (?:i|we|you) (?:scale|normali[sz]e)\b", IC),
    "slice": re.compile(r"\ball (?:the |of the )?(?:data|images|training images|pictures|60,?000)\b|"
                        r"\b(?:slice|subset)\b", IC),
}

IMPROVE = re.compile(
    r"\b(?:make|get)\s+(?:it\s+|(?:my|our|the|this)\s+(?:\w+\s+){0,3}?)(?:even\s+|much\s+|a bit\s+|any\s+)?"
    r"(?:better|more accurate|smarter|stronger)\b|\bimprov(?:e|ing)\s+(?:it|my|our|the model|the network|"
    r"this model|(?:the )?(?:accuracy|results?|score|performance))\b|"
    r"\bdo better\b|\bbetter (?:accuracy|results?|score|model)\b|\bhigher (?:accuracy|score)\b|"
    r"\b(?:boost|increase|raise|push up|bump up)\b.{0,25}\b(?:accuracy|score|performance|results?)\b", IC)
IMPROVE_ASK = re.compile(r"\b(?:i|we|you|my|our)\b|\bhow (?:to|do (?:i|we|you)|can|could|would|should)\b|"
                         r"\b(?:tips?|ways?|suggestions?|ideas?|advice|possible)\b", IC)
QUESTION = re.compile(r"\?\s*$|" + OPENING + r"(?:how|what|which|can|could|would|will|should|is|are|"
                      r"do|does|any|tips?|ways?|help|tell me|i want|i'd like|i would like)\b", IC)
MOST_WORDS = 20  # a longer message asks more than "can it do better?": the lesson answers it
IMPROVE_SKIP = re.compile(r"\b(?:why|difference|vs|versus|notebook|tutorial|mean|means)\b", IC)
TARGET = re.compile(r"(?P<pct>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)", IC)
TARGET_ASK = re.compile(
    r"\b(?:can|could|will|would|might)\s+(?:i|we|you|it|my \w+|our \w+|the model|this model|a model)\s+"
    r"(?:ever\s+|really\s+|actually\s+|possibly\s+)?(?:get|reach|hit|achieve|beat|score|make|go|manage)\b|"
    r"\bpossible\b|\bachievable\b|\brealistic\b|\bdoable\b", IC)


def data_answer(session: Session, text: str) -> Reply | None:
    """An answer from the data set and the learner's settings, or None when the question is
    not one of these (the other live answers and the lesson then have their turn)."""
    for answer in _ANSWERS:
        try:
            reply = answer(session, text)
        except data.DataUnavailable as error:  # an image needs the files; a count has the lesson
            return Reply(text=str(error), kind="answer") if answer is _image else None
        if reply is not None:
            return reply
    return None


# ----- one image ------------------------------------------------------------------------------
def _image(session: Session, text: str) -> Reply | None:
    """The image itself and its label: the label array answers, not a glossary entry."""
    match = IMAGE_REF.search(text)
    if match is None or IMAGE_SKIP.search(text):
        return None
    rest = text[match.end():]
    named = [CLASS_WORDS[word.lower()] for word in CLASS_WORD.findall(rest)]
    is_it = IS_IT_A.search(text) is not None and bool(named)
    if not (is_it or ASKS_LABEL.search(text) or WHAT_IS.search(text) or WHAT_IT.search(text)):
        return None
    split_word = match.group("split") or (VALID_WORD.search(text) and "valid") or "train"
    split = "valid" if VALID_WORD.fullmatch(split_word) else "train"
    index = int(match.group("index").replace(",", ""))
    name = lesson.SPLIT_NAMES[split]
    labels = data.load_dataset().split(split)[1]
    if not 0 <= index < len(labels):
        other = f"validation set has {data.valid_size():,}" if split == "train" else (
            f"training set has {data.train_size():,}")
        return Reply(text=f"There's no {name} image {index:,}: the {name} set has {len(labels):,} "
                     f"images, numbered 0 to {len(labels) - 1:,}. Pick a number in that range, for "
                     f"example `show {name} image 42`. (The {other}, also numbered from 0.)",
                     kind="answer")
    reply = lesson.show_image(session, split, index)
    label = int(labels[index])
    lead = f"{name.capitalize()} image {index} is label {label}, **{data.CLASS_NAMES[label]}**."
    if is_it and len(set(named)) > 1:  # "is it a coat or a shirt?"
        lead = ("" if label in named else "Neither. ") + lead
    elif is_it:
        lead = ("Yes. " if named[0] == label else
                f"No, it isn't a {data.CLASS_NAMES[named[0]].lower()}. ") + lead
    array = "train_labels" if split == "train" else "valid_labels"
    why = (f" That's the answer on the back of its flashcard: `{array}[{index}]` holds {label}, "
           f"and the class table turns {label} into {data.CLASS_NAMES[label]}.")
    if split == "valid":
        why += " It is one of the quiz pictures the model never trains on."
    reply.text = lead + why
    reply.kind = "answer"
    return reply


# ----- counts ---------------------------------------------------------------------------------
def _count(session: Session, text: str) -> Reply | None:
    """A count from the arrays and the learner's settings, so a slice or batch size shows."""
    if not HOW_MANY.search(text) or COUNT_SKIP.search(text):
        return None
    if re.search(r"\bhow many times\b(?! (?:have|did) (?:i|we)\b)", text, IC):
        return None  # "how many times does it see each image?" is about epochs
    for topic, pattern in _COUNT_TOPICS:
        if re.search(pattern, text, IC):
            return _COUNTERS[topic](session, text)
    return None


def _used(session: Session) -> int:
    return min(data.train_size(), session.settings.train_slice or data.train_size())


def _count_steps(session: Session, text: str) -> Reply:
    used, size = _used(session), session.settings.batch_size
    given = re.search(r"\bbatch(?:[- ]?size)?(?: of| =| is)? (\d+)|\b(\d+) (?:images )?per batch", text, IC)
    if given is not None and int(given.group(1) or given.group(2)) > 0:
        size = int(given.group(1) or given.group(2))  # "with batch size 64": that batch size
    steps = math.ceil(used / size)
    rounded = "" if used % size == 0 else (
        f" ({used / size:,.2f} rounded up: the last, smaller batch is a step too)")
    own = session.settings.batch_size
    mine = "" if size == own else f" With your own batch size, {own}, it is {math.ceil(used / own):,}."
    return Reply(text=f"**{steps:,}** steps per epoch: your {used:,} training images in batches of "
                 f"{size}{rounded}. Each step is one weight update, so a bigger batch means fewer "
                 f"updates per epoch.{mine}", kind="answer")


def _count_runs(session: Session, text: str) -> Reply:
    runs = len(session.runs)
    if not runs:
        return Reply(text="**0** so far: you haven't trained yet. Say `train for 5 epochs` and "
                     "each training becomes a run you can compare.", kind="answer")
    last = session.runs[-1].final_val_accuracy
    tail = f" The last one ended at {last:.1%} validation accuracy." if last is not None else ""
    return Reply(text=f"**{runs}** run(s) so far: every training you start is one run.{tail} "
                 "Say `compare runs` to see them side by side.", kind="answer")


def _count_classes(session: Session, text: str) -> Reply:
    table = ", ".join(f"{number} {name}" for number, name in enumerate(data.CLASS_NAMES))
    return Reply(text=f"**{len(data.CLASS_NAMES)}** classes, labelled 0 to 9: {table}.",
                 kind="answer")


def _count_per_class(session: Session, text: str) -> Reply:
    dataset = data.load_dataset()
    train = np.bincount(dataset.train_labels, minlength=10)
    valid = np.bincount(dataset.valid_labels, minlength=10)
    named = CLASS_WORD.search(text)
    number = re.search(r"\b(?:label|class)\s*(?P<label>\d)\b", text, IC)
    label = CLASS_WORDS[named.group(0).lower()] if named else int(number["label"]) if number else None
    if label is not None:
        return Reply(text=f"**{train[label]:,}** training images are label {label}, "
                     f"{data.CLASS_NAMES[label]}, and {valid[label]:,} validation images.", kind="answer")
    balanced = train.min() == train.max()
    lead = ""
    if YES_NO.search(text) and re.search(r"\b(?:same|equal|balanced|evenly|as many)\b", text, IC):
        lead = "Yes. " if balanced else "No, not exactly. "  # "does every class have the same number?"
    table = "" if balanced else ": " + ", ".join(
        f"{name} {count:,}" for name, count in zip(data.CLASS_NAMES, train, strict=True))
    return Reply(text=f"{lead}**{train.min():,}**{f' to {train.max():,}' if table else ''} training "
                 f"images per class{table}, and {valid.min():,} validation images per class. Every "
                 "class gets about the same share, so none is easier just for being seen more often.",
                 kind="answer")


def _count_pixels(session: Session, text: str) -> Reply:
    dataset = data.load_dataset()
    height, width = dataset.train_images.shape[1:]
    side = re.search(r"\b(?:wide|width|tall|high|height|rows?|columns?|side)\b", text, IC)
    reply = (f"**{width}** pixels on each side, {height * width} in all" if side else
             f"**{height * width}** pixels per image: {height} rows of {width}") + (
        ". Each one is a number from 0 (black) to 255 (white), and each is one input to every neuron.")
    match = IMAGE_REF.search(text)
    if match is not None:
        split = "valid" if VALID_WORD.search(text) else "train"
        images = dataset.split(split)[0]
        index = int(match.group("index").replace(",", ""))
        if 0 <= index < len(images):
            lit = int((np.asarray(images[index]) > 0).sum())
            reply += f" In {lesson.SPLIT_NAMES[split]} image {index}, {lit} of them are not zero."
    return Reply(text=reply, kind="answer")


def _count_valid(session: Session, text: str) -> Reply:
    if re.search(r"\btrain\w*\b", text, IC):
        return _count_all(session, text)  # both piles asked at once
    return Reply(text=f"**{data.valid_size():,}** validation images: the quiz pile the model is "
                 "tested on after every epoch and never trains on.", kind="answer")


def _count_train(session: Session, text: str) -> Reply:
    total, used = data.train_size(), _used(session)
    if used < total:
        mine = OWNER.search(text) or re.search(r"\btraining on\b|\blearn\w* (?:from|on)\b", text, IC)
        lead = (f"**{used:,}**: you're training on the first {used:,} of the {total:,} training "
                "images" if mine else f"There are **{total:,}** training images; you're using the "
                f"first {used:,} of them")
        return Reply(text=f"{lead}, to keep each epoch quick. Say `use all the data` to train on "
                     "every one.", kind="answer")
    return Reply(text=f"**{total:,}** training images: the flashcards the model studies, every "
                 "one of them in each epoch.", kind="answer")


def _count_all(session: Session, text: str) -> Reply:
    train, valid = data.train_size(), data.valid_size()
    return Reply(text=f"**{train + valid:,}** images in all: {train:,} for training and {valid:,} "
                 "kept apart for validation, each a 28 x 28 greyscale picture of clothing.",
                 kind="answer")


_COUNT_TOPICS: tuple[tuple[str, str], ...] = (
    ("steps", r"\b(?:steps?|batches|updates|iterations)\b"),
    ("batch", r"\b(?:per|in (?:a|one|each|every)) batch\b|\bbatch[- ]?size\b|\bhow (?:big|large) is "
              r"(?:a|my|the|each|one) batch\b"),
    ("runs", r"\b(?:runs|experiments)\b|\btimes (?:have|did) (?:i|we) (?:trained|train|run)\b"),
    ("per_class", r"\b(?:per|each|every) (?:class|category|label|kind)\b|\bof each\b|\bbalanced\b|"
                  r"\b(?:same|equal|even) (?:number|amount|count)\b|\bas many\b|"
                  r"\b(?:label|class) \d\b|" + CLASS_WORD.pattern),
    ("classes", r"\b(?:classes|categories|labels|kinds|types)\b"),
    ("pixels", r"\bpixels?\b|\bhow (?:big|large) (?:is|are) (?:an?|each|the|one) (?:image|picture)s?\b"),
    ("valid", rf"^(?=.*{IMAGES}).*\b(?:validation|valid|test|quiz)\b"),
    ("train", rf"^(?=.*{IMAGES}).*\b(?:train\w*|study|learn\w*|sees?|seen|epochs?|use[sd]?|using)\b"),
    ("all", IMAGES),
)
_COUNTERS: dict[str, Callable[[Session, str], Reply | None]] = {
    "batch": lambda session, text: Reply(text=_batch_fact(session, text, False), kind="answer"),
    "steps": _count_steps, "runs": _count_runs,
    "per_class": _count_per_class, "classes": _count_classes, "pixels": _count_pixels,
    "valid": _count_valid, "train": _count_train, "all": _count_all,
}


# ----- the learner's settings -----------------------------------------------------------------
def _settings(session: Session, text: str) -> Reply | None:
    """The learner's own setting, with yes or no first when the question is a yes/no one."""
    yes_no = bool(YES_NO.search(text))
    if not (yes_no or WH.search(text)) or not MINE.search(text) or SETTING_SKIP.search(text):
        return None
    topics = [topic for topic, pattern in SETTINGS.items() if pattern.search(text)]
    if not topics:
        return None
    parts = [_SETTING_FACTS[topic](session, text, yes_no) for topic in topics]
    return Reply(text=" ".join(parts), kind="answer")


def _rate_fact(session: Session, text: str, yes_no: bool) -> str:
    settings = session.settings
    origin = ("the value you set" if settings.learning_rate is not None else
              f"{OPTIMIZERS.get(settings.optimizer, settings.optimizer)}'s default; you haven't changed it")
    fact = _checked(text, yes_no, settings.base_rate) + (
        f"Your learning rate is **{settings.base_rate:g}** ({origin}).")
    if settings.cools_down:
        fact += (f" The last epoch of each training runs at a tenth of it, "
                 f"{settings.rate_at(settings.epochs - 1):g}, so the model settles.")
    return fact + " Change it with `set learning rate to 0.01`."


def _batch_fact(session: Session, text: str, yes_no: bool) -> str:
    size = session.settings.batch_size
    steps = session.settings.steps_per_epoch(data.train_size())
    return (f"{_checked(text, yes_no, size)}Your batch size is **{size}**: {size} images per weight "
            f"update, so {steps:,} steps per epoch. Change it with `set batch size to 64`.")


def _checked(text: str, yes_no: bool, value: float) -> str:
    """ "Yes. " or "No. " when a yes/no question names a value ("is my batch size 64?")."""
    asked = re.search(r"(?<![\w.])(\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w.])", text, IC)
    if not yes_no or asked is None:
        return ""
    return "Yes. " if abs(float(asked.group(1)) - value) < 1e-12 else "No. "


def _optimizer_fact(session: Session, text: str, yes_no: bool) -> str:
    mine = session.settings.optimizer
    fact = (f"You're using **{OPTIMIZERS.get(mine, mine)}**, with a learning rate of "
            f"{session.settings.base_rate:g}. Switch with `use sgd`, `use rmsprop` or `use adam`.")
    asked = re.search(r"\b(adam|sgd|rmsprop)\b", text, IC)
    if yes_no and asked:
        fact = ("Yes. " if asked.group(1).lower() == mine else "No. ") + fact
    return fact


def _scaled_fact(session: Session, text: str, yes_no: bool) -> str:
    scaled = session.settings.scaled
    raw_asked = re.search(r"\braw\b", text, IC) is not None
    lead = ("Yes. " if scaled != raw_asked else "No. ") if yes_no else ""
    if scaled:
        return (f"{lead}Your pixels are **scaled to 0-1** (divided by 255), so the weight updates "
                "stay small and the curves smooth. `use raw pixels` goes back to the notebook's 0-255.")
    return (f"{lead}Your pixels are **raw 0-255 values**, as in the notebook, which is why the loss "
            "is large and the accuracy wobbles. Say `scale the pixels` to divide them by 255.")


def _slice_fact(session: Session, text: str, yes_no: bool) -> str:
    total, used = data.train_size(), _used(session)
    lead = ("Yes. " if used == total else "No. ") if yes_no else ""
    return lead + (f"You're training on **all {total:,}** training images." if used == total else
                   f"You're training on **the first {used:,}** of the {total:,} training images. "
                   "`use all the data` trains on every one (each epoch takes longer).")


_SETTING_FACTS: dict[str, Callable[[Session, str, bool], str]] = {
    "rate": _rate_fact, "batch": _batch_fact, "optimizer": _optimizer_fact,
    "scaled": _scaled_fact, "slice": _slice_fact,
}


# ----- can it do better? ----------------------------------------------------------------------
def _where_now(session: Session) -> str:
    pixels = "scaled" if session.settings.scaled else "raw 0-255"
    now = f"Right now your model is {session.model_spec.describe()} on {pixels} pixels"
    if session.history:
        value = session.history[-1].get("val_accuracy", float("nan"))
        now += f", at **{value:.1%}** validation accuracy after {len(session.history)} epoch(s)"
    return now + "."


def _ways(session: Session) -> list[str]:
    spec, ways = session.model_spec, []
    if not session.settings.scaled:
        ways.append("`scale the pixels`: dividing the 0-255 values by 255 keeps every weight "
                    "update small, so the same ten neurons climb smoothly to about 84% instead "
                    "of wobbling between 70% and 81%.")
    if not spec.hidden and not spec.convolutional:
        ways.append("`add a hidden layer`: 128 ReLU neurons between the pixels and the ten "
                    "outputs can combine pixels into shapes first (101,770 parameters, about 86-88%).")
    if not spec.convolutional:
        ways.append("`use a cnn`: small 3 x 3 filters find edges and textures anywhere in the "
                    "picture; a small CNN reaches about 88-90% after a few epochs.")
    trained = len(session.history)
    ways.append("`train for 5 epochs`: more passes help while validation accuracy is still "
                "rising" + (f" (you have trained {trained} so far)" if trained else "")
                + "; when training accuracy keeps climbing but validation stalls, it has "
                "started memorising (overfitting).")
    return ways


def _improve(session: Session, text: str) -> Reply | None:
    """Only the changes this learner has not made yet, as the commands that make them."""
    if len(text.split()) > MOST_WORDS or IMPROVE_SKIP.search(text):
        return None
    if not (IMPROVE.search(text) and IMPROVE_ASK.search(text) and QUESTION.search(text)):
        return None
    ways = _ways(session)
    commands = [way.split(":")[0] for way in ways]
    named = ", ".join(commands[:-1]) + " and " + commands[-1] if len(commands) > 1 else commands[0]
    count = ("One change helps", "Two changes help", "Three changes help", "Four changes help")
    lead = f"{count[len(ways) - 1]}; try them in this order: {named}."
    if YES_NO.search(text) or re.match(OPENING + r"(?:can|could|will|would|should|might)\b", text, IC):
        lead = ("Yes. " if len(ways) > 1 else "Yes, a little. ") + lead
    steps = "\n".join(f"{number}. {way}" for number, way in enumerate(ways, start=1))
    return Reply(text=f"{lead} {_where_now(session)}\n\n{steps}\n\nChange one thing at a time "
                 "and train again; `compare runs` shows which change helped.", kind="answer")


def _target(session: Session, text: str) -> Reply | None:
    """Whether an accuracy is reachable, against what the lesson's models actually reach."""
    match = TARGET.search(text)
    if match is None or len(text.split()) > MOST_WORDS or IMPROVE_SKIP.search(text) \
            or not TARGET_ASK.search(text):
        return None
    goal = float(match.group("pct"))
    if goal > 92:
        why = ("No. {goal:g}% is out of reach on Fashion-MNIST: some pictures are ambiguous even to "
               "people (shirts and T-shirts at 28 x 28 pixels), and the best large networks published "
               "for it pass about 96%." if goal > 96 else "No, not with the models in this lesson: a "
               "small CNN tops out a little above 90%, and {goal:g}% takes the much larger networks "
               "of research papers (the best pass about 96%).")
        return Reply(text=why.format(goal=goal) + " " + _where_now(session), kind="answer")
    best = max((row.get("val_accuracy", 0.0) for row in session.history), default=0.0)
    if best * 100 >= goal:
        return Reply(text=f"Yes, and you're already there: your best epoch reached {best:.1%}. "
                     + _where_now(session), kind="answer")
    needed = ("the one-layer model with scaled pixels (about 84%)" if goal <= 84 else
              "a hidden layer with scaled pixels (about 86-88%)" if goal <= 88 else
              "a small CNN (about 88-90% after a few epochs, a little more with more epochs)")
    ways = " ".join(f"{number}. {way}" for number, way in enumerate(_ways(session), start=1))
    return Reply(text=f"Yes. {goal:g}% is within reach of {needed}. {_where_now(session)} "
                 f"What gets you there: {ways}", kind="answer")


_ANSWERS: tuple[Callable[[Session, str], Reply | None], ...] = (
    _image, _count, _settings, _target, _improve,
)
