"""The signed summary of a roll (发放汇总表): control totals, per township and per component, the bank's answers,
the bank files, and the signature blocks; rendered to PDF by WeasyPrint from a template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.payments.models import BankFile, PaymentLine, PaymentRoll
from doudi.payments.service import COMPONENT_LABELS, LINE_LABELS, STATUS_LABELS, get_roll, scoped_lines, yuan
from doudi.web.render import templates

TOWNSHIP_DIGITS = 9


@dataclass(frozen=True)
class RollSummary:
    """What the summary prints: rows of (label, count, yuan) per township, component and bank answer."""

    roll: PaymentRoll
    county: str
    townships: list[tuple[str, int, str]]
    components: list[tuple[str, int, str]]
    outcomes: list[tuple[str, int, str]]
    files: list[BankFile]
    count: int
    total: str
    printed_on: date


def roll_summary(session: Session, *, actor: Actor, roll_id: int, today: date) -> RollSummary:
    """The summary of a roll the actor may see (a township sees the part of the county roll in its area)."""
    roll = get_roll(session, actor=actor, roll_id=roll_id)
    town = func.substr(PaymentLine.area_code, 1, TOWNSHIP_DIGITS)

    def grouped(key: Any) -> list[tuple[str, int, int]]:
        stmt = scoped_lines(select(key, func.count(), func.coalesce(func.sum(PaymentLine.amount_fen), 0))
                            .where(PaymentLine.roll_id == roll.id), actor).group_by(key).order_by(key)
        return [(str(k), int(n), int(t)) for k, n, t in session.execute(stmt)]

    by_town = grouped(town)
    names = areas.names(session, codes=[roll.area_code] + [k for k, _, _ in by_town])
    files = list(session.scalars(select(BankFile).where(BankFile.roll_id == roll.id).order_by(BankFile.seq)))
    count, total = sum(n for _, n, _ in by_town), sum(t for _, _, t in by_town)
    return RollSummary(
        roll=roll, county=names.get(roll.area_code, roll.area_code),
        townships=[(names.get(k, k), n, yuan(t)) for k, n, t in by_town],
        components=[(COMPONENT_LABELS.get(k, k), n, yuan(t)) for k, n, t in grouped(PaymentLine.component)],
        outcomes=[(LINE_LABELS.get(k, k), n, yuan(t)) for k, n, t in grouped(PaymentLine.status)],
        files=files, count=count, total=yuan(total), printed_on=today)


def render_pdf(summary: RollSummary, *, program_label: str) -> bytes:
    """The summary as a PDF for signature."""
    from weasyprint import HTML  # heavy (Pango, fonts): loaded only when a summary is printed

    html = templates.get_template("payments/summary.html").render(
        s=summary, r=summary.roll, program=program_label, status=STATUS_LABELS.get(summary.roll.status, ""),
        yuan=yuan)
    return bytes(HTML(string=html).write_pdf())
