"""The page's own strings in the learner's language: English, Spanish and German.

The strings are data (lessons/page_strings.yaml, one row per id with a text per language); the
page writes `text("send")` where it would write "Send", and Gradio's `gr.I18n` translates it in
the browser, in the browser's language on a first visit. The language selector (language.py)
switches Gradio's own locale at once (static/language.js), and the choice is kept in the browser.

Why gr.I18n: it is Gradio's own (a dependency already there), it translates in the browser, so a
label costs the server nothing per learner, and Gradio's built-in strings ("Drop Audio Here",
"Clear") follow the same locale. Its limits in Gradio 6.31: one translated string per value (a
second marker in the same value is shown raw), no placeholders inside a translation, and
choices, axis titles and chat messages are not translated (those the page leaves in English).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gradio as gr
import yaml

from tutor.engine.lessons import DEFAULT_PACK

STRINGS_FILE = DEFAULT_PACK / "page_strings.yaml"
STATIC = Path(__file__).parent / "static"
LANGUAGE_STORAGE_KEY = "brain-tutor-language"


@functools.cache
def load(path: Path = STRINGS_FILE) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The languages (code -> its own name) and the strings (id -> language -> text)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    languages = {str(code): str(name) for code, name in data["languages"].items()}
    strings = {str(key): {str(code): str(value) for code, value in row.items()}
               for key, row in data["strings"].items()}
    return languages, strings


def languages() -> dict[str, str]:
    """The page's languages, code -> name in that language ("es" -> "Español")."""
    return load()[0]


@functools.cache
def page_i18n() -> gr.I18n:
    """The page's strings as Gradio's translations, one dictionary per language."""
    codes, strings = load()
    return gr.I18n(**{code: {key: row[code] for key, row in strings.items() if code in row}
                      for code in codes})


def text(key: str) -> Any:
    """The string `key`, to be shown in the learner's language (KeyError for an unknown id)."""
    if key not in load()[1]:
        raise KeyError(f"no page string {key!r} in {STRINGS_FILE.name}")
    return page_i18n()(key)


def chosen_language(code: Any) -> str:
    """The language the learner picked, to keep in the browser (one of the page's, or none)."""
    return code if code in languages() else ""


def english(key: str) -> str:
    """The English text of `key` (for the few places that must compare or log it)."""
    return load()[1][key]["en"]


def merged(other: gr.I18n | None) -> gr.I18n:
    """The page's translations with a host page's own (the host's win where both have a key)."""
    if other is None:
        return page_i18n()
    ours = page_i18n().translations_dict
    theirs = other.translations_dict
    return gr.I18n(**{code: {**ours.get(code, {}), **theirs.get(code, {})}
                      for code in {*ours, *theirs}})


def attach(blocks: gr.Blocks) -> None:
    """Make `blocks` (the page holding the tutor) carry the page's translations however it is
    served: `blocks.launch()` without `i18n=`, with a host's own `gr.I18n` (merged), or mounted
    with `gr.mount_gradio_app` (which keeps the translations set here)."""
    blocks.i18n_instance = merged(getattr(blocks, "i18n_instance", None))
    launch = blocks.launch
    if getattr(launch, "keeps_page_strings", False):
        return

    @functools.wraps(launch)
    def launch_with_strings(*args: Any, **kwargs: Any) -> Any:
        kwargs["i18n"] = merged(kwargs.get("i18n"))
        return launch(*args, **kwargs)

    launch_with_strings.keeps_page_strings = True  # type: ignore[attr-defined]
    blocks.launch = launch_with_strings  # type: ignore[method-assign]


# The status lines the Tutor writes that the page shows in the learner's language (the rest,
# such as an error or the store's health, stay as the Tutor wrote them).
STATUS_LINES = ("status_loading_saved", "status_ready_saved", "status_loading", "status_ready")


def status_line(line: str) -> str:
    """The side panel's status line, in the learner's language where the page knows it."""
    for key in STATUS_LINES:
        known = english(key)
        if line == known:
            return str(text(key))
        if key.endswith("_saved") or not line.startswith(known + " "):
            continue
        return f"{text(key)}{line[len(known):]}"  # the known sentence, then the rest as written
    return line


# The selector's script: switch Gradio's locale in the browser. Gradio's own module that holds
# the locale (`changeLocale`, which its Settings panel uses) has a hashed name; it is found
# among the scripts the page loaded, or beside Gradio's assets.
def _core_module() -> str:
    assets = Path(gr.__file__).parent / "templates" / "frontend" / "assets"
    found = sorted(path.name for path in assets.glob("core-*.js"))
    return found[0] if found else ""


LANGUAGE_JS = ((STATIC / "language.js").read_text(encoding="utf-8")
               .replace("__CORE_MODULE__", _core_module())
               .replace("__LANGUAGES__", ",".join(f'"{code}"' for code in languages())))
