"""The audit log's daily job: seal what is unsealed, and keep a signed checkpoint of the head in the file store
(and so in every backup)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from doudi.audit import service
from doudi.core import storage


def daily(session: Session, *, today: date) -> str:
    """Seal the entries not yet sealed and keep a signed checkpoint of the head."""
    done = service.seal(session)
    data = service.write_checkpoint(session, directory=storage.root())
    return (f"审计日志：封存 {done.entries} 条（{done.batches} 批），"
            f"链尾检查点：第 {data['seal_id']} 批封存（{today.isoformat()}）")
