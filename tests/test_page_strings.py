"""The page's own strings in every language (lessons/page_strings.yaml) and how they reach Gradio.

Every string id has a text in each of the page's languages; every id the page uses exists and
every id is used; and the translations travel with the page however it is served.
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest

from tutor.web import strings

WEB = Path(strings.__file__).parent
USED = re.compile(r"""\b(?:say|text)\(\s*["']([a-z_]+)["']""")


def _used_ids() -> set[str]:
    found: set[str] = set()
    for path in WEB.glob("*.py"):
        found |= set(USED.findall(path.read_text(encoding="utf-8")))
    return found | set(strings.STATUS_LINES)


def test_the_page_speaks_english_spanish_and_german():
    assert strings.languages() == {"en": "English", "es": "Español", "de": "Deutsch"}


def test_every_string_id_has_every_language():
    languages, rows = strings.load()
    assert rows, "no page strings"
    for key, row in rows.items():
        assert set(row) == set(languages), f"{key}: has {sorted(row)}, needs {sorted(languages)}"
        for code, value in row.items():
            assert value.strip(), f"{key}.{code} is empty"
            # Gradio reads translations as ICU messages: a brace would be taken for a placeholder
            assert "{" not in value and "}" not in value, f"{key}.{code} has a brace"
        assert row["es"] != row["en"] and row["de"] != row["en"], f"{key} is not translated"


def test_every_id_the_page_uses_exists_and_every_id_is_used():
    ids = set(strings.load()[1])
    used = _used_ids()
    assert used - ids == set(), "ids used by the page but missing from page_strings.yaml"
    assert ids - used == set(), "ids in page_strings.yaml that the page never shows"


def test_an_unknown_id_is_an_error_not_a_raw_key_on_the_page():
    with pytest.raises(KeyError):
        strings.text("no_such_string")


def test_the_translations_are_gradios_own():
    i18n = strings.page_i18n()
    assert isinstance(i18n, gr.I18n)
    assert i18n.translations_dict["es"]["send"] == "Enviar"
    assert i18n.translations_dict["de"]["send"] == "Senden"
    assert str(strings.text("send")).startswith("__i18n__")


def test_known_status_lines_are_translated_and_the_rest_kept():
    ready = strings.english("status_ready")
    assert strings.status_line(ready) == str(strings.text("status_ready"))
    saved = strings.english("status_ready_saved")
    assert strings.status_line(saved) == str(strings.text("status_ready_saved"))
    line = strings.status_line(f"{ready} Saving is turned off: disk full.")
    assert line == f"{strings.text('status_ready')} Saving is turned off: disk full."
    assert strings.status_line("Could not load the data set.") == "Could not load the data set."


def test_a_host_pages_own_translations_are_merged_and_win():
    host = gr.I18n(en={"greeting": "Hello", "send": "Go"}, fr={"greeting": "Bonjour"})
    both = strings.merged(host).translations_dict
    assert both["en"]["greeting"] == "Hello" and both["en"]["send"] == "Go"
    assert both["es"]["send"] == "Enviar" and both["fr"] == {"greeting": "Bonjour"}


def test_a_page_holding_the_block_carries_the_strings_even_launched_plainly(monkeypatch):
    calls = []
    with gr.Blocks() as demo:
        monkeypatch.setattr(demo, "launch", lambda *args, **kwargs: calls.append(kwargs))
        strings.attach(demo)
    assert demo.i18n_instance.translations_dict["de"]["send"] == "Senden"
    demo.launch(prevent_thread_lock=True)
    assert calls[0]["i18n"].translations_dict["es"]["send"] == "Enviar"
    strings.attach(demo)  # twice: still one wrapper
    demo.launch()
    assert len(calls) == 2


def test_the_chosen_language_is_kept_only_when_it_is_one_of_the_pages():
    assert strings.chosen_language("de") == "de"
    assert strings.chosen_language("xx") == "" and strings.chosen_language(None) == ""


def test_the_selector_script_knows_gradios_locale_module_and_the_languages():
    assert "__CORE_MODULE__" not in strings.LANGUAGE_JS and "__LANGUAGES__" not in strings.LANGUAGE_JS
    assert re.search(r'"core-[\w-]+\.js"', strings.LANGUAGE_JS)
    assert '"en","es","de"' in strings.LANGUAGE_JS
