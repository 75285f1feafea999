"""Security headers on every response (a strict Content-Security-Policy, no framing, no MIME sniffing), and the
retry of requests that SQLite answered busy."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# Scripts only from our own static files (no inline code, no CDN); styles may be inline (htmx adds one).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
       "form-action 'self'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers at the start of each HTTP response, streaming or not."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


BUSY_HEADER = b"x-doudi-busy"  # set by the error handler when a rerun may succeed; never leaves the server


class BusyRetry:
    """Pure ASGI middleware: a request whose transaction the database refused for a reason a rerun may clear
    (SQLite busy or a stale snapshot, a PostgreSQL serialization failure or deadlock; the error handler marks
    the answer after the route's work was rolled back) is run again, a bounded number of times with growing
    pauses, each retry logged; the last answer (503 with Retry-After, or 409) goes out as it is. Only requests
    whose body fits in memory (`max_body`) are retried."""

    def __init__(self, app: ASGIApp, *, attempts: int = 4, delay: float = 0.1, max_body: int = 1 << 20) -> None:
        self.app, self.attempts, self.delay, self.max_body = app, attempts, delay, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[Message] = []
        size, more = 0, True
        while more and size <= self.max_body:
            message = await receive()
            body.append(message)
            size += len(message.get("body", b""))
            more = message["type"] == "http.request" and bool(message.get("more_body"))
        if more:  # too large to keep for a retry: replay what was read, then stream the rest through
            await self.app(scope, _replay(body, receive), send)
            return
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            busy = False

            async def forward(message: Message, last: bool = last) -> None:
                nonlocal busy
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    busy = any(k.lower() == BUSY_HEADER for k, _ in headers)
                    message["headers"] = [(k, v) for k, v in headers if k.lower() != BUSY_HEADER]
                if not busy or last:
                    await send(message)

            await self.app(scope, _replay(body, receive), forward)
            if not busy or last:
                return
            wait = self.delay * 2 ** (attempt - 1)
            log.warning("数据库繁忙：%s %s 第 %d 次重试（%.0f 毫秒后）", scope.get("method"), scope.get("path"),
                        attempt, wait * 1000)
            await asyncio.sleep(wait)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    queue = list(messages)

    async def next_message() -> Message:
        return queue.pop(0) if queue else await receive()

    return next_message
