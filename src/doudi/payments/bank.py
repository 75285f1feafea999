"""Bank files from an approved roll: ISO 20022 pain.001.001.03 credit transfers (built with lxml, validated
against the schema the sepaxml package ships) and the domestic 代发 batch layout (CSV or XLSX, columns and
encoding from the county's pack), split at the pack's maximum of transactions per file, with control totals
that must agree with the roll."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files

import polars as pl
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core import clock
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.frames import read_frame
from doudi.db.versions import claim
from doudi.payments.models import BankFile, LineStatus, PaymentLine, PaymentRoll, RollStatus
from doudi.payments.service import STATUS_LABELS, get_roll, yuan
from doudi.policy.params import load_pack

PAIN001 = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
DEBTOR_NAME = "民政局社会救助资金专户"
# The default domestic layout: (header, line field); a county's pack sets its bank's own
# (payments.bank_file.domestic). 流水号 (the line's reference) always follows: the bank's return names it.
DOMESTIC_COLUMNS = (("户名", "payee_name"), ("账号", "account_no"), ("开户行", "bank_name"), ("金额", "amount"),
                    ("摘要", "memo"))
LAYOUT_FIELDS = {"payee_name": "户名", "account_no": "账号", "bank_name": "开户行", "amount": "金额（元）",
                 "memo": "摘要", "id_number": "身份证号", "end_to_end_id": "流水号"}
FILE_TYPES = ("csv", "xlsx")
FORMATS = ("pain001", "domestic")


@dataclass(frozen=True)
class DomesticLayout:
    """The county bank's 代发 layout: file type (csv | xlsx), the CSV's text encoding, the columns in order."""

    file_type: str = "csv"
    encoding: str = "gb18030"
    columns: tuple[tuple[str, str], ...] = DOMESTIC_COLUMNS


def parse_layout(raw: object) -> DomesticLayout:
    """A layout from its pack value ({file, encoding, columns: [[header, field], …]}); a wrong one is refused in
    Chinese, naming what is wrong (the bank would refuse the file anyway, later and less clearly)."""
    if raw is None:
        return DomesticLayout()
    bad = "参数 payments.bank_file.domestic 有误："
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("layout", bad + "应为含 file、encoding、columns 的映射")])
    file_type = str(raw.get("file", "csv"))
    encoding = str(raw.get("encoding", "gb18030"))
    errors = []
    if file_type not in FILE_TYPES:
        errors.append(FieldError("layout.file", bad + f"文件类型应为 csv 或 xlsx：{file_type!r}"))
    try:
        codecs.lookup(encoding)
    except LookupError:
        errors.append(FieldError("layout.encoding", bad + f"无法识别的编码：{encoding!r}"))
    columns: list[tuple[str, str]] = []
    for i, col in enumerate(raw.get("columns") or [str(h) for h, _ in DOMESTIC_COLUMNS]):
        pair = [str(x) for x in col] if isinstance(col, list | tuple) else []
        if len(pair) != 2 or not pair[0].strip() or pair[1] not in LAYOUT_FIELDS:
            errors.append(FieldError(f"layout.columns.{i}", bad + f"第 {i + 1} 列应为 [表头, 字段]，字段可选 "
                                     f"{', '.join(LAYOUT_FIELDS)}：{col!r}"))
        else:
            columns.append((pair[0].strip(), pair[1]))
    fields = [f for _, f in columns]
    if not errors and ("account_no" not in fields or "amount" not in fields):
        errors.append(FieldError("layout.columns", bad + "须含账号（account_no）和金额（amount）列"))
    elif not errors and fields.index("amount") < 2:
        errors.append(FieldError("layout.columns", bad + "金额列不能是前两列（合计行在前两列写“合计”和笔数）"))
    if errors:
        raise ValidationFailed(errors)
    return DomesticLayout(file_type, encoding, tuple(columns))


def domestic_layout(area_code: str, on: date) -> DomesticLayout:
    """The layout a county's bank expects, from its pack (the national default where it sets none)."""
    return parse_layout(load_pack(area_code).value("payments.bank_file.domestic", on=on, default=None))


@dataclass(frozen=True)
class OutFile:
    """One file for the bank: name, bytes and its control totals."""

    name: str
    data: bytes
    tx_count: int
    total_fen: int


@lru_cache
def _schema() -> etree.XMLSchema:
    path = files("sepaxml").joinpath("schemas", "pain.001.001.03.xsd")
    return etree.XMLSchema(etree.parse(str(path)))


def _payable(session: Session, roll: PaymentRoll) -> pl.DataFrame:
    stmt = select(PaymentLine.id, PaymentLine.end_to_end_id, PaymentLine.payee_name, PaymentLine.account_no,
                  PaymentLine.bank_name, PaymentLine.id_number, PaymentLine.amount_fen).where(
        PaymentLine.roll_id == roll.id, PaymentLine.status == LineStatus.PENDING).order_by(PaymentLine.id)
    return read_frame(session, stmt)


def _memo(roll: PaymentRoll) -> str:
    return f"{roll.month:%Y年%m月}社会救助金"


def _text(col: str, limit: int) -> pl.Expr:
    """A column as XML character data: control characters dropped, markup characters escaped."""
    return (pl.col(col).fill_null("").str.replace_all(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "")
            .str.slice(0, limit).str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True))


def yuan_expr(col: str) -> pl.Expr:
    """Integer fen as a yuan string with two decimals, vectorised."""
    return pl.format("{}.{}", pl.col(col) // 100, (pl.col(col) % 100).cast(pl.String).str.zfill(2))


def transactions(memo: str) -> pl.Expr:
    """One CdtTrfTxInf element per line, rendered on the frame as lxml would serialise it (text escaped,
    control characters dropped)."""
    return pl.concat_str([
        pl.lit("<CdtTrfTxInf><PmtId><EndToEndId>"), _text("end_to_end_id", 35),
        pl.lit('</EndToEndId></PmtId><Amt><InstdAmt Ccy="CNY">'), yuan_expr("amount_fen"),
        pl.lit("</InstdAmt></Amt><CdtrAgt><FinInstnId><Nm>"),
        pl.when(pl.col("bank_name").fill_null("") == "").then(pl.lit("未知")).otherwise(_text("bank_name", 140)),
        pl.lit("</Nm></FinInstnId></CdtrAgt><Cdtr><Nm>"), _text("payee_name", 140),
        pl.lit("</Nm></Cdtr><CdtrAcct><Id><Othr><Id>"), _text("account_no", 34),
        pl.lit("</Id></Othr></Id></CdtrAcct><RmtInf><Ustrd>"), pl.lit(memo.replace("&", "&amp;").replace("<", "&lt;")),
        pl.lit("</Ustrd></RmtInf></CdtTrfTxInf>")])


class _Tokens:
    """A parser target that keeps nothing: the document is checked by libxml2 without building a tree."""

    def close(self) -> None:
        return None


def well_formed(data: bytes) -> None:
    """Raise lxml's XMLSyntaxError unless `data` is a well-formed document (no tree is built)."""
    # The stubs ask for every callback; libxml2 then calls each one per element, which is what is avoided here.
    parser = etree.XMLParser(target=_Tokens(), resolve_entities=False, no_network=True)  # type: ignore[arg-type]
    etree.fromstring(data, parser)


def pain001(lines: pl.DataFrame, *, msg_id: str, created: datetime, execution: date, debtor_account: str,
            memo: str) -> bytes:
    """A pain.001.001.03 document for these lines (end_to_end_id, payee_name, account_no, bank_name,
    amount_fen), with the number of transactions and control sum in the group and payment headers.

    The document and its headers are built with lxml; the transactions, the same few elements a million
    times, are rendered on the frame (escaped as lxml would) and put in place as bytes, and libxml2 reads
    the whole document back, so a file that is not well-formed never leaves here."""
    ns = PAIN001
    E = etree.SubElement
    doc = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})  # type: ignore[dict-item]
    root = E(doc, f"{{{ns}}}CstmrCdtTrfInitn")
    total = int(lines["amount_fen"].sum()) if lines.height else 0
    ctrl = yuan(total)

    def el(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        node = E(parent, f"{{{ns}}}{tag}")
        if text is not None:
            node.text = text
        return node

    hdr = el(root, "GrpHdr")
    el(hdr, "MsgId", msg_id)
    el(hdr, "CreDtTm", created.strftime("%Y-%m-%dT%H:%M:%S"))
    el(hdr, "NbOfTxs", str(lines.height))
    el(hdr, "CtrlSum", ctrl)
    el(el(hdr, "InitgPty"), "Nm", DEBTOR_NAME)
    pmt = el(root, "PmtInf")
    el(pmt, "PmtInfId", msg_id)
    el(pmt, "PmtMtd", "TRF")
    el(pmt, "NbOfTxs", str(lines.height))
    el(pmt, "CtrlSum", ctrl)
    el(pmt, "ReqdExctnDt", execution.isoformat())
    el(el(pmt, "Dbtr"), "Nm", DEBTOR_NAME)
    el(el(el(el(pmt, "DbtrAcct"), "Id"), "Othr"), "Id", debtor_account)
    el(el(el(pmt, "DbtrAgt"), "FinInstnId"), "Nm", "承办银行")
    pmt.append(etree.Comment("TX"))
    # Joined and handed over as UTF-8 bytes by Polars: the million elements never become Python strings.
    txs = lines.select(transactions(memo).str.join("").cast(pl.Binary)).item() if lines.height else b""
    head = etree.tostring(doc, xml_declaration=True, encoding="UTF-8")
    data = head.replace(b"<!--TX-->", txs, 1)
    well_formed(data)  # or an error here rather than at the bank
    return data


def validate_pain001(data: bytes) -> list[str]:
    """Schema errors of a pain.001.001.03 document (empty when valid)."""
    schema = _schema()
    doc = etree.fromstring(data)
    if schema.validate(doc):
        return []
    return [f"第 {e.line} 行：{e.message}" for e in list(schema.error_log)]  # type: ignore[call-overload]


def _columns(layout: DomesticLayout) -> list[tuple[str, str]]:
    cols = list(layout.columns)
    return cols if any(f == "end_to_end_id" for _, f in cols) else [*cols, ("流水号", "end_to_end_id")]


def _control(layout: DomesticLayout, count: int, total: object) -> list[object]:
    """The control line: 合计 and the count in the first two columns, the sum under the amount column."""
    cols = _columns(layout)
    row: list[object] = [None] * len(cols)
    row[0], row[1] = "合计", count
    row[[f for _, f in cols].index("amount")] = total
    return row


def domestic_csv(lines: pl.DataFrame, *, memo: str, layout: DomesticLayout | None = None) -> bytes:
    """The domestic 代发 layout (its columns, then 流水号), then a control line (合计, the count and the sum
    under the amount); written by Polars in one pass (fields quoted only where needed, CRLF line ends)."""
    layout = layout or DomesticLayout()
    source = {"amount": yuan_expr("amount_fen"), "memo": pl.lit(memo)}
    cols = _columns(layout)
    fields = [source.get(col, pl.col(col)).alias(header) for header, col in cols]
    # An empty field is written empty, as a plain CSV writer does: null (Polars quotes an empty string).
    body = lines.select([pl.when(f.cast(pl.String) != "").then(f.cast(pl.String)).alias(f.meta.output_name())
                         for f in fields])
    total = int(lines["amount_fen"].sum()) if lines.height else 0
    control = [None if v is None else str(v) for v in _control(layout, lines.height, yuan(total))]
    text = pl.concat([body, pl.DataFrame([control], schema=body.columns, orient="row")]).write_csv(
        line_terminator="\r\n")
    return text.encode(layout.encoding)


def domestic_xlsx(lines: pl.DataFrame, *, memo: str, layout: DomesticLayout | None = None) -> bytes:
    """The same layout as an Excel workbook, through the shared writer (a formula-leading name or bank stays
    text): accounts and ID numbers are text cells (never a number that loses digits), amounts exact yuan with
    two decimals, the control line last."""
    # Imported here: openpyxl is loaded only when an Excel file is written.
    from doudi.core import excel

    layout = layout or DomesticLayout()
    cols = _columns(layout)
    frame = lines.with_columns(memo=pl.lit(memo))
    data = [frame["amount_fen"].to_list() if f == "amount" else frame[f].fill_null("").to_list() for _, f in cols]

    def rows() -> Iterator[list[object]]:
        for values in zip(*data, strict=True):
            yield [Decimal(v).scaleb(-2) if f == "amount" else v for (_, f), v in zip(cols, values, strict=True)]
        total = int(lines["amount_fen"].sum()) if lines.height else 0
        yield _control(layout, lines.height, Decimal(total).scaleb(-2))

    sheet = excel.Sheet("代发明细", [excel.Col(h, 14 if f == "amount" else 22, number_format="0.00" if f == "amount"
                                               else None) for h, f in cols], rows())
    return excel.to_bytes(sheet)


def media_type(name: str) -> str:
    """The media type of a bank file, by its extension."""
    if name.endswith(".xlsx"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return "application/xml" if name.endswith(".xml") else "text/csv"


def export_roll(session: Session, *, actor: Actor, roll_id: int, fmt: str, version: int | None = None,
                today: date | None = None, max_per_file: int | None = None,
                file_type: str | None = None) -> list[OutFile]:
    """The bank files of an approved roll (again, identically, for a roll already sent); the first export
    marks the roll sent. Control totals of the files must equal the roll's payable lines. A domestic file
    follows the county's layout; `file_type` (csv | xlsx) overrides the layout's file type for this export."""
    actor.require("payment.export")
    if fmt not in FORMATS:
        raise ValidationFailed([FieldError("format", f"银行文件格式应为 pain001 或 domestic：{fmt!r}")])
    if file_type is not None and file_type not in FILE_TYPES:
        raise ValidationFailed([FieldError("file_type", f"代发文件类型应为 csv 或 xlsx：{file_type!r}")])
    roll = get_roll(session, actor=actor, roll_id=roll_id)
    layout = domestic_layout(roll.area_code, roll.month) if fmt == "domestic" else DomesticLayout()
    if file_type is not None:
        layout = DomesticLayout(file_type, layout.encoding, layout.columns)
    if roll.status not in {RollStatus.APPROVED, RollStatus.SENT}:
        raise Conflict(f"花名册状态为“{STATUS_LABELS[RollStatus(roll.status)]}”，须审核后才能生成银行文件")
    first = roll.status == RollStatus.APPROVED
    if first:
        claim(session, roll, version, label="该花名册")
        roll.status, roll.sent_at = RollStatus.SENT, datetime.now(UTC)
    lines = _payable(session, roll) if first else _sent(session, roll)
    pack = load_pack(roll.area_code)
    cap = max_per_file or int(pack.value("payments.bank_file.max_transactions", on=roll.month))
    created = (roll.sent_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    memo = _memo(roll)
    out: list[OutFile] = []
    for seq, start in enumerate(range(0, max(lines.height, 1), cap), start=1):
        part = lines.slice(start, cap)
        if part.is_empty():
            break
        msg_id = f"DD{roll.id}-{seq:04d}-{fmt[:1].upper()}"
        if fmt == "pain001":
            data = pain001(part, msg_id=msg_id, created=created, execution=today or clock.today(),
                           debtor_account=f"{roll.area_code}000000", memo=memo)
            name = f"{msg_id}.xml"
        elif layout.file_type == "xlsx":
            data = domestic_xlsx(part, memo=memo, layout=layout)
            name = f"{msg_id}.xlsx"
        else:
            data = domestic_csv(part, memo=memo, layout=layout)
            name = f"{msg_id}.csv"
        out.append(OutFile(name, data, part.height, int(part["amount_fen"].sum())))
        if first:
            session.add(BankFile(roll_id=roll.id, seq=seq, format=fmt, msg_id=msg_id, tx_count=part.height,
                                 total_fen=int(part["amount_fen"].sum()), first_line_id=int(part["id"][0]),
                                 last_line_id=int(part["id"][-1]),
                                 sha256=hashlib.sha256(data).hexdigest(), created_by=actor.username))
    files_count = sum(f.tx_count for f in out)
    files_total = sum(f.total_fen for f in out)
    if files_count != lines.height or files_total != (int(lines["amount_fen"].sum()) if lines.height else 0):
        raise Conflict("银行文件控制总数与花名册不一致，已停止生成")  # cannot happen unless a split is wrong
    audit.record(session, actor=actor, action="payment.bank_file", object_type="payment_roll", object_id=roll.id,
                 area_code=roll.area_code, after={"format": fmt, "files": len(out), "count": files_count,
                                                  "total": yuan(files_total), "first": first})
    return out


def _sent(session: Session, roll: PaymentRoll) -> pl.DataFrame:
    """The lines that went out with the roll (whatever the bank has answered since), in their original order."""
    stmt = select(PaymentLine.id, PaymentLine.end_to_end_id, PaymentLine.payee_name, PaymentLine.account_no,
                  PaymentLine.bank_name, PaymentLine.id_number, PaymentLine.amount_fen).where(
        PaymentLine.roll_id == roll.id, PaymentLine.status != LineStatus.NO_ACCOUNT).order_by(PaymentLine.id)
    return read_frame(session, stmt)
