"""Daily job and inbox items of support: agreements past their end are ended; grants waiting for a checker,
overdue pledges and plans without a recent visit appear in the inbox."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, system_actor
from doudi.charity.fund import service as fund
from doudi.charity.fund.labels import PURPOSE_LABELS, yuan
from doudi.charity.support import pairing, service
from doudi.web.inbox_sources import InboxItem

LIMIT = 50


def daily(session: Session, *, today: date) -> str:
    """End the pairing agreements past their end date."""
    n = pairing.end_due(session, actor=system_actor(name="daily"), today=today)
    return f"签约帮扶：到期结束 {n} 份协议"


def inbox_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """Grants to approve (not one's own), overdue pledges, and open plans whose visit is overdue."""
    items: list[InboxItem] = []
    if actor.can("fund.approve"):
        waiting = fund.list_grants(session, actor=actor, f=fund.Filter(status="pending"), per_page=LIMIT).rows
        items += [InboxItem("慈善基金", f"拨付 {g.id} 待审批：{PURPOSE_LABELS.get(g.purpose, g.purpose)} "
                                        f"{yuan(g.amount_fen)} 元", f"/charity/fund/grants/{g.id}", None, False)
                  for g in waiting if g.made_by is None or g.made_by != actor.user_id]
    if actor.can("support.manage"):
        late = pairing.list_items(session, actor=actor, today=today, overdue=True, per_page=LIMIT).rows
        items += [InboxItem("签约帮扶", f"{g.company_name} 承诺的“{it.description}”逾期未兑现",
                            f"/charity/support/pairings/{g.id}", it.due_on, True) for it, g in late]
        plans = service.list_plans(session, actor=actor, status="open", per_page=LIMIT).rows
        items += [InboxItem("社工帮扶", f"帮扶计划 {p.id}（家庭 {hh_no}）走访逾期", f"/charity/support/plans/{p.id}",
                            last or p.opened_on, True) for p, last, hh_no in plans
                  if service.visit_overdue(last, p.opened_on, area=p.area_code, today=today)]
    return items
