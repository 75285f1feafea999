"""The ledger as rows for CSV and Excel (through core/excel.py): ID numbers masked unless unmasking is allowed,
asked for with a reason, and audited."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core import excel
from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.masking import mask_id
from doudi.monitoring import service
from doudi.monitoring.labels import DISPOSITION, LEVEL, STATUS
from doudi.monitoring.models import MonitorWarning
from doudi.monitoring.run import rule_specs

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = ["id", "rule", "rule_label", "level", "status", "household_id", "person_name", "id_number", "area_code",
           "reason", "first_seen_on", "due_date", "disposition", "note", "version"]
HEADERS = ["编号", "规则代码", "预警规则", "级别", "状态", "家庭编号", "姓名", "身份证号", "区划",
           "预警原因", "发现日期", "处置时限", "处置方式", "说明", "版本"]


def rows(session: Session, *, actor: Actor, filters: service.Filters, today: date, unmask: bool = False,
         reason: str = "") -> list[list[object]]:
    """One row per warning in scope; `unmask` needs monitoring.unmask and a reason, and is audited."""
    warnings = service.all_warnings(session, actor=actor, filters=filters, today=today)
    if unmask:
        actor.require("monitoring.unmask")
        if not reason.strip():
            raise ValidationFailed([FieldError("reason", "显示完整身份证号须填写理由（--reason）")])
        audit.record(session, actor=actor, action="monitoring.unmask", object_type="monitoring_export",
                     object_id=len(warnings), extra={"reason": reason.strip(), "rows": len(warnings)})
    labels = {k: s.label for k, s in rule_specs("", today).items()}
    return [_row(w, labels, unmask) for w in warnings]


def _row(w: MonitorWarning, labels: dict[str, str], unmask: bool) -> list[object]:
    return [w.id, w.rule_key, labels.get(w.rule_key, w.rule_key), w.level, w.status, w.household_id or "",
            w.person_name, w.id_number if unmask else mask_id(w.id_number), w.area_code, w.reason,
            w.first_seen_on.isoformat(), w.due_on.isoformat(), DISPOSITION.get(w.disposition or "", ""), w.note,
            w.version]


def write_csv(target: Path | IO[str], data: list[list[object]]) -> None:
    """CSV with the contract's English column names (UTF-8 with BOM so Excel opens it in Chinese)."""
    if isinstance(target, Path):
        with target.open("w", encoding="utf-8-sig", newline="") as fh:
            write_csv(fh, data)
        return
    w = csv.writer(target)
    w.writerow(COLUMNS)
    for r in data:
        w.writerow([excel.safe_text(v) if isinstance(v, str) else v for v in r])


def sheet(data: list[list[object]]) -> excel.Sheet:
    """The Excel sheet: Chinese headers (the CSV keeps the contract's column names), level and status in words."""
    shown = [[*r[:3], LEVEL.get(str(r[3]), r[3]), STATUS.get(str(r[4]), r[4]), *r[5:]] for r in data]
    return excel.Sheet("监测预警台账", [excel.Col(h) for h in HEADERS], shown,
                       caption="监测预警台账：线下处置时在“处置方式”列填写（"
                       + "、".join(v for k, v in DISPOSITION.items() if k != "refer")
                       + "），“说明”列填写理由，保存后在台账页面导入；请勿修改“编号”和“版本”列")
