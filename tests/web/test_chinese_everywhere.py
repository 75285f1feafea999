"""Chinese everywhere a person reads (issue 15 item 4): every page and export each demo account can reach,
crawled from the workbench through the links it shows, has no English word outside the allow-list of
tests/web/chinese.py; the 403 and validation pages are Chinese too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from doudi.auth.models import User
from doudi.care.models import CareProvider as Provider
from doudi.charity.models import Partner
from doudi.config import Settings
from doudi.core import storage
from doudi.db.engine import make_engine, session_scope
from doudi.synth.demo import run_demo
from doudi.synth.demo_accounts import DemoAccount, demo_accounts
from tests.pdf import pdf_text
from tests.web.chinese import english_words, html_text, xlsx_text
from tests.web.forms import Form, post_forms

HREF = re.compile(r'href="([^"]+)"')
SKIP = ("/static/", "/logout", "/api/")
PER_PATTERN = 2  # pages of one shape (/cases/N) visited per account: two show the shape, more add only time
MAX_PAGES = 150


def _identifiers(settings: Settings) -> frozenset[str]:
    """Names the installation chose and shows as they are: user names, organisation and provider keys, and the
    test client's address (an IP address in a real request)."""
    engine = make_engine(settings.database_url)
    with session_scope(engine) as s:
        names = set(s.scalars(select(User.username))) | set(s.scalars(select(User.org_key).where(
            User.org_key.is_not(None)))) | set(s.scalars(select(Provider.key))) | set(s.scalars(select(Partner.key)))
    engine.dispose()
    return frozenset({str(n) for n in names} | {"testclient"})


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The demo county (60 households) on SQLite: the words on a page do not depend on the backend."""
    tmp = tmp_path_factory.mktemp("demo_words")
    settings = Settings(data_dir=tmp / "var", database_url=f"sqlite:///{tmp / 'demo.db'}", secret_key="k", demo=True)
    engine = make_engine(settings.database_url)
    storage.configure(settings.data_dir)  # the feed files go where the served app will read them
    run_demo(settings=settings, engine=engine, households=60, seed=5)
    engine.dispose()
    yield settings


def _login(client: TestClient, account: DemoAccount) -> None:
    page = client.get("/login")
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m is not None
    r = client.post("/login", data={"username": account.username, "password": account.password,
                                    "csrf_token": m.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _pattern(url: str) -> str:
    parsed = urlparse(url)
    keys = sorted(k.split("=")[0] for k in parsed.query.split("&") if k)
    return re.sub(r"\d+", "N", parsed.path) + "?" + "&".join(keys)


def _words_of(content_type: str, body: bytes, known: frozenset[str]) -> set[str]:
    if "spreadsheetml" in content_type:
        return english_words(xlsx_text(body), known)
    if "pdf" in content_type:
        return english_words(pdf_text(body), known)
    if "html" in content_type:
        return english_words(html_text(body.decode("utf-8")), known)
    return set()


def crawl(client: TestClient, known: frozenset[str] = frozenset(),
          forms: dict[str, tuple[str, Form]] | None = None) -> tuple[dict[str, set[str]], int]:
    """English words per URL on every page reachable from the workbench, and how many pages were read;
    `forms` collects one POST form of each shape (its page and the form)."""
    seen_patterns: dict[str, int] = {}
    queue: list[str] = ["/"]
    visited: set[str] = set()
    found: dict[str, set[str]] = {}
    while queue and len(visited) < MAX_PAGES:
        url = queue.pop(0)
        if url in visited:
            continue
        pattern = _pattern(url)
        if seen_patterns.get(pattern, 0) >= PER_PATTERN:
            continue
        seen_patterns[pattern] = seen_patterns.get(pattern, 0) + 1
        visited.add(url)
        r = client.get(url, follow_redirects=True)
        assert r.status_code < 500, (url, r.status_code)
        ctype = r.headers.get("content-type", "")
        words = _words_of(ctype, r.content, known)
        if words:
            found[url] = words
        if "html" not in ctype:
            continue
        for form in post_forms(r.text, url):
            if forms is not None and not form.action.startswith("/logout") and "disabled" not in form.buttons:
                forms.setdefault(re.sub(r"\d+", "N", form.action), (url, form))
        for href in HREF.findall(r.text):
            target, _ = urldefrag(urljoin(url, href.replace("&amp;", "&")))
            parsed = urlparse(target)
            if parsed.netloc not in {"", "testserver"} or not parsed.path.startswith("/"):
                continue
            local = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if not local.startswith(SKIP) and local not in visited:
                queue.append(local)
    return found, len(visited)


@pytest.mark.parametrize("account", demo_accounts(), ids=lambda a: a.username)
def test_every_page_each_role_reaches_is_chinese(demo: Settings, account: DemoAccount) -> None:
    from doudi.main import create_app

    with TestClient(create_app(demo)) as client:
        _login(client, account)
        found, pages = crawl(client, _identifiers(demo))
    assert pages >= 3, pages  # the workbench and at least two pages behind its links
    assert found == {}, "\n".join(f"{url}: {sorted(words)}" for url, words in sorted(found.items()))


def test_words_outside_identifiers_are_found() -> None:
    # The checker itself: identifiers with digits pass, keys and English words are caught.
    assert english_words("案件 SQ20261205001A3F 户号 370784001001000123 面积 85 m² 导出 Excel") == set()
    assert english_words("卫生厕所 toilet/flush 操作 auth.login user 8") == {"toilet", "flush", "auth", "login",
                                                                                "user"}
    assert english_words(html_text('<p title="Value error">中</p><script>var x = "ok";</script>')) == {
        "Value", "error"}
    assert english_words(html_text("""<div data-echarts='{"series": [{"name": "dibao"}]}'></div>""")) == {"dibao"}


def test_denied_and_invalid_pages_explain_in_chinese(demo: Settings) -> None:
    from doudi.main import create_app

    auditor = next(a for a in demo_accounts() if a.role == "auditor")
    with TestClient(create_app(demo)) as client:
        _login(client, auditor)
        denied = client.get("/cases/new")  # the auditor reads; registering an application is not theirs
        assert denied.status_code == 403
        text = html_text(denied.text)
        assert "登记申请" in text and "乡镇经办人" in text, text  # what is missing, and who has it
        assert english_words(text) == set()
    assert Path(demo.data_dir).exists()


@pytest.mark.parametrize("account", demo_accounts(), ids=lambda a: a.username)
def test_no_role_is_shown_a_form_it_cannot_submit(demo: Settings, account: DemoAccount) -> None:
    # Issue 15 item 8: every POST form a role is shown, sent as it stands, is never refused for permission (a
    # 422 for a missing field or a 409 for a state is the form working; a 403 is a form the role should not
    # have seen). Runs after the crawls above: sending the forms changes the demo county.
    from doudi.main import create_app

    forms: dict[str, tuple[str, Form]] = {}
    with TestClient(create_app(demo)) as client:
        _login(client, account)
        _, pages = crawl(client, _identifiers(demo), forms)
        refused = []
        for shape, (page, form) in sorted(forms.items()):
            data: dict[str, list[str]] = {}
            for key, value in form.fields:
                data.setdefault(key, []).append(value)
            r = client.post(urljoin(page, form.action), data=data, follow_redirects=False)
            assert r.status_code < 500, (shape, r.status_code)
            if r.status_code == 403:
                refused.append(f"{shape} (on {page})")
    assert pages >= 3, pages
    assert refused == [], refused
