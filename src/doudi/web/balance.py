"""Keep-alive connections recycled after a number of answers, so that the server's worker processes share the
clients evenly over time (nginx's `keepalive_requests`, which uvicorn lacks)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE = (b"connection", b"close")


class RecycleConnections:
    """Pure ASGI middleware: the `every`-th answer on a connection asks the client to close it.

    The worker processes share one listening socket, and a kept-alive connection stays with the worker that
    accepted it. Clients that connect at the same moment land unevenly (4, 5, 5 and 11 connections were seen on
    four workers), and the worker holding most of them answers slowest for as long as they live. A client that
    reconnects is accepted by whichever worker reaches the socket first, which is seldom the busiest one.
    """

    def __init__(self, app: ASGIApp, *, every: int) -> None:
        self.app, self.every = app, every
        self.served: dict[tuple[str, int], int] = {}  # answers so far, per client address and port (one connection)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client") if scope["type"] == "http" and self.every > 0 else None
        if not client:
            await self.app(scope, receive, send)
            return
        key = (client[0], client[1])
        n = self.served.get(key, 0) + 1
        if n < self.every:
            if len(self.served) > 10_000:  # entries of connections the clients closed themselves
                self.served.clear()
            self.served[key] = n
            await self.app(scope, receive, send)
            return
        self.served.pop(key, None)

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), CLOSE]
            await send(message)

        await self.app(scope, receive, closing)
