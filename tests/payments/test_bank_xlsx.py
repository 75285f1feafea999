"""The domestic 代发 file as XLSX and the county's layout from the pack: columns and control line as in the CSV,
accounts as text cells, exact amounts, a formula-leading name kept as text, split at the cap; bad layouts refused."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core.errors import ValidationFailed
from doudi.payments import bank, service
from doudi.payments.models import BankFile, PaymentLine, RollStatus
from tests.factories import VILLAGE_A1, make_household
from tests.payments.world import COUNTY, account, enroll, make_staff

NAMES = ['=HYPERLINK("http://x","点我")', "张二", "张三"]


def cells(data: bytes) -> list[list[object]]:
    """The first sheet's values, row by row."""
    ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_roll_as_xlsx_split_at_the_cap(db: Session) -> None:
    staff = make_staff(db)
    for i, name in enumerate(NAMES):
        hh = make_household(db, VILLAGE_A1, head_name=name)
        account(db, f"H{hh.id}", f"00623012345678{i:02d}")  # a leading zero a number cell would lose
        enroll(db, program="dibao", amount=f"{537 + i}.50", start=date(2026, 1, 1), household=hh)
    r = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=date(2026, 1, 1), program="dibao")
    service.approve_roll(db, actor=staff.checker, roll_id=r.id, version=r.version)
    files = bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="domestic", file_type="xlsx",
                             max_per_file=2)
    assert [f.name for f in files] == [f"DD{r.id}-0001-D.xlsx", f"DD{r.id}-0002-D.xlsx"]
    assert bank.media_type(files[0].name) == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    # 537.50 + 538.50 + 539.50 = 1,615.50 yuan: two in the first file, one in the second.
    by_account = {ln.account_no: ln for ln in db.scalars(select(PaymentLine).where(PaymentLine.roll_id == r.id))}
    rows = [row for f in files for row in cells(f.data)[1:-1]]
    assert cells(files[0].data)[0] == ["户名", "账号", "开户行", "金额", "摘要", "流水号"]
    assert sorted((row[1], row[0], Decimal(str(row[3])), row[5]) for row in rows) == [
        ("006230123456780" + str(i), "'" + NAMES[0] if i == 0 else NAMES[i], Decimal(f"{537 + i}.5"),
         by_account["006230123456780" + str(i)].end_to_end_id) for i in range(3)]
    assert {row[2] for row in rows} == {"安丘农村商业银行"} and {row[4] for row in rows} == {"2026年01月社会救助金"}
    totals = [cells(f.data)[-1] for f in files]
    first_sum = sum(by_account[str(row[1])].amount_fen for row in cells(files[0].data)[1:-1])
    assert totals[0][:2] == ["合计", 2] and Decimal(str(totals[0][3])) == Decimal(first_sum) / 100
    assert totals[1][:2] == ["合计", 1] and Decimal(str(totals[1][3])) == Decimal(161550 - first_sum) / 100
    assert (sum(f.tx_count for f in files), sum(f.total_fen for f in files)) == (3, 161550) == (r.line_count,
                                                                                               r.total_fen)
    recorded = db.scalars(select(BankFile).where(BankFile.roll_id == r.id).order_by(BankFile.seq)).all()
    assert [(b.format, b.tx_count) for b in recorded] == [("domestic", 2), ("domestic", 1)]
    db.refresh(r)
    assert r.status == RollStatus.SENT
    # Exported again (now sent), the same lines come out as CSV in the county's default layout.
    again = bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="domestic")
    assert [f.name for f in again] == [f"DD{r.id}-0001-D.csv"]
    assert again[0].data.decode("gb18030").splitlines()[-1] == "合计,3,,1615.50,,"


def test_layout_from_the_pack_value() -> None:
    layout = bank.parse_layout({"file": "xlsx", "encoding": "utf-8", "columns": [
        ["收款人姓名", "payee_name"], ["身份证号码", "id_number"], ["卡号", "account_no"], ["发放金额", "amount"]]})
    assert layout == bank.DomesticLayout("xlsx", "utf-8", (("收款人姓名", "payee_name"), ("身份证号码", "id_number"),
                                                           ("卡号", "account_no"), ("发放金额", "amount")))
    lines = pl.DataFrame({"payee_name": ["李四"], "id_number": ["370784199001011234"], "account_no": ["6230001"],
                          "bank_name": ["农商行"], "amount_fen": [12345], "end_to_end_id": ["DD7-1"]})
    assert cells(bank.domestic_xlsx(lines, memo="m", layout=layout)) == [
        ["收款人姓名", "身份证号码", "卡号", "发放金额", "流水号"],
        ["李四", "370784199001011234", "6230001", 123.45, "DD7-1"],
        ["合计", 1, None, 123.45]]  # an empty last cell is not written
    csv_layout = bank.DomesticLayout("csv", "utf-8", layout.columns)
    assert bank.domestic_csv(lines, memo="m", layout=csv_layout).decode("utf-8").splitlines() == [
        "收款人姓名,身份证号码,卡号,发放金额,流水号", "李四,370784199001011234,6230001,123.45,DD7-1", "合计,1,,123.45,"]
    # The national default is the CSV layout of 户名, 账号, 开户行, 金额, 摘要 in GB18030.
    assert bank.domestic_layout(COUNTY, date(2026, 1, 1)) == bank.DomesticLayout()


@pytest.mark.parametrize(("raw", "message"), [
    ({"file": "pdf"}, "文件类型应为 csv 或 xlsx"),
    ({"encoding": "no-such-codec"}, "无法识别的编码"),
    ({"columns": [["户名", "payee_name"], ["账号", "account_no"], ["电话", "phone"]]}, "第 3 列应为 [表头, 字段]"),
    ({"columns": [["户名", "payee_name"], ["金额", "amount"]]}, "须含账号（account_no）和金额（amount）列"),
    ({"columns": [["金额", "amount"], ["账号", "account_no"], ["户名", "payee_name"]]}, "金额列不能是前两列"),
    ("csv", "应为含 file、encoding、columns 的映射"),
])
def test_bad_layout_refused(raw: object, message: str) -> None:
    with pytest.raises(ValidationFailed, match=re.escape(message)):
        bank.parse_layout(raw)


def test_unknown_file_type_refused(db: Session) -> None:
    staff = make_staff(db)
    hh = make_household(db, VILLAGE_A1)
    account(db, f"H{hh.id}", "6230123456789012")
    enroll(db, program="dibao", amount="537.00", start=date(2026, 1, 1), household=hh)
    r = service.generate_roll(db, actor=staff.preparer, county=COUNTY, month=date(2026, 1, 1), program="dibao")
    service.approve_roll(db, actor=staff.checker, roll_id=r.id, version=r.version)
    with pytest.raises(ValidationFailed, match="代发文件类型应为 csv 或 xlsx"):
        bank.export_roll(db, actor=staff.checker, roll_id=r.id, fmt="domestic", file_type="pdf")
    db.refresh(r)
    assert r.status == RollStatus.APPROVED  # nothing sent
