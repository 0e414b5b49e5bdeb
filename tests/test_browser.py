"""The real page in headless Chromium, driven as a learner would: clicks, taps and keys.

Needs the `playwright` Python package and a Chromium binary (Debian's `chromium` package at
/usr/bin/chromium, or the path in BRAIN_TUTOR_CHROMIUM); `playwright install` is not needed.
Without them these tests are skipped, or fail when BRAIN_TUTOR_REQUIRE_BROWSER=1 (for CI).
Screenshots of key states go to artifacts/screenshots/.

The notebook walk runs once per module (fixture `walked`) and the desktop tests that follow
carry on in the same tab, in file order, like one learner's visit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.local import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, playwright_sync_api, require_chromium, served
from tutor import Tutor
from tutor.storage.sqlite import SQLiteStore

sync_api = playwright_sync_api()

pytestmark = [pytest.mark.browser, pytest.mark.app]


# Waits, in milliseconds. Training five epochs on the 2,000-image slice takes seconds alone but
# minutes on two cores under load; the first step waits for TensorFlow to finish importing.
LOAD_MS = 90_000
TURN_MS = 60_000
TRAIN_MS = 240_000
# Tabs from the top of the page to the textbox at step 1: the chat's Clear button, the copy
# buttons of each message and code block, the chips, then the textbox (measured: 10).
MAX_TABS = 15

CHAT = "#tutor-chat"
CHIPS = f"{CHAT} .options button.option"  # the option chips of the last assistant message
USER_MESSAGES = f'{CHAT} [data-testid="user"]'
PLOT_IMAGES = f"{CHAT} .message-row img"  # each chat figure is a PNG file shown as an <img>
TEXTBOX = "#tutor-input textarea"
LESSON_MAP = "#lesson-map"
STATUS = "#status-line"

NOTEBOOK_STEPS = [
    "Why build a brain?",
    "Meet the data",
    "Flashcards",
    "The math of one neuron",
    "Ten neurons, one layer",
    "Checking the model",
    "Loss and optimizer",
    "Training",
    "Prediction",
    "What we built",
]

# The text of every assistant message after the learner's last message (the current turn).
LAST_TURN_JS = """() => {
    const rows = [...document.querySelectorAll('#tutor-chat .message-row')];
    let start = 0;
    rows.forEach((row, index) => { if (row.querySelector('[data-testid="user"]')) start = index + 1; });
    return rows.slice(start).map(row => row.innerText).join('\\n');
}"""

# Every plot in the chat: its <img> alt, whether it decoded, and the message right after it.
PLOTS_JS = """() => {
    const rows = [...document.querySelectorAll('#tutor-chat .message-row')];
    const plots = [];
    rows.forEach((row, index) => {
        const img = row.querySelector('img');
        if (!img) return;
        const caption = row.querySelector('em');  // "*Figure: ...*" under the image
        plots.push({
            index: plots.length,
            alt: img.getAttribute('alt') || '',
            loaded: img.complete && img.naturalWidth > 0,
            width: img.getBoundingClientRect().width,
            caption: caption ? caption.innerText.trim() : '',
        });
    });
    return plots;
}"""

# An alt text Gradio writes itself when it knows nothing of the figure.
GENERIC_ALT = re.compile(r"^(|undefined.*|.*plot visualising provided data)$", re.IGNORECASE)


# ----- serving and browsing ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    # a real store in a temporary folder, so a reload can resume the learner
    store = SQLiteStore(tmp_path_factory.mktemp("learners"))
    with served(Tutor(train_slice=2000, store=store)) as url:  # the page as learners see it
        yield url + "/"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _new_page(browser: Any, **context_options: Any) -> Any:
    context = browser.new_context(**context_options)
    context.set_default_timeout(TURN_MS)
    return context.new_page()


def _shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def _open(page: Any, url: str) -> None:
    """Load the page and wait for the first step and its chips."""
    page.goto(url, wait_until="domcontentloaded")
    page.locator(CHAT).get_by_text("Why build a brain?").first.wait_for(timeout=LOAD_MS)
    page.locator(CHIPS).first.wait_for(timeout=LOAD_MS)


def _current_step(page: Any) -> str:
    """The lesson map's current line, e.g. '▶ 3. Flashcards'."""
    for line in page.locator(LESSON_MAP).inner_text().splitlines():
        if line.startswith("▶ ") and "you are here" not in line:
            return line.strip()
    raise AssertionError(f"no current step in the lesson map:\n{page.locator(LESSON_MAP).inner_text()}")


def _wait_step(page: Any, number: int, timeout: int = TURN_MS) -> None:
    page.locator(LESSON_MAP).get_by_text(re.compile(rf"▶ {number}\. ")).wait_for(timeout=timeout)


def _chip_labels(page: Any) -> list[str]:
    return [label.strip() for label in page.locator(CHIPS).all_inner_texts()]


def _wait_turn(page: Any, users_before: int, timeout: int = TURN_MS) -> str:
    """Wait until the learner's new message is shown and the turn has ended, then return the
    text of the tutor's reply. Each turn ends by putting chips under its last message (the
    page strips the old ones as soon as the learner's message appears)."""
    page.wait_for_function(
        """([users, chips, before]) =>
            document.querySelectorAll(users).length > before
            && document.querySelectorAll(chips).length > 0""",
        arg=[USER_MESSAGES, CHIPS, users_before],
        timeout=timeout,
    )
    return page.evaluate(LAST_TURN_JS)


def _choose(page: Any, label_start: str, timeout: int = TURN_MS, tap: bool = False) -> str:
    """Click (or tap) the chip whose label starts with `label_start`; return the reply text."""
    labels = _chip_labels(page)
    matches = [label for label in labels if label.startswith(label_start)]
    assert matches, f"no chip starting {label_start!r} among {labels}"
    users_before = page.locator(USER_MESSAGES).count()
    chip = page.locator(CHIPS).filter(has_text=matches[0]).first
    chip.tap() if tap else chip.click()
    return _wait_turn(page, users_before, timeout)


def _say(page: Any, message: str, timeout: int = TURN_MS, wait: bool = True, send: bool = False) -> str:
    """Type into the textbox and press Enter (or click Send); return the reply text (or '' with
    wait=False)."""
    users_before = page.locator(USER_MESSAGES).count()
    textbox = page.locator(TEXTBOX)
    textbox.click()
    textbox.fill(message)
    if send:
        page.get_by_role("button", name="Send", exact=True).click()
    else:
        textbox.press("Enter")
    return _wait_turn(page, users_before, timeout) if wait else ""


def _plots(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(PLOTS_JS)


def _show_plot(page: Any, caption_part: str) -> None:
    """Scroll the chat to the last plot whose caption mentions `caption_part`."""
    plots = [plot for plot in _plots(page) if caption_part.lower() in plot["caption"].lower()]
    assert plots, f"no plot captioned with {caption_part!r}: {[p['caption'][:60] for p in _plots(page)]}"
    page.locator(PLOT_IMAGES).nth(plots[-1]["index"]).evaluate(
        "img => img.closest('.message-row').scrollIntoView({block: 'start'})"
    )


def _scroll_to_last_turn(page: Any) -> None:
    """Scroll the chat so that the learner's last message is at the top: the reply in view."""
    page.locator(USER_MESSAGES).last.evaluate(
        "node => node.closest('.message-row').scrollIntoView({block: 'start'})"
    )


# ----- one learner walks the notebook by chips alone (desktop) -----------------------------


@pytest.fixture(scope="module")
def walked(browser: Any, server: str) -> Iterator[dict[str, Any]]:
    """A desktop learner who clicked through the ten notebook steps by the chips alone.

    Yields the page (still open at step 10) and what was seen on the way.
    """
    page = _new_page(browser, viewport={"width": 1280, "height": 900})
    record: dict[str, Any] = {"page": page, "steps": [], "shots": [], "katex_at_neuron": 0}
    _open(page, server)
    record["steps"].append(_current_step(page))
    flashcard_reply = ""
    for _ in range(30):
        labels = _chip_labels(page)
        if any(label.startswith("0:") for label in labels):  # a flashcard waits for a guess
            if not flashcard_reply:
                record["shots"].append(_shot(page, "flashcard"))
            reply = _choose(page, "9:")
            flashcard_reply = flashcard_reply or reply
            record.setdefault("score_after_first_card", page.locator(LESSON_MAP).inner_text())
            continue
        step_before = _current_step(page)
        training_next = any(label.startswith("Next: Training") for label in labels)
        reply = _choose(page, "Next", timeout=TRAIN_MS if training_next else TURN_MS)
        step = _current_step(page)
        assert step != step_before, f"'Next' left the learner at {step}"
        record["steps"].append(step)
        if step.startswith("▶ 4."):
            page.locator(f"{CHAT} .katex").first.wait_for()
            record["katex_at_neuron"] = page.locator(f"{CHAT} .katex").count()
        if step.startswith("▶ 8."):
            record["training_reply"] = reply
            _show_plot(page, "loss")
            record["shots"].append(_shot(page, "training-curves"))
        if step.startswith("▶ 9."):
            record["prediction_reply"] = reply
            _show_plot(page, "bar chart")
            record["shots"].append(_shot(page, "prediction"))
        if step.startswith("▶ 10."):
            break
    record["flashcard_reply"] = flashcard_reply
    yield record
    page.context.close()


def test_every_notebook_step_is_reached_by_chips_alone(walked):
    numbers = [int(re.match(r"▶ (\d+)\.", step).group(1)) for step in walked["steps"]]
    assert numbers == list(range(1, 11)), walked["steps"]
    for step, title in zip(walked["steps"], NOTEBOOK_STEPS, strict=True):
        assert title in step
    page = walked["page"]
    assert "What we built" in page.locator(CHAT).inner_text()
    assert any(label.startswith("Next: Scaling") for label in _chip_labels(page))
    for shot in walked["shots"]:
        assert shot.stat().st_size > 10_000, shot


def test_a_flashcard_guess_gets_feedback_and_a_score(walked):
    # training image 42 is an ankle boot: the guess "9: Ankle boot" is right
    assert walked["flashcard_reply"].strip(), "no reply to the flashcard guess"
    assert "Ankle boot" in walked["flashcard_reply"]
    assert "Flashcards: 1 of 1 right" in walked["score_after_first_card"]


def test_training_step_finishes_with_curves_and_live_curve(walked):
    reply = walked["training_reply"]
    assert "Training finished" in reply
    assert "| epoch | loss |" not in reply  # the table renders as a table, not as raw Markdown
    page = walked["page"]
    assert page.locator(f"{CHAT} table").count() >= 1
    # the side panel's live curve shows the last training: the browser draws it (Vega, SVG)
    # from the epochs' accuracies, one line for the training and one for the validation images
    lines = page.locator("#live-curve svg .mark-line path")
    lines.first.wait_for(timeout=TURN_MS)
    assert lines.count() == 2
    assert "training" in page.locator("#live-curve").inner_text()
    assert "validation" in page.locator("#live-curve").inner_text()


def test_plots_render_as_images_in_the_chat(walked):
    plots = _plots(walked["page"])
    # data grid, two flashcards and their answers, pixels, diagram, curves, predictions
    assert len(plots) >= 8, plots
    for plot in plots:
        assert plot["loaded"], f"plot {plot['index']} did not decode: {plot}"
        assert plot["width"] > 100, f"plot {plot['index']} is too small to see: {plot}"


def test_every_plot_has_its_own_alt_text_and_a_caption(walked):
    plots = _plots(walked["page"])
    assert plots
    for plot in plots:
        assert not GENERIC_ALT.match(plot["alt"].strip()), (
            f"plot {plot['index']} has no alt text of its own: {plot['alt']!r}")
        assert len(plot["alt"]) > 30, f"plot {plot['index']} alt text is too thin: {plot['alt']!r}"
        assert plot["caption"].startswith("Figure:"), (
            f"plot {plot['index']} has no 'Figure:' caption under it: {plot['caption'][:80]!r}")


def test_neuron_formula_renders_as_latex(walked):
    assert walked["katex_at_neuron"] >= 1
    page = walked["page"]
    annotations = page.locator(f'{CHAT} .katex annotation[encoding="application/x-tex"]')
    assert "y = m x + b" in annotations.all_text_contents()
    assert "$$" not in page.locator(CHAT).inner_text()  # no formula left as raw source


def test_a_typed_question_gets_an_answer(walked):
    page = walked["page"]
    reply = _say(page, "what is a logit?")
    assert "logit" in reply.lower(), reply
    assert "Traceback" not in reply
    sync_api.expect(page.locator(TEXTBOX)).to_have_value("", timeout=10_000)  # cleared for the next
    _scroll_to_last_turn(page)
    _shot(page, "answer")


def test_stop_training_button_stops_a_long_training(walked):
    page = walked["page"]
    users_before = page.locator(USER_MESSAGES).count()
    _say(page, "train for 20 epochs", wait=False, send=True)
    box = page.locator(f"{CHAT} .thought-group").filter(has_text=re.compile(r"Training: epoch \d+ of 20"))
    box.last.wait_for(timeout=TRAIN_MS)
    page.locator(STATUS).get_by_text(re.compile(r"Epoch \d+/20")).wait_for()  # the side panel follows
    _shot(page, "training-live")
    page.get_by_role("button", name="Stop training").click()
    reply = _wait_turn(page, users_before, timeout=TRAIN_MS)
    # "Training stopped early after N epoch(s)", or "...stopped before any epoch finished"
    assert "Training stopped" in reply, reply
    assert "after 20 epoch" not in reply
    _scroll_to_last_turn(page)
    _shot(page, "training-stopped")


def test_reload_resumes_where_the_learner_was(walked):
    page = walked["page"]
    before = _current_step(page)
    assert not before.startswith("▶ 1.")
    page.reload(wait_until="domcontentloaded")
    page.locator(CHIPS).first.wait_for(timeout=LOAD_MS)
    _shot(page, "after-reload")
    assert _current_step(page) == before
    offer = page.evaluate(LAST_TURN_JS) + "\n" + "\n".join(_chip_labels(page))
    assert re.search(r"continue|resume|welcome back|where you left", offer, re.IGNORECASE), offer


# ----- a phone ------------------------------------------------------------------------------


def test_mobile_learner_taps_through_the_first_steps(browser, server):
    page = _new_page(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
        device_scale_factor=2,
    )
    try:
        _open(page, server)
        assert _current_step(page).startswith("▶ 1.")
        _choose(page, "Next", tap=True)
        _wait_step(page, 2)
        _choose(page, "Next", tap=True)
        _wait_step(page, 3)
        assert any(label.startswith("9:") for label in _chip_labels(page))
        reply = _choose(page, "9:", tap=True)
        assert "Ankle boot" in reply
        assert "Flashcards: 1 of 1 right" in page.locator(LESSON_MAP).inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px wide)"
        _scroll_to_last_turn(page)
        _shot(page, "mobile-flashcard")
    finally:
        page.context.close()


# ----- the keyboard alone ---------------------------------------------------------------------


def test_keyboard_reaches_the_textbox_and_the_chips(browser, server):
    page = _new_page(browser, viewport={"width": 1280, "height": 900})
    in_textbox = "() => !!document.activeElement && !!document.activeElement.closest('#tutor-input')"
    try:
        _open(page, server)
        page.locator("h1").first.click()  # start Tab navigation at the top of the page
        assert not page.evaluate(in_textbox)
        tabs = 0
        for tabs in range(1, MAX_TABS + 1):  # noqa: B007  (the count is the result)
            page.keyboard.press("Tab")
            if page.evaluate(in_textbox):
                break
        assert page.evaluate(in_textbox), f"{MAX_TABS} Tabs from the page start never reached the textbox"
        users_before = page.locator(USER_MESSAGES).count()
        page.keyboard.type("next")
        page.keyboard.press("Enter")
        _wait_turn(page, users_before)
        _wait_step(page, 2)
        # back from the textbox with Shift+Tab to the "Next:" chip, and Enter presses it
        page.locator(TEXTBOX).focus()
        for _ in range(10):
            page.keyboard.press("Shift+Tab")
            focused = page.evaluate("() => document.activeElement.innerText || ''")
            if focused.startswith("Next:"):
                break
        assert focused.startswith("Next:"), f"Shift+Tab from the textbox never reached 'Next': {focused!r}"
        users_before = page.locator(USER_MESSAGES).count()
        page.keyboard.press("Enter")
        _wait_turn(page, users_before)
        _wait_step(page, 3)
        print(f"Tabs from the page start to the textbox: {tabs}")
    finally:
        page.context.close()
