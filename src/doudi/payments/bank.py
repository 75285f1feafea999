"""Bank files from an approved roll: ISO 20022 pain.001.001.03 credit transfers (built with lxml, validated
against the schema the sepaxml package ships) and the domestic 代发 batch layout (CSV), split at the pack's
maximum of transactions per file, with control totals that must agree with the roll."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
# The domestic layout: (header, line column). Counties whose bank wants another layout change this table.
DOMESTIC_COLUMNS = (("户名", "payee_name"), ("账号", "account_no"), ("开户行", "bank_name"), ("金额", "amount"),
                    ("摘要", "memo"))


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
                  PaymentLine.bank_name, PaymentLine.amount_fen).where(
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


def domestic_csv(lines: pl.DataFrame, *, memo: str, encoding: str = "gb18030") -> bytes:
    """The domestic 代发 layout (DOMESTIC_COLUMNS, then 流水号), then a control line (合计, the count and the sum
    under 金额); written by Polars in one pass (fields quoted only where needed, CRLF line ends)."""
    source = {"amount": yuan_expr("amount_fen"), "memo": pl.lit(memo)}
    fields = [source.get(col, pl.col(col)).alias(header) for header, col in DOMESTIC_COLUMNS]
    # An empty field is written empty, as a plain CSV writer does: null (Polars quotes an empty string).
    body = lines.select([pl.when(f.cast(pl.String) != "").then(f.cast(pl.String)).alias(f.meta.output_name())
                         for f in [*fields, pl.col("end_to_end_id").alias("流水号")]])
    total = int(lines["amount_fen"].sum()) if lines.height else 0
    control = ["合计", str(lines.height)] + [yuan(total) if h == "金额" else None for h in body.columns[2:]]
    text = pl.concat([body, pl.DataFrame([control], schema=body.columns, orient="row")]).write_csv(
        line_terminator="\r\n")
    return text.encode(encoding)


def export_roll(session: Session, *, actor: Actor, roll_id: int, fmt: str, version: int | None = None,
                today: date | None = None, max_per_file: int | None = None) -> list[OutFile]:
    """The bank files of an approved roll (again, identically, for a roll already sent); the first export
    marks the roll sent. Control totals of the files must equal the roll's payable lines."""
    actor.require("payment.export")
    if fmt not in {"pain001", "domestic"}:
        raise ValidationFailed([FieldError("format", f"银行文件格式应为 pain001 或 domestic：{fmt!r}")])
    roll = get_roll(session, actor=actor, roll_id=roll_id)
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
        else:
            data = domestic_csv(part, memo=memo)
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
                  PaymentLine.bank_name, PaymentLine.amount_fen).where(
        PaymentLine.roll_id == roll.id, PaymentLine.status != LineStatus.NO_ACCOUNT).order_by(PaymentLine.id)
    return read_frame(session, stmt)
