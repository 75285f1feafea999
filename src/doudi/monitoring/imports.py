"""Re-import of dispositions made offline: the township fills 处置方式 and 说明 in the exported ledger (Excel or
CSV) and uploads it. Each filled row is one decision: disposed through the ledger's own `dispose` (its checks,
suspension and audit), in a savepoint of its own, with the version the file was exported at (a warning changed
since is refused, never overwritten). Bad rows are named (row, field, why) and kept aside in the result and the
audit entry; good rows are kept. Never commits."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core.errors import Conflict, DoudiError, NotFound, ValidationFailed
from doudi.monitoring import service
from doudi.monitoring.export import COLUMNS, HEADERS
from doudi.monitoring.labels import DISPOSITION

MAX_ROWS = 5000  # one township's ledger; a larger file is refused before anything is read
NEEDED = ("id", "version", "disposition", "note")
BY_LABEL = {label: key for key, label in DISPOSITION.items()}


class DispositionFileError(DoudiError):
    """The file as a whole cannot be read (format, header, size)."""


@dataclass
class Rejected:
    """A row kept aside: its line in the file, the warning it names, the field and why."""

    line: int
    warning_id: str
    field: str
    message: str


@dataclass
class ImportResult:
    """What an import did: rows applied, rows left blank (no disposition filled), rows rejected."""

    applied: list[int] = field(default_factory=list)
    blank: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(data: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (line number, column → text), from the header row holding the contract names."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")):
        # Imported here: openpyxl is loaded only when an Excel file is read or written.
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several unrelated types for a damaged file
            raise DispositionFileError(f"{filename} 不是有效的 .xlsx 文件：{exc}") from None
        rows = [[_cell(v) for v in r] for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    elif name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")
        rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text, newline=""))]
    else:
        raise DispositionFileError(f"不支持的文件类型 {filename}；请上传导出的 .xlsx 或 .csv 台账")
    # The exported sheet is headed in Chinese, the CSV with the contract's names: both are read.
    named = dict(zip(HEADERS, COLUMNS, strict=True))
    rows = [[named.get(c, c) for c in r] if i < 5 else r for i, r in enumerate(rows)]
    at = next((i for i, r in enumerate(rows[:5]) if "id" in r and "disposition" in r), None)
    if at is None:
        raise DispositionFileError(f"{filename} 中找不到台账表头（须含 {'、'.join(NEEDED)} 列）；"
                                   "请使用系统导出的台账填写")
    header = rows[at]
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise DispositionFileError(f"表头缺少必需列：{'、'.join(missing)}；请使用系统导出的台账（含版本列）填写")
    body = [(i + 1, r) for i, r in enumerate(rows) if i > at and any(c for c in r)]
    if len(body) > MAX_ROWS:
        raise DispositionFileError(f"{filename} 有 {len(body)} 行，超过一次导入上限 {MAX_ROWS} 行；请分批导入")
    index = {h: header.index(h) for h in COLUMNS if h in header}
    return [(line, {h: (r[i] if i < len(r) else "") for h, i in index.items()}) for line, r in body]


def import_dispositions(session: Session, *, actor: Actor, data: bytes, filename: str, today: date
                        ) -> ImportResult:
    """Apply the filled dispositions of an exported ledger; rows without a disposition are left as they are."""
    actor.require("monitoring.dispose")
    result = ImportResult()
    for line, row in read_rows(data, filename):
        raw = row.get("disposition", "")
        if not raw:
            result.blank += 1
            continue
        wid = row.get("id", "")
        bad = _check(line, wid, row, raw)
        if bad is not None:
            result.rejected.append(bad)
            continue
        key = BY_LABEL.get(raw, raw)
        try:
            with session.begin_nested():
                service.dispose(session, actor=actor, warning_id=int(wid), version=int(row["version"]),
                                disposition=key, note=row.get("note", ""), today=today)
        except ValidationFailed as exc:
            result.rejected.extend(Rejected(line, wid, e.field, f"第 {line} 行：{e.message}") for e in exc.errors)
        except NotFound:
            result.rejected.append(Rejected(line, wid, "id", f"第 {line} 行：预警 {wid} 不存在或不在本辖区"))
        except Conflict as exc:
            result.rejected.append(Rejected(line, wid, "version", f"第 {line} 行：{exc}（请重新导出后填写）"))
        else:
            result.applied.append(int(wid))
    audit.record(session, actor=actor, action="monitoring.import_dispositions", object_type="monitoring_import",
                 object_id=len(result.applied), extra={
                     "file": filename, "applied": result.applied, "blank": result.blank,
                     "rejected": [{"line": r.line, "id": r.warning_id, "field": r.field, "message": r.message}
                                  for r in result.rejected]})
    return result


def _check(line: int, wid: str, row: dict[str, str], raw: str) -> Rejected | None:
    if not wid.isdigit():
        return Rejected(line, wid, "id", f"第 {line} 行：预警编号 {wid!r} 不是数字")
    if not row.get("version", "").isdigit():
        return Rejected(line, wid, "version", f"第 {line} 行：版本列为空或不是数字；请使用系统导出的台账填写")
    key = BY_LABEL.get(raw, raw)
    if key not in DISPOSITION:
        return Rejected(line, wid, "disposition",
                        f"第 {line} 行：未知处置方式 {raw!r}；可选：{'、'.join(DISPOSITION.values())}")
    if key == "refer":
        return Rejected(line, wid, "disposition", f"第 {line} 行：转办须在系统中选择受理部门，不能通过表格导入")
    return None
