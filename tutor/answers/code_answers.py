"""Requests for the code of a lesson step: "show me the code that loads the data", "what's the
code for training?".

The answer is the Keras code the tutor runs for that step, with the learner's own model and
settings where they matter (the same generators as the lesson's tools), not a glossary entry that
shares the word "code". What the code should do is read from the words after "code".
"""

from __future__ import annotations

import re

from tutor.ml import codegen, data
from tutor.reply import Reply
from tutor.session import Session

ASKS_CODE = re.compile(r"\b(?:show|give|see|print|paste|display|share|what(?:'s| is)|whats|where(?:'s| is)|"
                       r"which)\b(?:\s+\w+){0,4}?\s+(?:code|lines?|snippet|keras call)\s+(?P<rest>.*)$",
                       re.IGNORECASE)
# what the code does -> (a few words on it, how to make it)
WHAT_IT_DOES: tuple[tuple[re.Pattern[str], str, object], ...] = (
    (re.compile(r"\b(?:load|loads|loading|read|reads|get|gets|fetch|download)\w*\b.*\b(?:data|dataset|"
                r"images|fashion)|\bload_data\b", re.IGNORECASE),
     "loads Fashion-MNIST", lambda session: data.LOAD_CODE),
    (re.compile(r"\bgpus?\b", re.IGNORECASE), "looks for a GPU", lambda session: codegen.GPU_CODE),
    (re.compile(r"\bcompil\w*|\bloss\b|\boptimi[sz]er\b", re.IGNORECASE),
     "compiles your model (loss, optimizer, accuracy)",
     lambda session: codegen.compile_code(session.settings)),
    (re.compile(r"\b(?:train|trains|training|fit|fits|learn|learns)\b", re.IGNORECASE),
     "trains your model", lambda session: codegen.fit_code(session.settings)),
    (re.compile(r"\b(?:build|builds|building|makes?|creates?|defines?)\b.*\b(?:model|network|layers?)\b|"
                r"\b(?:architecture|sequential|layers)\b", re.IGNORECASE),
     "builds your model", lambda session: codegen.model_code(session.model_spec)),
)


def code_answer(session: Session, text: str) -> Reply | None:
    """The code of the step the request describes, or None when it asks for no code we run."""
    match = ASKS_CODE.search(text)
    if match is None:
        return None
    rest = match.group("rest")
    for pattern, does, make in WHAT_IT_DOES:
        if pattern.search(rest):
            code = make(session)  # type: ignore[operator]
            return Reply(text=f"Here is the code that {does}, exactly as the tutor runs it:",
                         code=code, kind="answer")
    return None
