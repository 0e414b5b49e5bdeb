"""Serving the standalone page: `launch` serves it with the tutor's stylesheet and the
instructor's page, and starts the tutor's warm-up only once the page is served.

Why: a server is judged by its first page. Gradio's import is most of the start-up; the lesson
text and the page's layout are the rest. The agent, the answers' search index, TensorFlow, the
data set, the voice engines and the helper processes are only needed by turns, and on a small
machine each of them, started before the page, delays it (they share the cores and Python's
lock). So they start after the first page is served (`TutorBlock.start`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import gradio as gr

from tutor.web import instructor, strings

CSS = (Path(__file__).parent / "static" / "page.css").read_text(encoding="utf-8")
# Events Gradio runs at once, and threads for them (Gradio's default: 40). A turn holds one from
# the learner's message to its last update, and a training turn holds it while the training
# waits for a free slot and runs; with the default, a class of thirty, each also having their
# reply read aloud, would leave later messages waiting in Gradio's own queue.
MAX_EVENTS = 200


def launch(demo: gr.Blocks, **kwargs: Any) -> Any:
    """Serve the page with the tutor's stylesheet, and the instructor's page at `/instructor`
    (off unless BRAIN_TUTOR_INSTRUCTOR_TOKEN is set); keyword arguments go to `Blocks.launch`.

    The tutor block (`demo.tutor_block`, see `tutor.web.page.build_app`) is started once the
    server answers, then a script's main thread serves until interrupted, as `Blocks.launch`
    does (unless `prevent_thread_lock=True`).
    """
    kwargs.setdefault("max_threads", MAX_EVENTS)
    kwargs["i18n"] = strings.merged(kwargs.get("i18n"))  # the page's strings in each language
    block = getattr(demo, "tutor_block", None)
    if block is None:
        return demo.launch(css=CSS, **kwargs)
    app_kwargs = dict(kwargs.pop("app_kwargs", None) or {})
    app_kwargs["routes"] = [*app_kwargs.get("routes", []), *instructor.routes(block.tutor)]
    kwargs["app_kwargs"] = app_kwargs
    hold = not kwargs.pop("prevent_thread_lock", False) and not (hasattr(sys, "ps1") or sys.flags.interactive)
    served = demo.launch(css=CSS, prevent_thread_lock=True, **kwargs)  # returns once it answers
    block.start()
    if hold:
        demo.block_thread()
    return served
