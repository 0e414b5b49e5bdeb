"""The page's language selector: English, Español, Deutsch, the browser's language by default.

The strings themselves are in strings.py (from lessons/page_strings.yaml); this is the control
that switches them. Picking a language switches Gradio's locale in the browser at once
(static/language.js, no round trip for the labels) and keeps the choice in the browser's local
storage beside the learner's id, so a reload or a later visit opens in it.
"""

from __future__ import annotations

import gradio as gr

from tutor.web.strings import LANGUAGE_JS, LANGUAGE_STORAGE_KEY, attach, chosen_language, languages, text


class LanguagePicker:
    """The selector and the learner's choice, drawn where it is created (in an open Blocks)."""

    def __init__(self, secret: str | None = None) -> None:
        root = gr.context.Context.root_block
        if root is not None:  # the page's strings travel with whatever page holds the block
            attach(root)
        # empty until the learner picks one: then the page follows the browser's language
        self.saved = gr.BrowserState("", storage_key=LANGUAGE_STORAGE_KEY, secret=secret)
        self.dropdown = gr.Dropdown(
            [(name, code) for code, name in languages().items()], value=None,
            label=text("language_label"), elem_id="page-language", interactive=True,
        )

    def wire(self) -> None:
        """A language picked: Gradio's locale switches in the browser; the choice is kept there."""
        self.dropdown.input(chosen_language, [self.dropdown], [self.saved], js=LANGUAGE_JS,
                            api_name=False, queue=False)

    def restore(self, demo: gr.Blocks) -> None:
        """When the page loads: the learner's choice, else the browser's language (in the browser)."""
        demo.load(None, [self.saved], [self.dropdown], js=LANGUAGE_JS, api_name=False, queue=False)
