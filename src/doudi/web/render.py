"""Render console pages with the signed-in user, CSRF token and navigation filled in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from doudi.auth.permissions import Actor, role_labels
from doudi.config import get_settings
from doudi.core.masking import mask_id, mask_name, mask_phone
from doudi.registry.vocab import label
from doudi.web.nav import nav_for

TEMPLATE_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _yuan(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):,.2f}"


def _dt(value: Any) -> str:
    if isinstance(value, datetime):
        # Stored in UTC (SQLite hands back naive values); shown in local time.
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(_zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


@lru_cache
def _zone() -> ZoneInfo:

    return ZoneInfo(get_settings().timezone)


templates.env.globals.update(label=label, mask_id=mask_id, mask_phone=mask_phone, mask_name=mask_name)
templates.env.filters.update(yuan=_yuan, dt=_dt, role_label=lambda r: role_labels().get(r, r))


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
