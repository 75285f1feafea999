"""The audit chain's daily job: a signed checkpoint of the head in the file store (and so in every backup)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.audit import service
from doudi.core import storage


def daily(session: Session, *, today: date) -> str:
    """Seal old entries if needed and keep a signed checkpoint of the committed head."""
    service.seal(session)
    data = service.write_checkpoint(session, directory=storage.root())
    return f"审计链尾检查点：第 {data['seq']} 条（{today.isoformat()}）"
