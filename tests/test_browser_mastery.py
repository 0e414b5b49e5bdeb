"""The mastery map in the real page, in headless Chromium: the side panel lists every concept
with a bar and its level in words, a missed check shows there at once, and "what should I
review?" leads, by its button, to a review question with its answer chips.

Needs playwright and Chromium like tests/test_browser.py (skipped without them, failed with
BRAIN_TUTOR_REQUIRE_BROWSER=1). A screenshot of the map goes to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.local import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, playwright_sync_api, require_chromium, served
from tutor import Tutor
from tutor.engine.mastery import load_concepts

sync_api = playwright_sync_api()

pytestmark = [pytest.mark.browser, pytest.mark.app]

LOAD_MS = 90_000
TURN_MS = 60_000
CHAT = "#tutor-chat"
CHIPS = f"{CHAT} .options button.option"
USER_MESSAGES = f'{CHAT} [data-testid="user"]'
TEXTBOX = "#tutor-input textarea"
MASTERY_MAP = "#mastery-map"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with served(Tutor(train_slice=2000)) as url:
        yield url + "/"


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    require_chromium()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(TURN_MS)
        tab = context.new_page()
        tab.goto(server, wait_until="domcontentloaded")
        tab.locator(CHAT).get_by_text("Why build a brain?").first.wait_for(timeout=LOAD_MS)
        tab.locator(CHIPS).first.wait_for(timeout=LOAD_MS)
        yield tab
        chromium.close()


def _wait_turn(page: Any, users_before: int) -> str:
    page.wait_for_function(
        """([users, chips, before]) =>
            document.querySelectorAll(users).length > before
            && document.querySelectorAll(chips).length > 0""",
        arg=[USER_MESSAGES, CHIPS, users_before],
        timeout=TURN_MS,
    )
    return page.evaluate("""() => {
        const rows = [...document.querySelectorAll('#tutor-chat .message-row')];
        let start = 0;
        rows.forEach((row, index) => { if (row.querySelector('[data-testid="user"]')) start = index + 1; });
        return rows.slice(start).map(row => row.innerText).join('\\n');
    }""")


def _say(page: Any, message: str) -> str:
    users_before = page.locator(USER_MESSAGES).count()
    textbox = page.locator(TEXTBOX)
    textbox.click()
    textbox.fill(message)
    textbox.press("Enter")
    return _wait_turn(page, users_before)


def _choose(page: Any, label_start: str) -> str:
    labels = [label.strip() for label in page.locator(CHIPS).all_inner_texts()]
    matches = [label for label in labels if label.startswith(label_start)]
    assert matches, f"no chip starting {label_start!r} among {labels}"
    users_before = page.locator(USER_MESSAGES).count()
    page.locator(CHIPS).filter(has_text=matches[0]).first.click()
    return _wait_turn(page, users_before)


def _row(page: Any, concept_id: str) -> Any:
    return page.locator(f'{MASTERY_MAP} tr[data-concept="{concept_id}"]')


def test_the_side_panel_lists_every_concept_before_any_answer(page):
    concepts = load_concepts(Tutor(max_messages_per_minute=None).pack).concepts
    panel = page.locator(MASTERY_MAP)
    panel.get_by_text("What you know").wait_for()
    assert panel.locator("tr").count() == len(concepts)
    assert "none met yet" in panel.inner_text()
    assert "not seen yet" in _row(page, "parameters").inner_text()
    # the bars are hidden from screen readers; the words say the same
    assert panel.locator('td[aria-hidden="true"]').count() == len(concepts)
    assert page.get_by_role("heading", name="What you know").count() == 1


def test_a_missed_check_shows_in_the_map_and_the_review_button_asks_about_it(page):
    _say(page, "go to summary")
    _say(page, "7000")
    reply = _say(page, "7001")
    assert "The answer is" in reply
    _row(page, "parameters").get_by_text("needs review").wait_for()
    assert "needs review" in _row(page, "weighted-sum-bias").inner_text()
    summary = page.locator(f"{MASTERY_MAP} .mastery-summary").inner_text()
    assert "to review:" in summary and "Parameters" in summary
    track = _row(page, "parameters").locator("td[aria-hidden] div").first
    bar = _row(page, "parameters").locator("td[aria-hidden] div div")
    assert 0 < bar.bounding_box()["width"] < track.bounding_box()["width"] / 2  # 13% of the track
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(MASTERY_MAP).screenshot(path=str(SCREENSHOTS / "mastery-map.png"))

    advice = _say(page, "what should I review?")
    assert "first" in advice and ("Weighted sum and bias" in advice or "Parameters" in advice)
    question = _choose(page, "Review:")
    assert "Review:" in question
    letters = [label for label in page.locator(CHIPS).all_inner_texts() if label.strip()[:2] in ("a)", "b)")]
    assert len(letters) == 2
    page.screenshot(path=str(SCREENSHOTS / "mastery-review.png"))
