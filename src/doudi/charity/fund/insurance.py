"""Supplementary group insurance paid by the fund: a policy, the recipients it covers (active enrollments of the
programs the pack names, listed in one batch), its premium granted under maker-checker, the insurer's file (the
only place full ID numbers appear) and the claims."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area, under
from doudi.cases.models import Enrollment, EnrollmentStatus
from doudi.charity.fund import service
from doudi.charity.fund.labels import parse_fen, yuan
from doudi.charity.fund.models import Claim, ClaimStatus, Grant, Insured, Policy, PolicyStatus, Purpose
from doudi.core import excel
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.frames import read_frame, write_frame
from doudi.db.versions import add_unique, claim
from doudi.policy.params import load_pack
from doudi.registry.models import Membership, Person

INSURER_COLUMNS = [excel.Col("序号", 8), excel.Col("姓名", 12), excel.Col("身份证号", 20), excel.Col("救助类别", 14),
                   excel.Col("所属区划", 14)]


def default_premium_fen(county: str, on: date) -> int:
    """The pack's default premium per person (provisional: the contract decides)."""
    return parse_fen(str(load_pack(county).value("charity.insurance.premium_per_person", on=on)))


def create_policy(session: Session, *, actor: Actor, county: str, policy_no: str, insurer: str, start_on: date,
                  end_on: date, premium_fen: int | None = None, coverage: str = "") -> Policy:
    """A new group policy of a county, waiting for its members and premium."""
    actor.require("fund.insure")
    county = service.county_code(actor, county)
    errors = []
    if not policy_no.strip():
        errors.append(FieldError("policy_no", "须填写保单号"))
    if not insurer.strip():
        errors.append(FieldError("insurer", "须填写承保机构"))
    if end_on <= start_on:
        errors.append(FieldError("end_on", "保险止期须晚于起期"))
    fen = default_premium_fen(county, start_on) if premium_fen is None else premium_fen
    if fen <= 0:
        errors.append(FieldError("premium", "人均保费须大于 0"))
    if errors:
        raise ValidationFailed(errors)
    p = Policy(area_code=county, policy_no=policy_no.strip(), insurer=insurer.strip()[:100], coverage=coverage[:300],
               start_on=start_on, end_on=end_on, premium_fen=fen, created_by=actor.username)
    add_unique(session, p, message=f"保单号 {policy_no.strip()} 已登记")
    audit.record(session, actor=actor, action="fund.policy", object_type="insurance_policy", object_id=p.id,
                 area_code=county, after={"policy_no": p.policy_no, "insurer": p.insurer, "premium": yuan(fen)})
    return p


def get_policy(session: Session, *, actor: Actor, policy_id: int) -> Policy:
    """A policy of a county in the actor's area."""
    return get_in_area(session, Policy, policy_id, actor=actor, action="fund.read", label="保单")


def eligible(session: Session, *, county: str, programs: list[str]) -> pl.DataFrame:
    """Every person covered by an active enrollment of the programs in the county: the person's own enrollment,
    or each current member of an enrolled household (one row per person, the first enrollment kept)."""
    enr = read_frame(session, under(select(Enrollment.id.label("enrollment_id"), Enrollment.household_id,
                                           Enrollment.person_id, Enrollment.program, Enrollment.area_code),
                                    Enrollment.area_code, county).where(
        Enrollment.status == EnrollmentStatus.ACTIVE, Enrollment.program.in_(programs)))
    members = read_frame(session, select(Membership.household_id, Membership.person_id.label("member_id")).where(
        Membership.valid_to.is_(None), Membership.household_id.in_(
            under(select(Enrollment.household_id), Enrollment.area_code, county).where(
                Enrollment.status == EnrollmentStatus.ACTIVE, Enrollment.program.in_(programs)))))
    own = enr.filter(pl.col("person_id").is_not_null())
    whole = enr.filter(pl.col("person_id").is_null()).drop("person_id").join(
        members, on="household_id").rename({"member_id": "person_id"})
    both = pl.concat([own.select(whole.columns), whole], how="vertical")
    return both.sort("enrollment_id").unique("person_id", keep="first", maintain_order=True)


def enrol(session: Session, *, actor: Actor, policy_id: int, version: int | None, on: date) -> int:
    """List every eligible recipient on a draft policy (those already listed stay); returns how many were added."""
    actor.require("fund.insure")
    p = get_policy(session, actor=actor, policy_id=policy_id)
    claim(session, p, version, label="该保单")
    if p.status != PolicyStatus.DRAFT:
        raise Conflict("保费已拨付的保单不能再增加参保人")
    programs = list(load_pack(p.area_code).value("charity.insurance.programs", on=on))
    found = eligible(session, county=p.area_code, programs=programs)
    held = read_frame(session, select(Insured.person_id).where(Insured.policy_id == p.id),
                      schema={"person_id": pl.Int64()})
    fresh = found.join(held, on="person_id", how="anti").with_columns(policy_id=pl.lit(p.id, pl.Int64))
    write_frame(session, Insured, fresh.select("policy_id", "person_id", "household_id", "enrollment_id", "program",
                                               "area_code"))
    p.member_count = int(session.scalar(select(func.count()).where(Insured.policy_id == p.id)) or 0)
    session.flush()
    audit.record(session, actor=actor, action="fund.enrol", object_type="insurance_policy", object_id=p.id,
                 area_code=p.area_code, after={"added": fresh.height, "members": p.member_count,
                                               "programs": programs})
    return fresh.height


def premium_fen(p: Policy) -> int:
    """The policy's whole premium: per person × persons listed."""
    return p.premium_fen * p.member_count


def request_premium(session: Session, *, actor: Actor, policy_id: int, pool: str = Purpose.INSURANCE) -> Grant:
    """Propose the premium as a grant from the fund (insurance money, or general money), to be approved by a
    second person; the approval marks the policy paid."""
    p = get_policy(session, actor=actor, policy_id=policy_id)
    if p.status != PolicyStatus.DRAFT:
        raise Conflict("该保单的保费已拨付")
    if session.scalar(select(Grant.id).where(Grant.policy_id == p.id, Grant.status != "rejected")) is not None:
        raise Conflict("该保单的保费已提交拨付，请等待审批")
    if p.member_count == 0:
        raise ValidationFailed([FieldError("members", "保单尚无参保人：请先生成参保名单")])
    return service.make_grant(session, actor=actor, amount_fen=premium_fen(p), purpose=Purpose.INSURANCE, pool=pool,
                              reason=f"补充保险保费：保单 {p.policy_no}，{p.member_count} 人 × "
                                     f"{yuan(p.premium_fen)} 元",
                              policy=(p.id, p.area_code))


def members_query(actor: Actor, policy_id: int, q: str = "") -> Any:
    """The persons listed on a policy with their names and ID numbers (callers mask them outside the insurer's
    file)."""
    actor.require("fund.read")
    stmt: Any = in_area(select(Insured.id, Person.name, Person.id_number, Insured.program, Insured.area_code,
                          Insured.household_id).join(Person, Person.id == Insured.person_id), Insured.area_code, actor
                   ).where(Insured.policy_id == policy_id)
    return stmt.where(Person.name.contains(q)) if q else stmt


def insurer_file(session: Session, *, actor: Actor, policy_id: int) -> bytes:
    """The list for the insurer, with full ID numbers (the insurer needs them to underwrite); audited."""
    actor.require("fund.insurer_file")
    p = get_policy(session, actor=actor, policy_id=policy_id)
    rows = session.execute(members_query(actor, p.id).order_by(Insured.id)).all()
    from doudi.charity.fund.labels import program_label

    data = excel.to_bytes(excel.Sheet("参保名单", INSURER_COLUMNS, (
        [i + 1, r.name, r.id_number, program_label(r.program), r.area_code] for i, r in enumerate(rows)),
        caption=f"{p.insurer} 团体补充保险 保单 {p.policy_no}：{len(rows)} 人，人均保费 {yuan(p.premium_fen)} 元"))
    audit.record(session, actor=actor, action="fund.insurer_file", object_type="insurance_policy", object_id=p.id,
                 area_code=p.area_code, extra={"rows": len(rows), "unmasked": True})
    return data


def record_claim(session: Session, *, actor: Actor, member_id: int, claim_no: str, incident_on: date, kind: str,
                 claimed_fen: int, note: str = "") -> Claim:
    """Record a claim for an insured person."""
    actor.require("fund.insure")
    m = get_in_area(session, Insured, member_id, actor=actor, action=None, label="参保人")
    if not claim_no.strip() or not kind.strip():
        raise ValidationFailed([FieldError("claim_no", "须填写报案号和出险类别")])
    if claimed_fen <= 0:
        raise ValidationFailed([FieldError("claimed", "申请理赔金额须大于 0")])
    c = Claim(policy_id=m.policy_id, member_id=m.id, area_code=m.area_code, claim_no=claim_no.strip()[:40],
              incident_on=incident_on, kind=kind.strip()[:40], claimed_fen=claimed_fen, note=note[:300],
              recorded_by=actor.username)
    add_unique(session, c, message=f"报案号 {claim_no.strip()} 已登记")
    audit.record(session, actor=actor, action="fund.claim", object_type="insurance_claim", object_id=c.id,
                 area_code=m.area_code, after={"claim_no": c.claim_no, "claimed": yuan(claimed_fen)})
    return c


def answer_claim(session: Session, *, actor: Actor, claim_id: int, version: int | None, paid_fen: int) -> Claim:
    """The insurer's answer: paid (an amount up to the claim) or refused (0)."""
    actor.require("fund.insure")
    c = get_in_area(session, Claim, claim_id, actor=actor, action=None, label="理赔")
    claim(session, c, version, label="该理赔")
    if c.status != ClaimStatus.FILED:
        raise Conflict("该理赔已有结果")
    if not 0 <= paid_fen <= c.claimed_fen:
        raise ValidationFailed([FieldError("paid", f"赔付金额应在 0 至 {yuan(c.claimed_fen)} 元之间")])
    c.paid_fen, c.status = paid_fen, ClaimStatus.PAID if paid_fen > 0 else ClaimStatus.REFUSED
    session.flush()
    audit.record(session, actor=actor, action="fund.claim_answer", object_type="insurance_claim", object_id=c.id,
                 area_code=c.area_code, after={"status": c.status, "paid": yuan(paid_fen)})
    return c


def list_policies(session: Session, *, actor: Actor, page: int = 1, per_page: int = 20, status: str = ""
                  ) -> service.Page:
    """Policies in the actor's area, newest first."""
    actor.require("fund.read")
    stmt = in_area(select(Policy), Policy.area_code, actor)
    if status:
        stmt = stmt.where(Policy.status == status)
    return service.paged(session, stmt, Policy.id.desc(), page, per_page)


def list_claims(session: Session, *, actor: Actor, policy_id: int) -> list[Claim]:
    """A policy's claims."""
    actor.require("fund.read")
    return list(session.scalars(in_area(select(Claim), Claim.area_code, actor).where(Claim.policy_id == policy_id)
                                .order_by(Claim.id)))
