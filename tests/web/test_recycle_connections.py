"""A kept-alive connection is closed by the server after `keepalive_requests` answers, and the client's next
request goes over a new connection, so the worker processes share the clients over time."""

from __future__ import annotations

from pathlib import Path

import httpx

from doudi.config import Settings
from tests.live import serve


def test_every_twentieth_answer_closes_the_connection(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    every = Settings().keepalive_requests
    assert every == 20
    ports, closing = [], []
    with serve(database.url, tmp_path / "var") as base, httpx.Client(base_url=base) as client:
        for _ in range(2 * every + 5):
            with client.stream("GET", "/healthz") as r:  # the connection's local port, before it may close
                ports.append(r.extensions["network_stream"].get_extra_info("client_addr")[1])
                assert r.read() and r.status_code == 200
                closing.append(r.headers.get("connection") == "close")
    # Answers 20 and 40 ask the client to reconnect; the others keep the connection.
    assert [i + 1 for i, c in enumerate(closing) if c] == [20, 40]
    assert len(set(ports[:20])) == 1 and len(set(ports[20:40])) == 1 and len(set(ports[40:])) == 1
    assert len({ports[0], ports[20], ports[40]}) == 3
