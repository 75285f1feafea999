"""Every response carries a strict CSP, no framing and no sniffing; uploaded files open inline only when their
whole content matches their type; the API docs work offline."""

from __future__ import annotations

import re

import pytest

from doudi.cases.documents import shown_inline
from doudi.web.security import CSP

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16 + b"IEND\xaeB`\x82"


def test_headers_on_pages_api_static_and_errors(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/login", "/api/v1/openapi.json", "/static/app.css", "/no-such-page", "/healthz"):
        r = client.get(url)
        assert r.headers["content-security-policy"] == CSP, url
        assert r.headers["x-frame-options"] == "DENY", url
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["referrer-policy"] == "same-origin", url
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP.split("script-src")[1].split(";")[0]


def test_no_inline_scripts_in_templates() -> None:
    """The CSP blocks inline code, so no template may carry any (it would silently stop working)."""
    from pathlib import Path

    import doudi.web

    root = Path(doudi.web.__file__).parent / "templates"
    offenders = []
    for f in root.rglob("*.html"):
        text = f.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+\s*=\s*\"", text):
            offenders.append(f.name)
    assert offenders == []


def test_api_docs_are_offline(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in html and "/api/v1/openapi.json" in html
    assert "http://" not in html and "https://" not in html


@pytest.mark.parametrize(("data", "kind", "inline"), [
    (PDF, "application/pdf", True),
    (b"%PDF-1.4\n<html><script>alert(1)</script></html>", "application/pdf", False),  # a polyglot
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "application/pdf", False),  # no end marker: not a whole PDF
    (PNG, "image/png", True),
    (b"\x89PNG\r\n\x1a\n<svg onload=alert(1)>", "image/png", False),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 8 + b"\xff\xd9", "image/jpeg", True),
])
def test_documents_inline_only_when_content_matches(data: bytes, kind: str, inline: bool) -> None:
    assert shown_inline(data, kind) is inline
