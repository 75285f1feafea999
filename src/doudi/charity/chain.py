"""The household's needs and the partners' help, for 一户一条救助链."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.charity import partners, service
from doudi.charity.labels import MATCH_STATUS, NEED_STATUS, OFFER, yuan
from doudi.core.timeline import ChainEvent


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """Needs (raised, delivered) and their matches (sent to a partner, answered), in the actor's scope."""
    needs = service.for_household(session, actor=actor, household_id=household_id)
    matches = service.matches_in(session, actor=actor, need_ids=[n.id for n in needs])
    names = partners.names(session, {m.partner_key for m in matches})
    out: list[ChainEvent] = []
    for n in needs:
        url = f"/charity/needs/{n.id}"
        amount = f"，{yuan(n.amount_fen)} 元" if n.amount_fen else ""
        out.append(ChainEvent(n.raised_on, "慈善衔接需求", f"{OFFER.get(n.kind, n.kind)}{amount}",
                              NEED_STATUS.get(n.status, n.status), url))
        if n.delivered_on is not None:
            out.append(ChainEvent(n.delivered_on, "社会力量帮扶", f"{OFFER.get(n.kind, n.kind)}已帮扶", n.result, url))
    for m in matches:
        if m.status == "proposed" or m.due_on is None:
            continue
        sent = m.due_on if m.answered_on is None else m.answered_on
        out.append(ChainEvent(sent, "慈善匹配", f"推送 {names.get(m.partner_key, m.partner_key)}",
                              MATCH_STATUS.get(m.status, m.status), f"/charity/needs/{m.need_id}"))
    return out
