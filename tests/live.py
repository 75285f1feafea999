"""A real uvicorn server in a background thread and a real headless Chromium, for browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from doudi.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(url: str, data_dir: Path) -> Iterator[str]:
    """Serve the real app on `url`'s database; yields the base URL."""
    from doudi.main import create_app

    port = free_port()
    settings = Settings(data_dir=data_dir, database_url=url, secret_key="browser-test", demo=True)
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def login(page: Any, base: str, username: str, password: str) -> None:
    """Sign in through the console's login form and wait for the workbench."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def wait_text(page: Any, selector: str, text: str, *, exact: bool = False) -> None:
    """Wait until the first element matching `selector` shows `text` (contains, or equals when `exact`).

    Playwright's `expect` matches inside its own injected script; a string given to `wait_for_function` is run
    through `eval`, which the console's Content-Security-Policy (script-src 'self') refuses."""
    from playwright.sync_api import expect

    target = expect(page.locator(selector).first)
    try:
        if exact:
            target.to_have_text(text, timeout=15000)
        else:
            target.to_contain_text(text, timeout=15000)
    except AssertionError as exc:
        # What the page told the user (a refused form shows its reasons), so a failure names its cause.
        shown = page.locator(".errors, .alert.bad").all_inner_texts()
        raise AssertionError(f"{exc}\npage {page.url} shows: {shown}") from None


def wait_present(page: Any, selector: str) -> None:
    """Wait until an element matching `selector` is in the page (drawn charts' canvases need not be visible)."""
    page.locator(selector).first.wait_for(state="attached", timeout=15000)
