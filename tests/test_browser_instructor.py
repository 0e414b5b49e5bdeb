"""The instructor's page in headless Chromium: two learners join by the class code in the
page's address, and the instructor, once signed in with the token, sees both of them, the
mastery heatmap (numbers in every cell) and downloads the CSV; without the token the page
refuses. Needs playwright and Chromium, like tests/test_browser.py."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.local import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, playwright_sync_api, require_chromium, served
from tutor import Tutor
from tutor.storage.sqlite import SQLiteStore

sync_api = playwright_sync_api()

pytestmark = [pytest.mark.browser, pytest.mark.app]

LOAD_MS = 90_000
TOKEN = "browser-instructor-token-0123456789"
CHAT = "#tutor-chat"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, Tutor]]:
    tutor = Tutor(train_slice=2000, store=SQLiteStore(tmp_path_factory.mktemp("learners")))
    with served(tutor) as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("BRAIN_TUTOR_INSTRUCTOR_TOKEN", TOKEN)  # the token for this module's tests only
        yield url, tutor


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _say(page: Any, message: str, expect: str) -> None:
    page.locator("#tutor-input textarea").fill(message)
    page.keyboard.press("Enter")
    page.locator(CHAT).get_by_text(expect).first.wait_for()


def _learner_joins(browser: Any, url: str, answer: bool = False) -> str:
    """A learner of their own (a context: their own local storage) opens the class link;
    with `answer`, they answer the first step's check right (evidence for the heatmap)."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(LOAD_MS)
    page.goto(f"{url}/?class=Demo", wait_until="domcontentloaded")
    joined = page.locator(CHAT).get_by_text("You joined class").first
    joined.wait_for()
    page.locator(CHAT).get_by_text("Why build a brain?").first.wait_for()
    text = joined.inner_text()
    if answer:
        _say(page, "check", "GPU")
        _say(page, "They were built for fast matrix maths", "Correct!")
    return text.split(" as ", 1)[1].split(".", 1)[0].strip()


def test_two_learners_by_class_link_and_the_instructor_sees_them(server, browser, tmp_path):
    url, tutor = server
    names = [_learner_joins(browser, url, answer=True), _learner_joins(browser, url)]
    assert all(names)

    instructor = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = instructor.new_page()
    page.set_default_timeout(LOAD_MS)

    # without the token: refused, with a form to type it
    response = page.goto(f"{url}/instructor/demo")
    assert response.status == 403
    assert names[0] not in page.content()
    page.get_by_label("Instructor token").fill("not the token")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert "not right" in page.get_by_role("alert").inner_text()

    # with it: the classes, then the class
    page.get_by_label("Instructor token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Your classes").wait_for()
    page.get_by_role("link", name="demo").click()
    page.get_by_role("heading", name="Class demo").wait_for()
    learners = page.locator("#learners tbody tr")
    assert learners.count() == 2
    table = page.locator("#learners").inner_text()
    assert all(name in table for name in names)
    assert "Why build a brain?" in table

    heatmap = page.locator("#heatmap")
    assert heatmap.locator("tbody tr").count() == 2
    concepts = list(tutor.mastery(tutor.new_session()))
    header = heatmap.locator("thead th")
    assert header.count() == len(concepts) + 1
    cells = heatmap.locator("tbody td")
    assert cells.count() == 2 * len(concepts)
    texts = [text.strip() for text in cells.all_inner_texts()]
    assert all(texts)  # a number or a dash in every cell: colour is never the only cue
    first_row = heatmap.locator("tbody tr").filter(has_text=names[0]).locator("td").all_inner_texts()
    assert any(text.strip().startswith(("0.", "1.")) for text in first_row), first_row  # the check moved it
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "instructor-class.png"), full_page=True)

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download CSV").click()
    download = waiting.value
    assert download.suggested_filename == "class-demo.csv"
    target = tmp_path / "class.csv"
    download.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert sorted(row["pseudonym"] for row in rows) == sorted(names)
    assert all(0 <= float(row[concepts[0]]) <= 1 for row in rows)

    # a fresh browser, no token: still refused
    stranger = browser.new_context().new_page()
    assert stranger.goto(f"{url}/instructor/demo.csv").status == 403
