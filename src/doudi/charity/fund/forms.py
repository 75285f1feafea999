"""Reading the console's form fields: dates, months and yuan amounts, each refused with its field named."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from doudi.charity.fund.labels import parse_fen
from doudi.core.errors import FieldError, ValidationFailed


def day(value: str, field: str, label: str) -> date:
    """A YYYY-MM-DD date."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed([FieldError(field, f"{label}应为 年-月-日（如 2026-03-01）")]) from None


def month(value: str, field: str = "month") -> date | None:
    """A YYYY-MM month as its first day ('' for none)."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip() + "-01")
    except ValueError:
        raise ValidationFailed([FieldError(field, "月份应为 年-月（如 2026-03）")]) from None


def fen(value: str, field: str, label: str) -> int:
    """An amount in yuan to fen."""
    try:
        return parse_fen(value)
    except ValueError:
        raise ValidationFailed([FieldError(field, f"{label}应为金额（元，最多两位小数）")]) from None


def optional_int(value: str, field: str, label: str) -> int | None:
    """A whole number or nothing."""
    if not value.strip():
        return None
    if not value.strip().isdigit():
        raise ValidationFailed([FieldError(field, f"{label}应为编号（数字）")])
    return int(value.strip())


def query(**params: object) -> str:
    """A query string of the non-empty parameters (for the pager and export links)."""
    return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def pages(total: int, per_page: int) -> int:
    """How many pages `total` rows fill."""
    return max(1, -(-total // per_page))
