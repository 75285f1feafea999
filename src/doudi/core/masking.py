"""Masking of ID numbers, phone numbers and health details where they are not needed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MASK = "*"


def mask_id(number: str | None) -> str:
    """Keep the first 6 and last 4 characters of an ID number (GB/T 35273 style): 370784********123X."""
    if not number:
        return ""
    if len(number) <= 10:
        return MASK * len(number)
    return number[:6] + MASK * (len(number) - 10) + number[-4:]


def mask_phone(phone: str | None) -> str:
    """Keep the first 3 and last 4 digits of a phone number."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return MASK * len(phone)
    return phone[:3] + MASK * (len(phone) - 7) + phone[-4:]


def mask_name(name: str | None) -> str:
    """Keep the family name only: 王** (used in public notices)."""
    if not name:
        return ""
    return name[0] + MASK * (len(name) - 1)


def mask_health(value: object) -> str:
    """Hide health and disability details entirely."""
    return "" if value in (None, "", False) else "（已隐藏）"


SENSITIVE_FIELDS: dict[str, Callable[[Any], str]] = {
    "id_number": mask_id,
    "phone": mask_phone,
    "disability_category": mask_health,
    "disability_grade": mask_health,
    "serious_illness": mask_health,
}


def mask_record(record: dict[str, object]) -> dict[str, object]:
    """Mask every sensitive field of a flat record (used by logs and the audit trail)."""
    out = dict(record)
    for key, fn in SENSITIVE_FIELDS.items():
        if key in out and out[key] not in (None, ""):
            out[key] = fn(out[key])
    return out


_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1\d{2})(\d{4})(\d{4})(?!\d)")


def scrub_text(text: str) -> str:
    """Mask every ID number and mobile number found in free text (search terms, log lines)."""
    return _PHONE_RE.sub(r"\1****\3", _ID_RE.sub(r"\1********\3", text))
