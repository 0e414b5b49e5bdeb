"""The page in the learner's language, in headless Chromium: Spanish when the browser's language
is Spanish, German once chosen in the selector, and the choice kept across a reload.

Needs playwright and Chromium like tests/test_browser.py (skipped without them, failed with
BRAIN_TUTOR_REQUIRE_BROWSER=1). Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.local import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, playwright_sync_api, require_chromium, served
from tutor import Tutor
from tutor.web import strings

sync_api = playwright_sync_api()

pytestmark = [pytest.mark.browser, pytest.mark.app]

LOAD_MS = 90_000
PICKER = "#page-language"
TEXTBOX = "#tutor-input textarea"


def _in(code: str, key: str) -> str:
    return strings.load()[1][key][code]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with served(Tutor(train_slice=500)) as url:
        yield url + "/"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(chromium: Any, server: str, locale: str) -> Any:
    context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(LOAD_MS)
    page = context.new_page()
    page.goto(server, wait_until="domcontentloaded")
    page.locator(TEXTBOX).wait_for()
    return page


def _page_in(page: Any, code: str) -> None:
    """The page's own strings are shown in `code`: buttons, placeholder, panel titles, selector."""
    page.get_by_role("button", name=_in(code, "send"), exact=True).wait_for()
    page.get_by_role("button", name=_in(code, "stop_training"), exact=True).wait_for()
    page.get_by_role("button", name=_in(code, "export"), exact=True).wait_for()
    assert page.locator(TEXTBOX).get_attribute("placeholder") == _in(code, "input_placeholder")
    page.get_by_text(_in(code, "own_picture")).first.wait_for()
    page.get_by_text(_in(code, "lesson_map_legend")).first.wait_for()
    page.get_by_role("heading", name=_in(code, "mastery_title")).wait_for()
    page.get_by_text(_in(code, "header_intro")).first.wait_for()
    page.wait_for_function("([picker, name]) => document.querySelector(picker + ' input')?.value === name",
                           arg=[PICKER, strings.languages()[code]])
    assert "__i18n__" not in page.locator("body").inner_text()


def test_an_english_browser_gets_the_english_page(chromium, server):
    page = _open(chromium, server, "en-US")
    try:
        _page_in(page, "en")
    finally:
        page.context.close()


def test_a_spanish_browser_gets_the_page_in_spanish_then_german_when_chosen_and_kept(chromium, server):
    page = _open(chromium, server, "es-ES")
    try:
        _page_in(page, "es")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "language-es.png"))
        page.locator(f"{PICKER} input").click()
        page.get_by_role("option", name="Deutsch").click()
        _page_in(page, "de")
        page.screenshot(path=str(SCREENSHOTS / "language-de.png"))
        page.reload(wait_until="domcontentloaded")  # the choice outlives the browser's language
        page.locator(TEXTBOX).wait_for()
        _page_in(page, "de")
        page.screenshot(path=str(SCREENSHOTS / "language-de-reloaded.png"))
        # the page still works in the chosen language: the first lesson step arrives
        page.locator("#tutor-chat").get_by_text("Why build a brain?").first.wait_for()
    finally:
        page.context.close()
