"""Bank files and reconciliation: pain.001 valid against the schema with control totals, split files, a
pain.002 rejection re-issued after the account is fixed, a CSV return with bad rows quarantined."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core.errors import Conflict, ValidationFailed
from doudi.payments import bank, reconcile, service
from doudi.payments.models import BankReturnRow, LineStatus, PaymentLine, PaymentRoll, RollStatus
from tests.factories import VILLAGE_A1, make_household
from tests.payments.world import COUNTY, Staff, account, enroll, make_staff

NS = {"p": bank.PAIN001}


def setup_roll(db: Session, n: int = 3) -> tuple[Staff, PaymentRoll, list[str]]:
    """n households at 537.00, 538.00, … a month from January, each with an account; an approved roll."""
    staff = make_staff(db)
    keys = []
    for i in range(n):
        hh = make_household(db, VILLAGE_A1, head_name=f"张{'一二三四五六七八九十'[i]}")
        account(db, f"H{hh.id}", f"62301234567890{i:02d}", name=hh.members[0].person.name)
        enroll(db, program="dibao", amount=f"{537 + i}.00", start=date(2026, 1, 1), household=hh)
        keys.append(f"H{hh.id}")
    r = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=date(2026, 1, 1), program="dibao")
    service.approve_roll(db, actor=staff.checker, roll_id=r.id, version=r.version)
    return staff, r, keys


def pain002(rows: list[tuple[str, str, str]]) -> bytes:
    """A pain.002 status report: (end-to-end id, ACSC|RJCT, reason code)."""
    ns = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
    txs = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{e}</OrgnlEndToEndId><TxSts>{s}</TxSts>"
        + (f"<StsRsnInf><Rsn><Cd>{c}</Cd></Rsn></StsRsnInf>" if c else "") + "</TxInfAndSts>"
        for e, s, c in rows)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><CstmrPmtStsRpt><GrpHdr><MsgId>R1</MsgId>'
            f"</GrpHdr><OrgnlPmtInfAndSts>{txs}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>").encode()


def test_pain001_valid_with_control_totals(db: Session) -> None:
    staff, r, _ = setup_roll(db)
    files = bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="pain001", today=date(2026, 1, 10))
    assert r.status == RollStatus.SENT and len(files) == 1
    data = files[0].data
    assert bank.validate_pain001(data) == []
    doc = etree.fromstring(data)
    # 537 + 538 + 539 = 1,614.00 yuan in three transactions, in the group header and the payment block.
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    assert doc.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "1614.00"
    assert doc.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:CtrlSum", namespaces=NS) == "1614.00"
    assert (files[0].tx_count, files[0].total_fen) == (3, 161400) == (r.line_count, r.total_fen)
    # Exporting again gives the same file (the roll is frozen) and does not send it a second time.
    again = bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="pain001", today=date(2026, 1, 10))
    assert again[0].data == data


def test_files_split_at_the_cap_and_draft_refused(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    staff = make_staff(db)
    for i in range(3):
        hh = make_household(db, VILLAGE_A1)
        account(db, f"H{hh.id}", f"62300000000000{i:02d}")
        enroll(db, program="dibao", amount="100.00", start=date(2026, 2, 1), household=hh)
    r = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=date(2026, 2, 1), program="dibao")
    with pytest.raises(Conflict, match="须审核后"):
        bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="domestic")
    service.approve_roll(db, actor=staff.checker, roll_id=r.id, version=r.version)
    lines = bank._payable(db, r)
    parts = [lines.slice(0, 2), lines.slice(2, 2)]  # the split a cap of 2 makes
    csvs = [bank.domestic_csv(p, memo="2026年02月社会救助金").decode("gb18030") for p in parts]
    assert csvs[0].splitlines()[0] == "户名,账号,开户行,金额,摘要,流水号"
    assert csvs[0].splitlines()[-1] == "合计,2,,200.00,,"
    assert csvs[1].splitlines()[-1] == "合计,1,,100.00,,"


def test_rejected_account_fixed_and_reissued_once(db: Session) -> None:
    staff, r, keys = setup_roll(db)
    bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="pain001")
    lines = {ln.payee_key: ln for ln in db.scalars(select(PaymentLine).where(PaymentLine.roll_id == r.id))}
    a, b, c = (lines[k] for k in keys)
    ret = reconcile.reconcile(db, actor=staff.checker, filename="r1.xml", data=pain002([
        (a.end_to_end_id, "ACSC", ""), (b.end_to_end_id, "RJCT", "AC04"), (c.end_to_end_id, "ACSC", ""),
        ("DD999-1", "ACSC", "")]))
    assert (ret.paid, ret.failed, ret.unmatched, ret.duplicate, ret.invalid) == (2, 1, 1, 0, 0)
    db.refresh(b)
    assert b.status == LineStatus.REJECTED and b.reason == "账户已销户"
    db.refresh(r)
    assert r.status == RollStatus.RECONCILED
    # The same file again is refused; a February roll before the account is fixed does not re-issue.
    with pytest.raises(Conflict, match="已导入过"):
        reconcile.reconcile(db, actor=staff.checker, filename="r1.xml", data=pain002([
            (a.end_to_end_id, "ACSC", ""), (b.end_to_end_id, "RJCT", "AC04"), (c.end_to_end_id, "ACSC", ""),
            ("DD999-1", "ACSC", "")]))
    # The account is changed by one person and confirmed by another, then March's roll carries January over.
    new = service.propose_account(db, actor=staff.worker, payee_key=b.payee_key, area_code=VILLAGE_A1,
                                  holder_name=b.payee_name, bank_name="安丘农商银行", account_no="6217000011112222")
    with pytest.raises(Conflict, match="另一人确认"):
        service.confirm_account(db, actor=staff.worker, account_id=new.id)
    service.confirm_account(db, actor=staff.worker2, account_id=new.id)
    mar = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=date(2026, 3, 1), program="dibao")
    db.refresh(b)
    assert b.roll_id == mar.id and b.attempt == 2 and b.status == LineStatus.PENDING
    assert b.account_no == "6217000011112222" and b.entitlement_month == date(2026, 1, 1)
    # March: Feb back pay + March for all three (3 × (537+538+539) = 2 × 1,614 fen…) plus the re-issued 538.
    assert mar.line_count == 3 * 2 + 1
    assert mar.total_fen == 2 * 161400 + 53800
    assert db.scalar(select(PaymentLine.id).where(PaymentLine.roll_id == r.id,
                                                  PaymentLine.payee_key == b.payee_key)) is None


def test_csv_return_bad_rows_quarantined(db: Session) -> None:
    staff, r, keys = setup_roll(db)
    bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="domestic")
    lines = {ln.payee_key: ln for ln in db.scalars(select(PaymentLine).where(PaymentLine.roll_id == r.id))}
    a, b, c = (lines[k] for k in keys)
    text = ("流水号,户名,账号,金额,状态,原因代码,原因\n"
            f"{a.end_to_end_id},x,1,537.00,成功,,\n"
            f"{a.end_to_end_id},x,1,537.00,成功,,\n"     # twice in the file
            f"{b.end_to_end_id},x,1,538.00,待定,,\n"     # unknown status
            f"{c.end_to_end_id},x,1,500.00,成功,,\n"     # wrong amount
            ",x,1,1.00,成功,,\n")                          # no reference
    ret = reconcile.reconcile(db, actor=staff.checker, filename="r.csv", data=text.encode("gb18030"))
    assert (ret.rows, ret.paid, ret.duplicate, ret.invalid) == (5, 1, 1, 3)
    rows = {x.row_no: x for x in db.scalars(select(BankReturnRow).where(BankReturnRow.return_id == ret.id))}
    assert rows[3].outcome == "duplicate" and "重复" in rows[3].message
    assert rows[4].outcome == "invalid" and "待定" in rows[4].message
    assert rows[5].outcome == "invalid" and "53900" in rows[5].message
    assert rows[6].outcome == "invalid" and "流水号" in rows[6].message
    db.refresh(b)
    db.refresh(r)
    assert b.status == LineStatus.PENDING and r.status == RollStatus.SENT  # still outstanding, nothing guessed


def test_unparsable_return_changes_nothing(db: Session) -> None:
    staff, r, _ = setup_roll(db)
    bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="pain001")
    with pytest.raises(ValidationFailed, match="XML 无法解析") as exc:
        reconcile.reconcile(db, actor=staff.checker, filename="bad.xml", data=b"<Document>\n<oops></Document>")
    assert exc.value.errors[0].row == 2
    with pytest.raises(ValidationFailed, match="缺少列"):
        reconcile.reconcile(db, actor=staff.checker, filename="bad.csv", data=b"a,b\n1,2\n")
    assert db.scalar(select(BankReturnRow.id)) is None


def test_csv_return_read_column_wise_as_row_by_row() -> None:
    """The column-wise reading of a domestic return classifies every row as the row-by-row reading does."""
    text = ("流水号,户名,账号,金额,状态,原因代码,原因\n"
            "DD1-1,x,1,537.00,成功,,\n"           # paid, 53700 fen
            "DD1-2,x,1,538.00,待定,,\n"           # unknown status
            "DD1-3,x,1,5.5,失败,AC04,\n"          # rejected, code mapped: 账户已销户, 550 fen
            "DD1-4,x,1,1e3,失败,,户名不符\n"      # an exponent is no bank amount
            "DD1-5,x,1,,退回,ZZ99,\n"             # unknown code named, no amount
            ",x,1,1.00,成功,,\n"                   # no reference
            " DD1-6 ,x,\"1,2\",5.000,冲正,,\n"    # spaces trimmed, quoted comma, 5.000 = 500 fen
            "DD1-7,x,1,-5.00,成功,,\n"            # negative
            "DD1-8,x,1,7.1,失败,,户名不符\n")     # the bank's words kept when no code: 710 fen
    fast = reconcile.parse_csv(text.encode("gb18030"))
    assert fast.equals(reconcile.rows_frame(reconcile._parse_csv_rows(text)))
    assert fast.select("outcome", "amount_fen").rows() == [
        ("paid", 53700), ("invalid", None), ("rejected", 550), ("invalid", None), ("returned", None),
        ("invalid", None), ("returned", 500), ("invalid", None), ("rejected", 710)]
    assert fast["message"].to_list()[2:5] == ["账户已销户", "金额 '1e3' 格式不正确", "银行原因代码 ZZ99"]
    assert fast["message"].to_list()[-1] == "户名不符"


def test_pain001_escapes_hostile_text_and_refuses_malformed() -> None:
    """Markup and control characters in a payee's name stay text; a document that is not well-formed is refused."""
    lines = pl.DataFrame({"end_to_end_id": ["DD1-1"], "payee_name": ["张<三>&\x01李"],
                          "account_no": ["6230123456789012"], "bank_name": ["甲&乙银行"], "amount_fen": [53701]})
    data = bank.pain001(lines, msg_id="DD1-0001-P", created=datetime(2026, 1, 10, 8), execution=date(2026, 1, 10),
                        debtor_account="370784000000", memo="2026年01月社会救助金")
    assert bank.validate_pain001(data) == []
    doc = etree.fromstring(data)
    assert doc.findtext(".//p:Cdtr/p:Nm", namespaces=NS) == "张<三>&李"  # \x01 dropped, the rest kept as text
    assert doc.findtext(".//p:InstdAmt", namespaces=NS) == "537.01"  # 53701 fen
    with pytest.raises(etree.XMLSyntaxError):
        bank.well_formed(b"<Document><a></Document>")
