"""Typos in requests: "trian it for 4 epocs" is read as "train it for 4 epochs".

The exact command patterns and the meaning layer both compare words, so one slipped letter in
a request can turn it into a question. Here a word that appears nowhere in the lesson pack (its
lesson pages and command phrasings) is replaced by the one word of the command vocabulary that is a
single edit away (a letter added, dropped, changed or two swapped). A word the pack uses is
never changed, and neither is one with two candidates, so a real word is not "corrected" into
a different one. Questions still go to the answerer in the learner's own words; it corrects
against the knowledge base itself.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from tutor.engine.commands import COMMANDS
from tutor.engine.slots import ACTIVATIONS, OPTIMIZERS

WORD = re.compile(r"[a-z]+")
TOKEN = re.compile(r"\b[a-z0-9]+\b")
SHORTEST = 4  # shorter words are too often real words one letter from a command word; at
#              this length only two swapped letters count
# chat spellings without the apostrophe: real words, not typos ("lets" is not "gets")
PLAIN = frozenset((
    "lets", "dont", "whats", "thats", "youre", "cant", "wont", "isnt", "doesnt", "didnt", "wasnt",
    "arent", "ive", "hows", "wheres", "theres", "heres", "shouldnt", "wouldnt", "couldnt", "gonna",
    "wanna", "gotta", "kinda", "thx", "thanks", "pls", "plz"))
# chat shorthand too short for a one-edit fix ("go bak a step", "nxt pls"): the word it stands
# for, when the shorthand is no word of its own
SHORTHAND = {"bak": "back", "bck": "back", "nxt": "next", "wat": "what",
             "wut": "what", "abt": "about", "thru": "through", "agn": "again", "b4": "before"}


@functools.cache
def _vocabulary(folder: Path, phrasings: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(command words, every word the pack uses), read once per pack."""
    command_text = " ".join(phrasings) + " " + " ".join(
        phrase for row in COMMANDS for phrase in (*row.examples, *row.spoken))
    commands = frozenset(word for word in WORD.findall(command_text.lower()) if len(word) >= SHORTEST)
    known = set(commands) | PLAIN | {word for name in (*OPTIMIZERS, *ACTIVATIONS) for word in name.split()}
    for path in sorted(Path(folder).glob("*")):
        if path.suffix == ".md":  # the yaml files list common typos as aliases
            known.update(WORD.findall(path.read_text(encoding="utf-8").lower()))
    return commands, frozenset(known)


def _one_edit(word: str) -> set[str]:
    """Every string one edit away from `word` (Damerau: insert, delete, replace, swap)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in letters}
    inserts = {a + c + b for a, b in splits for c in letters}
    return deletes | swaps | replaces | inserts


def _swaps(word: str) -> set[str]:
    """The strings with two neighbouring letters swapped ("tarn" -> "tran", "tarn")."""
    return {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}


def correct_request(text: str, folder: Path, phrasings: tuple[str, ...]) -> str:
    """The message with words the pack does not know replaced by the command word they miss."""
    commands, known = _vocabulary(Path(folder), phrasings)

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < SHORTEST or word in known:
            return word
        edits = _one_edit(word) if len(word) > SHORTEST else _swaps(word)  # "prop" is not "drop"
        candidates = edits & commands
        if len({candidate.removesuffix("s") for candidate in candidates}) != 1:
            return word  # none, or two different words ("epoch" and "epochs" are one)
        return max(candidates, key=len)

    text = TOKEN.sub(lambda match: SHORTHAND.get(match.group(0), match.group(0)), text)
    return WORD.sub(fix, text)
