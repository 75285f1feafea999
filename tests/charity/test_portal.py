"""The citizen confirms consent for a purpose in /m/charity and withdraws it; another family's household cannot
be chosen; the township can then send (and, after withdrawal, no longer send) the need."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.charity import consents, flows, service
from doudi.charity.models import Consent
from doudi.core import clock
from doudi.core.errors import ValidationFailed
from doudi.portal import otp
from tests.charity.builders import need, world
from tests.factories import found

PHONE = "13912345678"  # the phone of household A's head (builders.world)


def _sign_in(client, phone: str) -> str:  # type: ignore[no-untyped-def]
    client.post("/m/login/code", data={"phone": phone}, follow_redirects=False)
    code = next(c for p, c in reversed(otp.SENT) if p == phone)
    client.post("/m/login", data={"phone": phone, "code": code}, follow_redirects=False)
    return found(r'name="csrf_token" value="([^"]+)"', client.get("/m/charity").text)


def test_citizen_confirms_and_withdraws(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    w = world(db)
    db.commit()
    csrf = _sign_in(client, PHONE)
    page = client.get("/m/charity")
    assert f'value="{w.a.id}"' in page.text and f'value="{w.b.id}"' not in page.text  # only the own household
    refused = client.post("/m/charity", data={"csrf_token": csrf, "household_id": str(w.b.id), "purpose": "cash",
                                              "signed_by": "张三", "agree": "1"})
    assert refused.status_code == 422 and "本人的家庭" in refused.text
    unticked = client.post("/m/charity", data={"csrf_token": csrf, "household_id": str(w.a.id), "purpose": "cash",
                                               "signed_by": "张三"})
    assert unticked.status_code == 422 and "本人同意" in unticked.text
    ok = client.post("/m/charity", data={"csrf_token": csrf, "household_id": str(w.a.id), "purpose": "cash",
                                         "signed_by": "张三", "agree": "1"}, follow_redirects=False)
    assert ok.status_code == 303
    db.expire_all()
    c = consents.valid(db, household_id=w.a.id, purpose="cash")
    assert c is not None and c.method == "portal"
    logged = db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "charity_consent")).all()
    assert "charity.consent_record" in logged
    # the township can now send a cash need to a partner
    today = clock.today()
    n = need(db, w.worker, w.a, deadline=today + timedelta(days=10), today=today)
    service.propose(db, actor=w.worker, today=today, need_ids=[n.id])
    flows.confirm(db, actor=w.worker, need_id=n.id, version=n.version, match_id=None, today=today)
    assert n.status == "matched"
    db.commit()
    # withdrawn in the portal: a further need of that purpose cannot be sent
    back = client.post(f"/m/charity/{c.id}/withdraw", data={"csrf_token": csrf}, follow_redirects=False)
    assert back.status_code == 303
    db.expire_all()
    assert db.get(Consent, c.id).status == "withdrawn"  # type: ignore[union-attr]
    again = need(db, w.worker, w.a, deadline=today + timedelta(days=10), today=today)
    service.propose(db, actor=w.worker, today=today, need_ids=[again.id])
    with pytest.raises(ValidationFailed):
        flows.confirm(db, actor=w.worker, need_id=again.id, version=again.version, match_id=None, today=today)
