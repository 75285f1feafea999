"""Reconciliation: a bank return (pain.002, camt.053 or the domestic return CSV) classified line by line.

Every row ends in one class: paid; rejected (the bank's reason in Chinese); returned or reversed; unmatched
(a reference we never sent); duplicate (a line already answered, or twice in the file); invalid (a row that
does not parse, kept with its row number and reason). Nothing is ignored. A file that does not parse at all
is refused with its line and reason and changes nothing; the same file twice is refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import InvalidOperation

import polars as pl
from lxml import etree
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import outside_area_expr
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.frames import read_frame_in, write_frame
from doudi.payments.models import (
    BankReturn,
    BankReturnRow,
    LineStatus,
    PaymentLine,
    PaymentRoll,
    RollStatus,
)

# ISO 20022 external status reason codes the banks use, in Chinese.
REASONS = {
    "AC01": "账号错误", "AC04": "账户已销户", "AC06": "账户已冻结", "AC13": "账户类型不符",
    "AG01": "该账户禁止此类交易", "AM05": "重复支付", "BE01": "户名与账号不符", "MD07": "收款人已死亡",
    "MS03": "银行未说明原因", "RR01": "缺少收款人账户或身份信息", "NARR": "见银行附言", "AM04": "付款账户余额不足",
}
ANSWERS = ["paid", "rejected", "returned"]  # the outcomes that answer a line (and set its status)
STATUS_CSV = {"成功": "paid", "失败": "rejected", "退回": "returned", "冲正": "returned"}


@dataclass(frozen=True)
class ReturnRow:
    """One row of a bank return as read, before matching."""

    row_no: int
    end_to_end_id: str
    outcome: str  # paid | rejected | returned | invalid
    code: str = ""
    message: str = ""
    amount_fen: int | None = None


AMOUNT = re.compile(r"^(\d+)(?:\.(\d{0,2})0*)?$")  # yuan with at most two places that count; no sign, no exponent


def _fen(text: str) -> int:
    m = AMOUNT.match(text.strip())
    if m is None:
        raise InvalidOperation
    return int(m.group(1)) * 100 + int((m.group(2) or "").ljust(2, "0"))


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_xml(data: bytes) -> tuple[str, list[ReturnRow]]:
    """Rows of a pain.002 status report or a camt.053 statement; a document that is neither is refused."""
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed([FieldError("file", f"XML 无法解析：{exc.msg}", row=exc.lineno)]) from None
    body = next(iter(root), None)
    kind = _local(body.tag) if body is not None else ""
    rows: list[ReturnRow] = []
    if kind == "CstmrPmtStsRpt":  # pain.002
        for tx in root.iter("{*}TxInfAndSts"):
            line = tx.sourceline if isinstance(tx.sourceline, int) else 0
            e2e = (tx.findtext("{*}OrgnlEndToEndId") or "").strip()
            sts = (tx.findtext("{*}TxSts") or "").strip()
            code = (tx.findtext("{*}StsRsnInf/{*}Rsn/{*}Cd") or "").strip()
            amt = tx.findtext("{*}OrgnlTxRef/{*}Amt/{*}InstdAmt")
            rows.append(_classify(line, e2e, {"ACSC": "paid", "ACCP": "paid", "RJCT": "rejected"}.get(sts),
                                  code, amt, f"交易状态 {sts!r} 无法识别（应为 ACSC、ACCP 或 RJCT）"))
        return "pain002", rows
    if kind == "BkToCstmrStmt":  # camt.053: booked debits are paid, reversals are returned
        for ntry in root.iter("{*}Ntry"):
            line = ntry.sourceline if isinstance(ntry.sourceline, int) else 0
            rvsl = (ntry.findtext("{*}RvslInd") or "").strip().lower() == "true"
            amt = ntry.findtext("{*}Amt")
            code = (ntry.findtext(".//{*}RtrInf/{*}Rsn/{*}Cd") or "").strip()
            for ref in ntry.iter("{*}EndToEndId"):
                rows.append(_classify(line, (ref.text or "").strip(), "returned" if rvsl or code else "paid",
                                      code, amt, ""))
        return "camt053", rows
    raise ValidationFailed([FieldError("file", f"不是 pain.002 或 camt.053 报文（根元素下为 {kind or '空'}）", row=1)])


def _classify(line: int, e2e: str, outcome: str | None, code: str, amount: str | None, bad: str) -> ReturnRow:
    if not e2e:
        return ReturnRow(line, "", "invalid", message="缺少流水号（EndToEndId）")
    if outcome is None:
        return ReturnRow(line, e2e, "invalid", message=bad)
    fen = None
    if amount is not None and amount.strip():
        try:
            fen = _fen(amount)
        except (InvalidOperation, ValueError):
            return ReturnRow(line, e2e, "invalid", message=f"金额 {amount!r} 格式不正确")
    msg = REASONS.get(code, f"银行原因代码 {code}" if code else "") if outcome != "paid" else ""
    return ReturnRow(line, e2e, outcome, code, msg, fen)


ROW_SCHEMA = {"row_no": pl.Int64, "end_to_end_id": pl.String, "outcome": pl.String, "code": pl.String,
              "message": pl.String, "amount_fen": pl.Int64}
CSV_STATUS_BAD = "无法识别（应为 成功、失败、退回 或 冲正）"


def rows_frame(rows: list[ReturnRow]) -> pl.DataFrame:
    """Parsed rows as a frame."""
    return pl.DataFrame([r.__dict__ for r in rows], schema=ROW_SCHEMA)


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValidationFailed([FieldError("file", "文件编码无法识别（应为 UTF-8 或 GB18030）", row=1)])


def parse_csv(data: bytes) -> pl.DataFrame:
    """Rows of the domestic return: 流水号, 户名, 账号, 金额, 状态 (成功/失败/退回/冲正), 原因代码, 原因, read
    and classified column-wise (a million rows in one pass); a file Polars cannot split into rows is read row
    by row instead, with the same classification."""
    text = _decode(data)
    header = next(csv.reader(io.StringIO(text[:4096].split("\n", 1)[0])), [])
    need = {"流水号", "金额", "状态"}
    if not need <= set(header):
        missing = "、".join(sorted(need - set(header)))
        raise ValidationFailed([FieldError("file", f"回盘文件缺少列：{missing}", row=1)])
    try:
        raw = pl.read_csv(text.encode("utf-8"), infer_schema=False)
    except pl.exceptions.PolarsError:
        return rows_frame(_parse_csv_rows(text))
    return classify_csv(raw)


def classify_csv(raw: pl.DataFrame) -> pl.DataFrame:
    """The domestic return's text columns classified (pure): the same rules as `_classify`, on the frame."""
    def col(name: str) -> pl.Expr:
        return pl.col(name).fill_null("").str.strip_chars() if name in raw.columns else pl.lit("")

    e2e, status, code, why = col("流水号"), col("状态"), col("原因代码"), col("原因")
    amount = pl.col("金额").fill_null("") if "金额" in raw.columns else pl.lit("")
    outcome = status.replace_strict(STATUS_CSV, default=None, return_dtype=pl.String)
    parts = amount.str.strip_chars().str.extract_groups(AMOUNT.pattern)
    whole, frac = parts.struct.field("1"), parts.struct.field("2").fill_null("")
    fen = whole.cast(pl.Int64, strict=False) * 100 + frac.str.pad_end(2, "0").cast(pl.Int64, strict=False)
    has_amount = amount.str.strip_chars() != ""
    bad_amount = has_amount & fen.is_null()
    reason = code.replace_strict(REASONS, default=None, return_dtype=pl.String)
    reason = pl.when(code == "").then(pl.lit("")).otherwise(reason.fill_null(pl.format("银行原因代码 {}", code)))
    reason = pl.when(outcome.is_in(["rejected", "returned"]) & (code == "") & (why != "")).then(why.str.slice(0, 300)) \
        .otherwise(reason)
    frame = raw.with_row_index("i").select(
        (pl.col("i").cast(pl.Int64) + 2).alias("row_no"),
        e2e.alias("end_to_end_id"),
        pl.when(e2e == "").then(pl.lit("invalid")).when(outcome.is_null()).then(pl.lit("invalid"))
        .when(bad_amount).then(pl.lit("invalid")).otherwise(outcome).alias("outcome"),
        pl.when((e2e == "") | outcome.is_null() | bad_amount).then(pl.lit("")).otherwise(code).alias("code"),
        pl.when(e2e == "").then(pl.lit("缺少流水号（EndToEndId）"))
        .when(outcome.is_null()).then(pl.format("状态 '{}' " + CSV_STATUS_BAD, status))
        .when(bad_amount).then(pl.format("金额 '{}' 格式不正确", amount))
        .when(outcome == "paid").then(pl.lit("")).otherwise(reason).alias("message"),
        pl.when((e2e == "") | outcome.is_null() | bad_amount | ~has_amount).then(None).otherwise(fen)
        .alias("amount_fen"),
    )
    return frame.cast(ROW_SCHEMA)  # type: ignore[arg-type]


def _parse_csv_rows(text: str) -> list[ReturnRow]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for i, rec in enumerate(reader, start=2):
        status = (rec.get("状态") or "").strip()
        r = _classify(i, (rec.get("流水号") or "").strip(), STATUS_CSV.get(status), (rec.get("原因代码") or "").strip(),
                      rec.get("金额"), f"状态 {status!r} {CSV_STATUS_BAD}")
        if r.outcome in {"rejected", "returned"} and not r.code and (rec.get("原因") or "").strip():
            r = ReturnRow(r.row_no, r.end_to_end_id, r.outcome, "", (rec.get("原因") or "").strip()[:300],
                          r.amount_fen)
        rows.append(r)
    return rows


def reconcile(session: Session, *, actor: Actor, filename: str, data: bytes) -> BankReturn:
    """Import a bank return: classify each row, update the lines it answers, keep every row (bad ones
    quarantined), close rolls whose lines are all answered. One transaction: a failure changes nothing."""
    actor.require("payment.reconcile")
    digest = hashlib.sha256(data).hexdigest()
    if session.scalar(select(BankReturn.id).where(BankReturn.sha256 == digest)) is not None:
        raise Conflict(f"回盘文件 {filename} 已导入过，不能重复导入")
    head = data.lstrip()[:1]
    if head == b"<":
        fmt, rows = parse_xml(data)
        frame = rows_frame(rows)
    else:
        fmt, frame = "csv", parse_csv(data)
    # Our references name their roll (DD<roll>-…): the lines are read roll by roll, not key by key.
    rolls = frame["end_to_end_id"].str.extract(r"^DD(\d+)-", 1).cast(pl.Int64, strict=False).drop_nulls().unique()
    lines = read_frame_in(session, select(PaymentLine.id.label("line_id"), PaymentLine.end_to_end_id,
                                          PaymentLine.status.label("line_status"),
                                          PaymentLine.amount_fen.label("line_fen"), PaymentLine.area_code,
                                          PaymentLine.roll_id),
                          PaymentLine.__table__.c.roll_id, rolls.to_list())
    visible = lines.filter(~outside_area_expr(pl.col("area_code"), actor))
    m = frame.join(visible, on="end_to_end_id", how="left") if not visible.is_empty() else frame.with_columns(
        line_id=pl.lit(None, pl.Int64), line_status=pl.lit(None, pl.String), line_fen=pl.lit(None, pl.Int64),
        area_code=pl.lit(None, pl.String), roll_id=pl.lit(None, pl.Int64))
    first = pl.col("row_no") == pl.col("row_no").min().over("end_to_end_id")
    valid = pl.col("outcome") != "invalid"
    m = m.with_columns(outcome=pl.when(~valid).then(pl.col("outcome"))
                       .when(pl.col("line_id").is_null()).then(pl.lit("unmatched"))
                       .when(~first | (pl.col("line_status") != LineStatus.PENDING.value)).then(pl.lit("duplicate"))
                       .when(pl.col("amount_fen").is_not_null() & (pl.col("amount_fen") != pl.col("line_fen")))
                       .then(pl.lit("invalid"))
                       .otherwise(pl.col("outcome")),
                       message=pl.when(~valid).then(pl.col("message"))
                       .when(pl.col("line_id").is_null()).then(pl.lit("流水号不属于任何已报送的发放记录"))
                       .when(~first).then(pl.lit("同一流水号在文件中重复出现"))
                       .when(pl.col("line_status") != LineStatus.PENDING.value)
                       .then(pl.format("该笔已有银行结果（{}），不再重复处理", pl.col("line_status")))
                       .when(pl.col("amount_fen").is_not_null() & (pl.col("amount_fen") != pl.col("line_fen")))
                       .then(pl.format("金额与发放记录不符（回盘 {} 分，花名册 {} 分）", pl.col("amount_fen"),
                                       pl.col("line_fen")))
                       .otherwise(pl.col("message")))
    ret = BankReturn(sha256=digest, filename=filename[:200], format=fmt, area_code=actor.area_code,
                     rows=frame.height, imported_by=actor.username)
    counts = m["outcome"].value_counts()
    n = dict(zip(counts["outcome"].to_list(), counts["count"].to_list(), strict=True))
    ret.paid = int(n.get("paid", 0))
    ret.failed = int(n.get("rejected", 0)) + int(n.get("returned", 0))
    ret.unmatched, ret.duplicate, ret.invalid = (int(n.get("unmatched", 0)), int(n.get("duplicate", 0)),
                                                 int(n.get("invalid", 0)))
    session.add(ret)
    session.flush()
    write_frame(session, BankReturnRow, m.select(
        pl.lit(ret.id).alias("return_id"), "row_no", "end_to_end_id", "line_id", "outcome", "code",
        pl.col("message").str.slice(0, 300), "amount_fen"))
    answered = m.filter(pl.col("outcome").is_in(ANSWERS))
    if not answered.is_empty():
        # The answers are already in the database as this return's rows: the lines take them from there in one
        # UPDATE … FROM, instead of the same million rows sent again into a staging table.
        row = BankReturnRow
        session.execute(update(PaymentLine).where(
            PaymentLine.id == row.line_id, row.return_id == ret.id, row.outcome.in_(ANSWERS),
        ).values(status=row.outcome, reason=func.substr(func.coalesce(row.message, ""), 1, 200))
            .execution_options(synchronize_session=False))
        answered_rolls = answered["roll_id"].unique().to_list()
        # Every line of these rolls was read above: a roll is done when none is still pending after this file.
        open_rolls = set(lines.filter((pl.col("line_status") == LineStatus.PENDING.value)
                                      & ~pl.col("line_id").is_in(answered["line_id"].implode()))["roll_id"].to_list())
        done = [r for r in answered_rolls if r not in open_rolls]
        if done:
            session.execute(update(PaymentRoll).where(PaymentRoll.id.in_(done), PaymentRoll.status == RollStatus.SENT)
                            .values(status=RollStatus.RECONCILED, reconciled_at=datetime.now(UTC),
                                    version=PaymentRoll.version + 1))
    audit.record(session, actor=actor, action="payment.reconcile", object_type="payment_return", object_id=ret.id,
                 area_code=actor.area_code, after={"file": filename, "format": fmt, "rows": ret.rows,
                                                   "paid": ret.paid, "failed": ret.failed,
                                                   "unmatched": ret.unmatched, "duplicate": ret.duplicate,
                                                   "invalid": ret.invalid})
    return ret


def return_rows(session: Session, *, return_id: int, outcome: str = "", page: int = 1,
                per_page: int = 50) -> tuple[list[BankReturnRow], int]:
    """The rows of one return, quarantined ones first when no outcome is chosen."""
    stmt = select(BankReturnRow).where(BankReturnRow.return_id == return_id)
    if outcome:
        stmt = stmt.where(BankReturnRow.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(BankReturnRow.row_no).offset((page - 1) * per_page)
                                .limit(per_page))), int(total)
