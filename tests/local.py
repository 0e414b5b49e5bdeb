"""What the tests that serve the real app on 127.0.0.1 share: a free port, a client, chat text."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gradio_client import Client

# The browser tests drive Debian's Chromium; .ci/run sets BRAIN_TUTOR_REQUIRE_BROWSER=1 so that
# a missing browser fails the run instead of skipping it.
REQUIRE_BROWSER = os.environ.get("BRAIN_TUTOR_REQUIRE_BROWSER", "") not in ("", "0")
CHROMIUM = os.environ.get("BRAIN_TUTOR_CHROMIUM", "/usr/bin/chromium")

# Debian's Chromium, headless in a container: no sandbox, no GPU, nothing fetched in the background.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"

def require_chromium() -> None:
    """Skip the calling test without Chromium, or fail it where a browser is required."""
    import pytest

    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium, or set BRAIN_TUTOR_CHROMIUM)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)


def playwright_sync_api() -> Any:
    """Playwright's sync API for a browser test module; without the package the module is skipped,
    or its import fails where a browser is required. Call it at the module's top level."""
    import pytest

    try:
        from playwright import sync_api
    except ImportError:
        if REQUIRE_BROWSER:
            raise
        pytest.skip("the playwright package is not installed", allow_module_level=True)
    return sync_api


@contextlib.contextmanager
def served(tutor: Any) -> Iterator[str]:
    """`tutor`'s page served on a free loopback port as `python app.py` serves it (the page's own
    `launch`: its stylesheet, then the warm-up); yields the base URL, without a trailing slash."""
    from tutor.web.page import build_app, launch

    demo = build_app(tutor)
    port = free_port()
    launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


# Generous: on a loaded 2-core machine the first request (the API description) can take seconds.
CLIENT_TIMEOUT_SECONDS = 120


def free_port() -> int:
    """A port nothing listens on right now, on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_client(url: str) -> Client:
    """A gradio_client for a local server, as another program would use it."""
    return Client(url, download_files=False, verbose=False,
                  httpx_kwargs={"timeout": CLIENT_TIMEOUT_SECONDS})


def chat_text(messages: list[dict[str, Any]]) -> str:
    """The text of chat messages as gradio_client returns them (plots and files left out)."""
    parts = []
    for message in messages:
        content = message["content"]
        for item in content if isinstance(content, list) else [content]:
            if isinstance(item, dict) and item.get("type") == "text":
                parts.append(item["text"])
            elif isinstance(item, str):
                parts.append(item)
    return INLINE_IMAGE.sub("[figure]", "\n".join(parts))


# a chat figure: the alt text, then the image inline (tutor.web.messages.figure_markdown)
INLINE_IMAGE = re.compile(r"!\[([^\]]*)\]\((data:image/[a-z]+;base64,[A-Za-z0-9+/=]+)\)")
