"""`doudi import facts FILE --kind income|assets|expenses|living`: declared or investigated facts from a ledger.

Rules of the import:
- CSV, XLSX or Parquet, English or Chinese headers (FACT_COLUMNS below; documented in docs/caseload.md).
- Each row names a household (户编号) in the importing user's area and, for personal facts, a current member
  (身份证号); a row that fails a check is quarantined with its row, field and reason, the rest are imported.
- Every fact records its source: 申报 (declared) or 入户调查 (investigated, with the investigator and date).
- A fact's natural key (household, person, kind, period, source and, for holdings, the certificate or
  description) is unique among current facts (a database index): re-importing the same rows changes nothing,
  a row whose values differ supersedes the current fact (the old row stays, marked superseded_by).
- Everything happens in the caller's transaction, through db.frames; the service never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import in_area
from doudi.db.frames import read_frame, read_frame_in, write_frame
from doudi.ingest.models import IngestBatch, RejectedRow
from doudi.registry import vocab
from doudi.registry.fact_store import agency_income, one_import_at_a_time, settle_income, write_facts
from doudi.registry.import_read import ROW, ImportFileError, read_columns
from doudi.registry.importer import file_sha256
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, LivingCondition, Membership, Person

KINDS: dict[str, Any] = {"income": IncomeFact, "assets": AssetFact, "expenses": ExpenseFact, "living": LivingCondition}
KIND_LABELS = {"income": "收入", "assets": "财产", "expenses": "刚性支出", "living": "居住条件"}
COMMON = ["source", "investigator", "investigated_on", "note"]
FACT_COLUMNS: dict[str, tuple[list[str], list[str]]] = {  # kind → (required, optional) columns
    "income": (["household_no", "kind", "amount"], ["id_number", "month", "period_start", "period_end", *COMMON]),
    "expenses": (["household_no", "kind", "amount"], ["id_number", "month", "period_start", "period_end", *COMMON]),
    "assets": (["household_no", "kind", "as_of"],
               ["id_number", "quantity", "value", "description", "certificate_no", "exempt", *COMMON]),
    "living": (["household_no", "kind", "value", "observed_on"], COMMON),
}
ALIASES = {
    "户编号": "household_no", "家庭编号": "household_no", "身份证号": "id_number", "身份证号码": "id_number",
    "公民身份号码": "id_number", "类别": "kind", "项目": "kind", "收入类别": "kind", "资产类别": "kind",
    "财产类别": "kind", "支出类别": "kind", "条件": "kind", "月份": "month", "所属月份": "month",
    "起始日期": "period_start", "开始日期": "period_start", "截止日期": "period_end", "结束日期": "period_end",
    "金额": "amount", "金额（元）": "amount", "金额(元)": "amount", "月收入": "amount", "数量": "quantity",
    "价值": "value", "价值（元）": "value", "价值(元)": "value", "值": "value", "情况": "value",
    "说明": "description", "描述": "description", "证书号": "certificate_no", "权证号": "certificate_no",
    "不动产权证号": "certificate_no", "产权证号": "certificate_no", "免计": "exempt", "不计入": "exempt",
    "登记日期": "as_of", "截至日期": "as_of", "查看日期": "observed_on", "记录日期": "observed_on",
    "来源": "source", "信息来源": "source", "调查人": "investigator", "核查人": "investigator",
    "调查日期": "investigated_on", "核查日期": "investigated_on", "备注": "note",
}
COLUMN_LABELS = {
    "household_no": "户编号", "id_number": "身份证号", "kind": "类别", "month": "月份", "period_start": "起始日期",
    "period_end": "截止日期", "amount": "金额", "quantity": "数量", "value": "价值", "description": "说明",
    "certificate_no": "证书号", "exempt": "免计", "as_of": "登记日期", "observed_on": "查看日期", "source": "来源",
    "investigator": "调查人", "investigated_on": "调查日期", "note": "备注",
}
LIVING_KINDS = {"housing_type": "住房类型", "housing_condition": "住房状况", "floor_area_per_capita": "人均住房面积",
                "drinking_water": "饮用水", "toilet": "厕所", "housing": "住房安全", "unsafe_housing": "危房"}
SOURCES = {"declared": "declared", "申报": "declared", "investigated": "investigated", "入户调查": "investigated",
           "调查核实": "investigated", "调查": "investigated"}
TRUE_WORDS = ["1", "true", "yes", "是", "y"]
FALSE_WORDS = ["0", "false", "no", "否", "n"]
VALUE_COLUMNS = {"income": ["amount"], "expenses": ["amount"],
                 "assets": ["quantity", "value", "description", "exempt", "certificate_no"], "living": ["value"]}
PROVENANCE = ["investigator", "investigated_on", "note"]
PARSED_VALUES = {"income": ["amount_p"], "expenses": ["amount_p"],
                 "assets": ["quantity_p", "value_p", "description", "exempt_p"], "living": ["value"]}
REPORT_COLUMNS = [ROW, "field", "reason", "household_no", "id_number", "kind"]
WHOLE_READ_KEYS = 20_000  # above this many numbers the lookup reads the user's whole area once (see _registry_ids)


@dataclass
class FactImportResult:
    """What a fact import did (or would do, in a preview)."""

    kind: str
    file_name: str
    batch_id: int | None = None
    duplicate_of: int | None = None
    rows_total: int = 0
    rows_ok: int = 0
    rows_rejected: int = 0
    new: int = 0
    superseded: int = 0
    unchanged: int = 0
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=dict.fromkeys(REPORT_COLUMNS, pl.Utf8)))
    warnings: list[str] = field(default_factory=list)


def _vocab(kind: str) -> dict[str, str]:
    """Accepted spellings of a fact kind's categories → key (the key itself and its Chinese label)."""
    if kind == "living":
        values = LIVING_KINDS
    else:
        enum = {"income": vocab.IncomeKind, "assets": vocab.AssetKind, "expenses": vocab.ExpenseKind}[kind]
        values = {m.value: vocab.label(m.value) for m in enum}
    return {**{k: k for k in values}, **{v: k for k, v in values.items()}}


def _date(col: str) -> pl.Expr:
    text = pl.col(col).str.replace_all("/", "-").str.replace(r"[ T]\d{2}:\d{2}(:\d{2})?.*$", "")
    return pl.coalesce(text.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
                       text.str.strptime(pl.Date, "%Y%m%d", strict=False))


def _month(col: str) -> pl.Expr:
    text = pl.col(col).str.replace_all(r"[/.年]", "-").str.replace("月", "").str.replace(r"^(\d{4})(\d{2})$", "$1-$2")
    return (text + "-01").str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def _number(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(",", "").cast(pl.Float64, strict=False)


def _flag(col: str) -> pl.Expr:
    low = pl.col(col).str.to_lowercase()
    return pl.when(low.is_in(TRUE_WORDS)).then(True).when(low.is_in(FALSE_WORDS)).then(False).otherwise(None)


def _by_value(frame: pl.DataFrame, parsed: dict[str, pl.Expr]) -> pl.DataFrame:
    """Each `parsed` column (name → expression over one text column) computed once per distinct text: a ledger
    repeats a handful of months and dates over a million rows, and parsing text costs more than a join."""
    for name, expr in parsed.items():
        source = expr.meta.root_names()[0]
        values = frame.select(pl.col(source).unique()).with_columns(expr.alias(name))
        frame = frame.join(values, on=source, how="left", maintain_order="left", nulls_equal=True)
    return frame


def parse(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Typed columns (suffix _p) beside the text as read: keys, dates, periods, amounts, flags."""
    absent = [c for c in COLUMN_LABELS if c not in frame.columns]
    out = frame.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in absent).with_columns(
        id_number_n=pl.col("id_number").str.to_uppercase().str.replace_all(r"\s", ""),
        kind_key=pl.col("kind").replace_strict(_vocab(kind), default=None),
        source_key=pl.col("source").fill_null("declared").replace_strict(SOURCES, default=None),
    )
    dates = {"investigated_on_p": _date("investigated_on")}
    if kind in ("income", "expenses"):
        out = _by_value(out, {**dates, "month_p": _month("month"), "start_p": _date("period_start"),
                              "end_p": _date("period_end")})
        given = pl.col("month").is_not_null()
        out = out.with_columns(
            period_start_p=pl.when(given).then(pl.col("month_p")).otherwise(pl.col("start_p")),
            period_end_p=pl.when(given).then(pl.col("month_p").dt.month_end()).otherwise(pl.col("end_p")),
            amount_p=_number("amount").round(2)).drop("month_p", "start_p", "end_p")
    elif kind == "assets":
        out = _by_value(out, {**dates, "period_start_p": _date("as_of")}).with_columns(
            period_end_p=pl.col("period_start_p"),
            quantity_p=pl.col("quantity").fill_null("1").cast(pl.Float64, strict=False),
            value_p=_number("value").fill_null(0.0).round(2), exempt_p=_flag("exempt"))
    else:
        out = _by_value(out, {**dates, "period_start_p": _date("observed_on")}).with_columns(
            period_end_p=pl.col("period_start_p"))
    return out


def _checks(kind: str) -> list[tuple[str, pl.Expr]]:
    """(field, expression giving the reason or null) for every row check that needs no database."""
    required, _optional = FACT_COLUMNS[kind]
    options = "、".join(sorted(set(_vocab(kind).values())))
    checks: list[tuple[str, pl.Expr]] = [
        (c, pl.when(pl.col(c).is_null()).then(pl.lit("必填字段为空"))) for c in required]
    checks += [
        ("kind", pl.when(pl.col("kind").is_not_null() & pl.col("kind_key").is_null())
         .then(pl.format("类别 {} 不在可选范围：{}", pl.col("kind"), pl.lit(options)))),
        ("source", pl.when(pl.col("source_key").is_null())
         .then(pl.format("来源 {} 应为 申报（declared）或 入户调查（investigated）", pl.col("source")))),
        ("investigator", pl.when((pl.col("source_key") == "investigated") & pl.col("investigator").is_null())
         .then(pl.lit("入户调查的事实须填写调查人"))),
        ("investigated_on", pl.when((pl.col("source_key") == "investigated") & pl.col("investigated_on_p").is_null())
         .then(pl.lit("入户调查的事实须填写有效的调查日期（YYYY-MM-DD）"))),
        ("id_number", pl.when(pl.col("id_number_n").is_not_null()
                              & ~pl.col("id_number_n").str.contains(r"^\d{17}[\dX]$"))
         .then(pl.format("身份证号 {} 格式不正确（应为 18 位）", pl.col("id_number")))),
    ]
    if kind in ("income", "expenses"):
        checks += [
            ("month", pl.when(pl.col("month").is_not_null() & pl.col("period_start_p").is_null())
             .then(pl.format("月份 {} 无效，应为 YYYY-MM", pl.col("month")))),
            ("period_start", pl.when(pl.col("month").is_null() & pl.col("period_start").is_null())
             .then(pl.lit("须填写月份，或起始日期与截止日期"))),
            ("period_start", pl.when(pl.col("month").is_null() & pl.col("period_start").is_not_null()
                                     & pl.col("period_start_p").is_null())
             .then(pl.format("起始日期 {} 无效，应为 YYYY-MM-DD", pl.col("period_start")))),
            ("period_end", pl.when(pl.col("month").is_null() & pl.col("period_start_p").is_not_null()
                                   & pl.col("period_end_p").is_null())
             .then(pl.format("截止日期 {} 无效，应为 YYYY-MM-DD", pl.col("period_end").fill_null("（空）")))),
            ("period_end", pl.when(pl.col("period_end_p") < pl.col("period_start_p"))
             .then(pl.lit("截止日期早于起始日期"))),
            ("amount", pl.when(pl.col("amount").is_not_null() & pl.col("amount_p").is_null())
             .then(pl.format("金额 {} 不是数字", pl.col("amount")))),
            ("amount", pl.when(pl.col("amount_p") < 0).then(pl.format("金额 {} 不能为负数", pl.col("amount")))),
        ]
    elif kind == "assets":
        cert = pl.col("certificate_no")
        checks += [
            ("as_of", pl.when(pl.col("as_of").is_not_null() & pl.col("period_start_p").is_null())
             .then(pl.format("登记日期 {} 无效，应为 YYYY-MM-DD", pl.col("as_of")))),
            ("quantity", pl.when(pl.col("quantity_p").is_null() | (pl.col("quantity_p") < 1)
                                 | (pl.col("quantity_p") != pl.col("quantity_p").round(0)))
             .then(pl.format("数量 {} 应为不小于 1 的整数", pl.col("quantity")))),
            ("value", pl.when(pl.col("value").is_not_null() & _number("value").is_null())
             .then(pl.format("价值 {} 不是数字", pl.col("value")))),
            ("value", pl.when(pl.col("value_p") < 0).then(pl.format("价值 {} 不能为负数", pl.col("value")))),
            ("exempt", pl.when(pl.col("exempt").is_not_null() & pl.col("exempt_p").is_null())
             .then(pl.format("值 {} 应为 是/否（1/0）", pl.col("exempt")))),
            ("certificate_no", pl.when(cert.is_not_null() & cert.is_duplicated())
             .then(pl.format("证书号 {} 在文件中重复（第 {} 行）", cert,
                             pl.col(ROW).cast(pl.Utf8).str.join("、").over("certificate_no")))),
        ]
    else:
        checks += [
            ("observed_on", pl.when(pl.col("observed_on").is_not_null() & pl.col("period_start_p").is_null())
             .then(pl.format("查看日期 {} 无效，应为 YYYY-MM-DD", pl.col("observed_on")))),
            ("value", pl.when(pl.col("value").str.len_chars() > 64).then(pl.lit("值不超过 64 个字符"))),
        ]
    return checks


def _errors(frame: pl.DataFrame, checks: list[tuple[str, pl.Expr]]) -> pl.DataFrame:
    """Every failed check as (row_number, field, reason), in file order."""
    schema = {ROW: pl.Int64, "field": pl.Utf8, "reason": pl.Utf8}
    if not checks or frame.is_empty():
        return pl.DataFrame(schema=schema)
    names = [f"c{i}" for i in range(len(checks))]
    wide = frame.select(pl.col(ROW), *[e.alias(n) for n, (_f, e) in zip(names, checks, strict=True)])
    # Only the rows with a failed check are unpivoted (a good file has none: no frame of rows × checks).
    wide = wide.filter(pl.any_horizontal(pl.col(n).is_not_null() for n in names))
    if wide.is_empty():
        return pl.DataFrame(schema=schema)
    fields = {f"c{i}": f for i, (f, _e) in enumerate(checks)}
    long = wide.unpivot(index=ROW, variable_name="check", value_name="reason").drop_nulls("reason")
    return long.with_columns(field=pl.col("check").replace_strict(fields, return_dtype=pl.Utf8),
                             order=pl.col("check").str.slice(1).cast(pl.Int64)).sort(ROW, "order").select(
        ROW, "field", "reason").cast(schema)  # type: ignore[arg-type]


def _read_in(session: Session, stmt: Any, column: Any, values: list[Any], *, schema: dict[str, Any]) -> pl.DataFrame:
    """read_frame_in with the key column given as a model attribute."""
    return read_frame_in(session, stmt, column, values, schema=schema)


def _registry_ids(session: Session, numbers: pl.Series, actor: Actor) -> pl.DataFrame:
    """(household_no, household_id, id_number_n, person_id) of the households in the actor's area, one row per
    current member (a household without one has null person columns). A short list of numbers goes into IN
    clauses; a county's whole file reads the user's area once (cheaper than planning hundreds of IN lists)."""
    stmt = in_area(select(Household.household_no, Household.id, Person.id_number, Person.id)
                   .select_from(Household)
                   .outerjoin(Membership, and_(Membership.household_id == Household.id, Membership.valid_to.is_(None)))
                   .outerjoin(Person, Person.id == Membership.person_id), Household.area_code, actor)
    schema = {"household_no": pl.Utf8, "household_id": pl.Int64, "id_number_n": pl.Utf8, "person_id": pl.Int64}
    if numbers.len() <= WHOLE_READ_KEYS:
        return _read_in(session, stmt, Household.household_no, numbers.to_list(), schema=schema)
    return read_frame(session, stmt, schema=schema).join(numbers.rename("household_no").to_frame(),
                                                         on="household_no", how="semi")


def _lookups(frame: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Household ids (only those in the actor's area) and current members' person ids, joined to the file's
    rows from the registry read `ids` (see _registry_ids)."""
    households = ids.select("household_no", "household_id").unique("household_no")
    members = (ids.filter(pl.col("person_id").is_not_null()).select("household_no", "id_number_n", "person_id")
               .unique(["household_no", "id_number_n"]))
    return (frame.join(households, on="household_no", how="left", maintain_order="left")
            .join(members, on=["household_no", "id_number_n"], how="left", maintain_order="left"))


def _db_checks(kind: str) -> list[tuple[str, pl.Expr]]:
    checks: list[tuple[str, pl.Expr]] = [
        ("household_no", pl.when(pl.col("household_no").is_not_null() & pl.col("household_id").is_null())
         .then(pl.format("户编号 {} 不在家庭档案中（或不在您的管辖范围内）", pl.col("household_no")))),
        ("id_number", pl.when(pl.col("household_id").is_not_null() & pl.col("id_number_n").is_not_null()
                              & pl.col("person_id").is_null())
         .then(pl.format("身份证号 {} 不是户 {} 的现有成员", pl.col("id_number"), pl.col("household_no")))),
    ]
    if kind == "assets":
        checks.append(("certificate_no", pl.when(pl.col("cert_holder").is_not_null()
                                                  & (pl.col("cert_holder") != pl.col("household_id")))
                       .then(pl.format("证书号 {} 已登记在另一户名下（户编号 {}）", pl.col("certificate_no"),
                                       pl.col("cert_holder_no")))))
    return checks


def _fact_key(kind: str) -> pl.Expr:
    extra = (pl.coalesce(pl.col("certificate_no"), pl.col("description").str.slice(0, 60), pl.lit(""))
             if kind == "assets" else pl.lit(""))
    return pl.concat_str([pl.col("household_no"), pl.col("id_number_n").fill_null(""), pl.col("kind_key"),
                          pl.col("period_start_p").cast(pl.Utf8), pl.col("period_end_p").cast(pl.Utf8),
                          pl.col("source_key"), extra], separator="|")


def _certificate_holders(session: Session, frame: pl.DataFrame) -> pl.DataFrame:
    """The household currently holding each certificate number of the file (any area: a certificate has one holder)."""
    certs = frame["certificate_no"].drop_nulls().unique().sort().to_list()
    stmt = (select(AssetFact.certificate_no, AssetFact.household_id, Household.household_no)
            .join(Household, Household.id == AssetFact.household_id).where(AssetFact.superseded_by.is_(None)))
    held = _read_in(session, stmt, AssetFact.certificate_no, certs,
                         schema={"certificate_no": pl.Utf8, "cert_holder": pl.Int64, "cert_holder_no": pl.Utf8})
    return frame.join(held.unique("certificate_no"), on="certificate_no", how="left", maintain_order="left")


def _rows(kind: str, good: pl.DataFrame, batch_id: int, actor: Actor) -> pl.DataFrame:
    """The table's columns for the good rows."""
    base = [pl.col("household_id"), pl.col("kind_key").alias("kind"), pl.col("source_key").alias("source_kind"),
            pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col("period_start_p").alias("period_start"),
            pl.col("period_end_p").alias("period_end"), pl.lit(actor.user_id, pl.Int64).alias("recorded_by"),
            pl.col("note").fill_null("").str.slice(0, 200).alias("note"), pl.col("fact_key"),
            pl.col("investigator").fill_null("").str.slice(0, 64).alias("investigator"),
            pl.col("investigated_on_p").alias("investigated_on")]
    if kind != "living":
        base.append(pl.col("person_id"))
    if kind in ("income", "expenses"):
        return good.select(*base, pl.col("amount_p").alias("amount"))
    if kind == "assets":
        return good.select(*base, pl.col("quantity_p").cast(pl.Int64).alias("quantity"),
                           pl.col("value_p").alias("value"),
                           pl.col("description").fill_null("").str.slice(0, 200).alias("description"),
                           pl.col("exempt_p").fill_null(False).alias("exempt"), pl.col("certificate_no"))
    return good.select(*base, pl.col("value"))


def _keyed(kind: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The parsed rows with their natural key (`fact_key`)."""
    keyable = pl.all_horizontal(pl.col(c).is_not_null() for c in ("kind_key", "period_start_p", "source_key"))
    frame = frame.with_columns(fact_key=pl.when(keyable).then(_fact_key(kind)))
    # Several items under one key (two transfer incomes in a month) are numbered by their values, then by
    # their order among equal rows, so the same content gives the same keys in any order of distinct rows.
    values = [c for c in PARSED_VALUES[kind] if c in frame.columns]
    # Only rows sharing a key are sorted and numbered (usually none: one row per person, kind and month).
    # (Found by the key's hash: a collision only sends a few more rows to the numbering, which goes by the key.)
    shared = frame.filter(pl.col("fact_key").is_not_null() & pl.col("fact_key").hash().is_duplicated())
    if shared.height:
        signature = pl.concat_str([pl.col(v).cast(pl.Utf8).fill_null("") for v in values], separator="\x1f")
        numbered = (shared.with_columns(signature=signature).sort("fact_key", "signature", ROW)
                    .select(ROW, occurrence=pl.int_range(pl.len()).over("fact_key")))
        frame = (frame.join(numbered, on=ROW, how="left", maintain_order="left")
                 .with_columns(fact_key=pl.when(pl.col("occurrence") > 0)
                               .then(pl.format("{}|#{}", "fact_key", pl.col("occurrence") + 1))
                               .otherwise(pl.col("fact_key"))).drop("occurrence"))
    return frame


def import_facts(session: Session, *, actor: Actor, kind: str, path: Path,
                 progress: Callable[[str], None] | None = None) -> FactImportResult:
    """Import one fact file; raises ImportFileError for a file that cannot be read at all."""
    actor.require("import.run")
    if kind not in KINDS:
        raise ImportFileError(f"未知的事实类别 {kind}；应为 {'、'.join(KINDS)}")
    note = progress or (lambda _m: None)
    sha = file_sha256(path) if path.is_file() else ""
    result = FactImportResult(kind=kind, file_name=path.name)
    one_import_at_a_time(session)
    source_key = f"facts_{kind}"
    earlier = session.scalar(select(IngestBatch.id).where(
        IngestBatch.kind == "import", IngestBatch.source_key == source_key, IngestBatch.file_sha256 == sha))
    if earlier is not None:
        result.duplicate_of = earlier
        return result
    required, optional = FACT_COLUMNS[kind]
    table = read_columns(path, required=required, optional=optional, aliases=ALIASES)
    result.warnings = table.warnings
    note(f"已读取 {table.frame.height} 行，校验中…")
    # The registry is read while the file's cells are parsed: the read waits mostly on the database, the parsing
    # runs in Polars without the interpreter lock, and nothing else uses the session meanwhile.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="facts-registry") as pool:
        registry = pool.submit(_registry_ids, session, table.frame["household_no"].drop_nulls().unique(), actor)
        frame = _keyed(kind, parse(kind, table.frame))
        ids = registry.result()
    frame = _lookups(frame, ids)
    if kind == "assets":
        frame = _certificate_holders(session, frame)
    errors = table.with_problems(
        pl.concat([_errors(frame, _checks(kind)), _errors(frame, _db_checks(kind))]).sort(ROW, maintain_order=True))
    rejected = errors[ROW].unique()
    good = frame.filter(~pl.col(ROW).is_in(rejected.implode()))
    batch = IngestBatch(kind="import", source_key=source_key, file_name=path.name[:255], file_sha256=sha,
                        created_by=actor.user_id, rows_total=frame.height, rows_ok=good.height,
                        rows_rejected=rejected.len(), status="running", details={})
    session.add(batch)
    session.flush()
    note(f"写入 {good.height} 行…")
    # Asked before the write, while the table holds only earlier facts (a first migration: none at all).
    feeds = kind == "income" and agency_income(session)
    written = write_facts(session, KINDS[kind], _rows(kind, good, batch.id, actor),
                          compare=VALUE_COLUMNS[kind] + PROVENANCE)
    result.new, result.superseded, result.unchanged = written.new, written.superseded, written.unchanged
    if feeds:  # a declaration arriving after the agency's figures for the same months meets them here
        settle_income(session, good.select("household_id", "person_id", kind="kind_key",
                                           month=pl.col("period_start_p").dt.month_start()))
    _quarantine(session, batch.id, errors, frame)
    result.batch_id, result.rows_total = batch.id, frame.height
    result.rows_ok, result.rows_rejected = good.height, rejected.len()
    result.rejects = errors.join(frame.select(ROW, "household_no", "id_number", "kind"), on=ROW, how="left",
                                 maintain_order="left").select(REPORT_COLUMNS).cast({ROW: pl.Utf8})
    batch.status, batch.finished_at = "done", datetime.now(UTC)
    counts = {"new": result.new, "superseded": result.superseded, "unchanged": result.unchanged}
    batch.details = {**counts, "warnings": result.warnings}
    audit.record(session, actor=actor, action="registry.import_facts", object_type="ingest_batch", object_id=batch.id,
                 extra={"file": path.name, "sha256": sha, "kind": kind, "rows_total": frame.height,
                        "rows_ok": good.height, "rows_rejected": result.rows_rejected, **counts})
    return result


def _quarantine(session: Session, batch_id: int, errors: pl.DataFrame, frame: pl.DataFrame) -> None:
    """Store every rejection with its row number, field, reason and the row's cells as read."""
    if errors.is_empty():
        return
    cells = [c for c in COLUMN_LABELS if c in frame.columns]
    bad = frame.filter(pl.col(ROW).is_in(errors[ROW].unique().implode()))
    raw = bad.select(ROW, pl.struct(cells).struct.json_encode().alias("raw"))
    write_frame(session, RejectedRow, errors.join(raw, on=ROW, how="left", maintain_order="left").select(
        pl.lit(batch_id, pl.Int64).alias("batch_id"), pl.col(ROW).alias("row_number"), "field",
        pl.col("reason").str.slice(0, 500), "raw"))

