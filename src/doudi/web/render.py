"""Render console pages with the signed-in user, CSRF token and navigation filled in."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from doudi.audit import labels as audit_labels
from doudi.auth.permissions import Actor, role_labels, who_can
from doudi.core import clock
from doudi.core.masking import mask_id, mask_name, mask_phone
from doudi.core.validation import field_label
from doudi.policy.labels import parameter_label
from doudi.registry.vocab import label
from doudi.verification.sources import load_sources
from doudi.web.forms import row_indices
from doudi.web.nav import nav_for

TEMPLATE_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _yuan(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def _value(value: Any) -> str:
    """A parameter or record value as a person reads it: 是/否, labelled codes, amounts as they are."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return "、".join(_value(v) for v in value)
    if isinstance(value, str):
        return label(value)
    return str(value)


# Words of the domains' own codes (programs, step outcomes …), registered by each domain's pages: the console
# layer knows no domain, so that a domain low in the layering (policy) may still render through it.
WORDS: dict[str, str] = {}


def register_words(words: dict[str, str]) -> None:
    """Add a domain's codes and their Chinese words (first registration of a code wins)."""
    for key, value in words.items():
        WORDS.setdefault(key, value)


def word(value: str) -> str:
    """A coded value in words: a program, a step outcome, a role or a vocabulary value (itself if unknown)."""
    return WORDS.get(value) or role_labels().get(value) or label(value)


def _pairs(text: Any) -> str:
    """Compared values recorded as "program=dibao;amount=543.77" as a person reads them:
    救助项目：最低生活保障；金额：543.77."""
    out = []
    for part in str(text or "").split(";"):
        key, sep, val = part.partition("=")
        if not sep:
            out.append(label(part.strip()))
            continue
        shown = "、".join(word(v) for v in val.split(","))
        out.append(f"{field_label(key.strip())}：{shown}")
    return "；".join(p for p in out if p)


def _dt(value: Any) -> str:
    if isinstance(value, datetime):
        return clock.shown(value)  # stored in UTC (SQLite hands back naive values); shown in local time
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def source_label(key: str | None) -> str:
    """The Chinese name of an agency data source (户籍, 银行存款 …)."""
    if not key:
        return ""
    source = load_sources().get(key)
    return source.label if source is not None else label(key)


templates.env.globals.update(label=label, source_label=source_label, parameter_label=parameter_label,
                             word=word, audit_words=audit_labels, who_can=who_can, row_indices=row_indices,
                             mask_id=mask_id, mask_phone=mask_phone, mask_name=mask_name)
templates.env.filters.update(yuan=_yuan, dt=_dt, value=_value, pairs=_pairs, field_label=field_label,
                             role_label=lambda r: role_labels().get(r, r))


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a template inside the console layout."""
    actor: Actor | None = getattr(request.state, "actor", None)
    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "actor": actor,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": nav_for(actor, request.url.path) if actor else [],
        "area_name": getattr(request.state, "area_name", ""),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
