"""Replies as Chatbot messages: the text and the Keras code that ran, figures inline, option chips.

The page streams a turn's Replies into the chat; this module is how one Reply (or the learner's
own words, or the live training box) looks there, kept apart from the page's layout and events.
"""

from __future__ import annotations

import base64
import re

import gradio as gr

from tutor.reply import Plot, Reply


def figure_markdown(plot: Plot) -> str:
    """A plot as a chat message: its PNG inline, with the plot's own description as alt text.

    Why inline: on every streamed update Gradio re-checks each file in a chat against the file
    system (a dozen path resolutions per figure), and a learner's chat holds fifteen figures
    by the end of the notebook; under twenty learners that was the server's largest single
    cost. An inline image is text, which passes through untouched, and the browser decodes it
    once. The `<img alt>` carries the description for screen readers.
    """
    encoded = base64.b64encode(plot.png()).decode("ascii")
    alt = re.sub(r"[\[\]\\\s]+", " ", plot.alt).strip()  # one line, no Markdown brackets
    return f"![{alt}](data:image/png;base64,{encoded})"


def reply_to_messages(reply: Reply) -> list[gr.ChatMessage]:
    """One final Reply as chat messages: text and code, then each plot with its caption."""
    messages: list[gr.ChatMessage] = []
    text = reply.text or ""
    if reply.code:
        text = f"{text}\n\n**Keras code that ran:**\n```python\n{reply.code}\n```".strip()
    if text:
        messages.append(gr.ChatMessage(role="assistant", content=text))
    for path in reply.files:
        messages.append(gr.ChatMessage(role="assistant", content=gr.File(path)))
    for plot in reply.figures:  # the figure and its caption in one message: one fewer per update
        messages.append(gr.ChatMessage(role="assistant",
                                       content=f"{figure_markdown(plot)}\n\n*Figure: {plot.alt}*"))
    return messages


def options_payload(reply: Reply) -> list[dict[str, str]]:
    """A Reply's next options as the Chatbot's clickable chips (label shown, message sent)."""
    return [{"label": option.label, "value": option.message} for option in reply.options]


def training_box(reply: Reply) -> gr.ChatMessage:
    """The live tool box of a training in progress: the latest progress line under a title
    that says the epoch and how far it is, or that the training waits for a free slot."""
    progress = reply.progress
    title = "Training"
    if progress is not None and progress.epoch == 0:
        title = "Training: waiting for a free slot"
    elif progress is not None:
        title = f"Training: epoch {progress.epoch} of {progress.epochs}"
        if progress.steps:
            title += f", {progress.fraction:.0%} done"
    return gr.ChatMessage(
        role="assistant",
        content=reply.text,
        metadata={"title": title, "status": "pending", "log": "Press Stop to end it early."},
    )


def finished_box(box: object, reply: Reply) -> gr.ChatMessage:
    """The training box closed by the first block after the progress: finished, stopped or failed."""
    stopped = reply.progress is not None and reply.progress.stopped
    title = ("Training failed" if reply.kind == "error" else
             "Training stopped" if stopped or "stopped" in reply.text[:80] else
             "Training finished")
    return gr.ChatMessage(
        role="assistant",
        content=box.content if isinstance(box, gr.ChatMessage) else "",
        metadata={"title": title, "status": "done"},
    )


def as_plain_text(text: str) -> str:
    """Show the learner's own words as text, never as HTML or Markdown that runs."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for character in "\\`*_{}[]()#+!|~":
        escaped = escaped.replace(character, "\\" + character)
    return escaped
