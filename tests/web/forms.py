"""The POST forms on a page, with the values a person would send without typing anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    """One form: where it posts and its fields with their shown values (pre-set radios, selects' first choice)."""

    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(a.get("action") or self.page_url)
        if self._form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind not in {"file", "submit", "button"}:
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "textarea" and name:
            self._form.fields.append((name, ""))
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None and (self._select_value is None or "selected" in a):
            self._select_value = a.get("value", "")
        elif tag == "button":
            self._button = True
            if "disabled" in a:
                self._form.buttons.append("disabled")

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            self._form.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "button":
            self._button = False
        elif tag == "form":
            self.forms.append(self._form)
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._button and data.strip():
            self._form.buttons.append(data.strip())


def post_forms(html: str, page_url: str) -> list[Form]:
    """Every POST form of the page."""
    parser = _Forms(page_url)
    parser.feed(html)
    return parser.forms
