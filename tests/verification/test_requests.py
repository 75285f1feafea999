"""Authorisations, requests, tracking, verified facts, the 核对报告 and the review queue — on both backends."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.models import User
from doudi.auth.permissions import Actor, system_actor
from doudi.auth.service import actor_for
from doudi.core.errors import NotFound, ValidationFailed
from doudi.policy.calendar import calendar_for
from doudi.registry.models import AssetFact, IncomeFact
from doudi.verification import queue, reporting, resolve, service
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord, LinkReview
from tests.factories import PASSWORD, TOWN_A, TOWN_B, found, make_areas, make_household, make_user

ACTOR = system_actor("370784", name="test")
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]  # the 12 whole months 安丘 averages income over


def _setup(db: Session, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A two-member household declaring 800/month wage; tax shows 1,500/month; the bank shows 30,000."""
    make_areas(db)
    hh = make_household(db, members=[("李芳", "spouse", date(1972, 3, 4), "F")])
    head, spouse = hh.members[0].person, hh.members[1].person
    db.add(IncomeFact(household_id=hh.id, person_id=head.id, kind="wage", amount=Decimal("800"),
                      source_kind="declared", period_start=date(2025, 1, 1), period_end=date(2025, 12, 31)))
    tax = [{"record_id": f"t{m}", "id_number": head.id_number, "name": head.name, "birth_date": "", "sex": "",
            "address": "", "month": m, "income_kind": "wage", "amount": "1500", "payer": "某厂"} for m in MONTHS]
    pl.DataFrame(tax).write_csv(tmp_path / "tax.csv")
    bank = [{"record_id": "k1", "id_number": spouse.id_number, "name": spouse.name, "birth_date": "", "sex": "",
             "address": "", "institution": "农商银行", "product": "deposit", "balance": "30000", "as_of": "2025-12-31"}]
    pl.DataFrame(bank).write_csv(tmp_path / "bank.csv")
    ingest_file(db, actor=ACTOR, source_key="tax", path=tmp_path / "tax.csv")
    ingest_file(db, actor=ACTOR, source_key="bank", path=tmp_path / "bank.csv")
    return hh, head, spouse


def _pdf_objects(pdf: bytes) -> str:
    """Every (inflated) stream of a PDF as text, to look for embedded font names."""
    import zlib

    out = [pdf.decode("latin-1")]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
    return "".join(out)


def _authorise(db: Session, hh, members) -> None:  # type: ignore[no-untyped-def]
    for p in members:
        service.record_authorisation(db, actor=ACTOR, household_id=hh.id, person_id=p.id, signed_by_name=p.name,
                                     signed_on=date(2026, 1, 5), document_ref=f"SQ-{p.id}")


def test_request_needs_every_members_authorisation(db: Session, tmp_path: Path) -> None:
    hh, head, spouse = _setup(db, tmp_path)
    _authorise(db, hh, [head])
    with pytest.raises(ValidationFailed) as exc:
        service.create_request(db, actor=ACTOR, household_id=hh.id, requested_on=date(2026, 1, 9))
    assert [e.field for e in exc.value.errors] == [f"member:{spouse.id}"]


def test_request_tracks_sources_stores_facts_and_reports(db: Session, tmp_path: Path) -> None:
    hh, head, spouse = _setup(db, tmp_path)
    _authorise(db, hh, [head, spouse])
    # Friday 2026-01-09 + 3 working days = Wednesday 2026-01-14 (weekend 10–11 skipped).
    req = service.create_request(db, actor=ACTOR, household_id=hh.id, requested_on=date(2026, 1, 9))
    assert req.due_on == date(2026, 1, 14) and req.started_at is not None
    # 安丘 averages income over 12 months (pack), so the request covers the 12 whole months before January.
    assert (req.period_start, req.period_end) == (date(2025, 1, 1), date(2025, 12, 31))
    _, tracks = service.tracking(db, actor=ACTOR, request_id=req.id)
    by = {t.source_key: (t.status, t.records) for t in tracks}
    assert by["tax"] == ("answered", 12) and by["bank"] == ("answered", 1)
    assert by["death"][0] == "pending" and len(by) == 13

    feed_income = db.scalars(select(IncomeFact).where(IncomeFact.household_id == hh.id,
                                                      IncomeFact.source_kind == "feed")).all()
    assert len(feed_income) == 12 and {f.source_key for f in feed_income} == {"tax"}
    assert all(f.batch_id and f.amount == Decimal("1500.00") for f in feed_income)
    declared = db.scalars(select(IncomeFact).where(IncomeFact.source_kind == "declared")).one()
    assert declared.amount == Decimal("800.00")  # never overwritten
    service.process_request(db, actor=ACTOR, request_id=req.id)  # answering again adds nothing twice
    assert len(db.scalars(select(IncomeFact).where(IncomeFact.source_kind == "feed")).all()) == 12
    bank = db.scalars(select(AssetFact).where(AssetFact.source_kind == "feed")).one()
    assert (bank.kind, bank.value, bank.person_id) == ("financial", Decimal("30000.00"), spouse.id)

    hr = reporting.build_report(db, actor=ACTOR, request_id=req.id)
    cmp_ = hr.report.income_compare.row(0, named=True)
    # declared 800/month over all 12 months; verified 12 × 1,500 / 12 = 1,500; difference 700 > max(50, 150) → flagged
    assert (cmp_["declared"], cmp_["verified"], cmp_["difference"], cmp_["flagged"]) == (800.0, 1500.0, 700.0, True)
    tot = hr.report.totals.row(0, named=True)
    assert (tot["members"], tot["declared_pc"], tot["verified_pc"]) == (2, 400.0, 750.0)  # 800/2 and 1,500/2
    asset = hr.report.asset_compare.row(0, named=True)
    assert (asset["kind"], asset["declared_value"], asset["verified_value"], asset["flagged"]) == (
        "financial", 0.0, 30000.0, True)
    assert "700.00" in hr.conclusion and "金融资产" in hr.conclusion

    pdf = reporting.report_pdf(db, actor=ACTOR, request_id=req.id)
    assert pdf.startswith(b"%PDF") and "Noto-Sans-CJK" in _pdf_objects(pdf)  # the CJK font is embedded
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(reporting.report_xlsx(db, actor=ACTOR, request_id=req.id)))
    rows = list(wb["收入比对"].iter_rows(values_only=True))
    assert rows[1][3:6] == (800.0, 1500.0, 700.0)


def test_working_days_fall_back_to_weekends_with_a_warning() -> None:
    cal = calendar_for("370784")  # the county's calendar: library data plus its pack's calendar data
    # 2027 is past chinese_calendar's data: Fri 2027-01-08 + 3 → Wed 2027-01-13, flagged.
    due = cal.add_workdays(date(2027, 1, 8), 3)
    assert due == date(2027, 1, 13) and "2027" in cal.warnings_for(date(2027, 1, 8), due)[0]
    # 2025-09-30 + 3 working days skips the National Day holiday (10-01..10-08): 10-09 Thu (1), 10-10 Fri (2),
    # 10-11 Sat (3: an adjusted working day, 调休上班) → 2025-10-11.
    assert cal.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert cal.warnings_for(date(2025, 9, 30), date(2025, 10, 11)) == []


def test_uncertain_match_goes_to_review_and_a_clerk_decides(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    hh = make_household(db, head_name="张建华")
    head = hh.members[0].person
    # No ID, a one-character name typo, a birth date one digit off (05-09 for 05-01) and another village's
    # address: plausible, not certain.
    rows = [{"record_id": "x1", "id_number": "", "name": "张建化", "birth_date": "1970-05-09", "sex": "M",
             "address": "景芝镇南村", "month": "2025-11", "income_kind": "wage", "amount": "900", "payer": ""}]
    pl.DataFrame(rows).write_csv(tmp_path / "tax.csv")
    batch = ingest_file(db, actor=ACTOR, source_key="tax", path=tmp_path / "tax.csv").batch
    resolve.resolve_batch(db, actor=ACTOR, batch_id=batch.id)
    review = db.scalars(select(LinkReview)).one()
    assert review.candidate_person_id == head.id and 0.5 <= review.probability < 0.95

    other = make_user(db, "outsider", ["verification_officer"], TOWN_B)
    with pytest.raises(NotFound):  # a clerk of another township cannot see it
        queue.decide_review(db, actor=service_actor(other), review_id=review.id, accept=True)
    clerk = make_user(db, "clerk", ["verification_officer"], TOWN_A)
    queue.decide_review(db, actor=service_actor(clerk), review_id=review.id, accept=True, note="电话核实")
    rec = db.scalars(select(FeedRecord).where(FeedRecord.batch_id == batch.id)).one()
    assert (rec.person_id, rec.match_method) == (head.id, "clerical")
    from doudi.audit.models import AuditEntry

    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "linkage.review")).one().actor == "clerk"


def service_actor(user: User) -> Actor:
    """The actor a test user acts as."""
    return actor_for(user)


def _login(client, username: str):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = found(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return found(r'data-csrf="([^"]+)"', client.get("/").text)


def test_console_pages_and_scoping(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hh, head, spouse = _setup(db, tmp_path)
    _authorise(db, hh, [head, spouse])
    req = service.create_request(db, actor=ACTOR, household_id=hh.id, requested_on=date(2026, 1, 9))
    make_user(db, "hedui", ["verification_officer"], TOWN_A)
    make_user(db, "other", ["verification_officer"], TOWN_B)
    db.commit()
    _login(client, "hedui")
    page = client.get(f"/verification/requests/{req.id}")
    assert page.status_code == 200 and "家庭经济状况核对报告" in page.text and "个人所得税收入" in page.text
    batches = client.get("/verification/batches")  # county batches are outside a township officer's area
    assert batches.status_code == 200 and "tax.csv" not in batches.text
    assert client.get("/verification/reviews").status_code == 200
    assert "信息核对" in client.get(f"/households/{hh.id}").text
    pdf = client.get(f"/verification/requests/{req.id}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from doudi.auth.models import User

    other = db.scalars(select(User).where(User.username == "other")).one()
    with pytest.raises(NotFound):  # another township's officer cannot see the request
        service.tracking(db, actor=service_actor(other), request_id=req.id)


def test_api_upload_and_tracking(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from doudi.auth import service as auth

    make_areas(db)
    user = make_user(db, "county", ["verification_officer"], "370784")
    token = auth.issue_token(db, user=user, settings=client.app.state.settings)[0]
    db.commit()
    head = {"Authorization": f"Bearer {token}"}
    csv = "record_id,id_number,name,month,income_kind,amount\na,,张三,2025-01,wage,100\nb,,李四,2025-13,wage,1\n"
    resp = client.post("/api/v1/verification/batches", headers=head, data={"source_key": "tax"},
                       files={"file": ("tax.csv", csv.encode(), "text/csv")})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["rows_total"], body["rows_ok"], body["rows_rejected"]) == (2, 1, 1)
    rej = client.get(f"/api/v1/verification/batches/{body['id']}/rejects", headers=head).json()
    assert rej[0]["row_number"] == 2 and rej[0]["field"] == "month"
    again = client.post("/api/v1/verification/batches", headers=head, data={"source_key": "tax"},
                        files={"file": ("tax.csv", csv.encode(), "text/csv")})
    assert again.json()["already"] is True and again.json()["id"] == body["id"]
    assert len(client.get("/api/v1/verification/sources", headers=head).json()) == 13


def test_batch_page_shows_lineage_and_quarantine(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "county", ["verification_officer"], "370784")
    csv = "record_id,id_number,name,month,income_kind,amount\na,,张三,2025-01,wage,100\nb,,李四,2025-13,wage,1\n"
    (tmp_path / "tax.csv").write_text(csv, encoding="utf-8")
    batch = ingest_file(db, actor=ACTOR, source_key="tax", path=tmp_path / "tax.csv").batch
    db.commit()
    _login(client, "county")
    page = client.get(f"/verification/batches/{batch.id}")
    assert page.status_code == 200
    assert "Parquet 1 个分片，1 行" in page.text  # the accepted row's payload part
    assert "2025-13" in page.text and "<td>所属期</td>" in page.text  # the quarantined row and its field, in words
