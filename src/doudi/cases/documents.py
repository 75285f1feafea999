"""Case documents: uploads checked for type and size, stored by content hash, every upload audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case, Document
from doudi.core import storage
from doudi.core.errors import FieldError, NotFound, ValidationFailed

MAX_BYTES = 10 * 1024 * 1024
ALLOWED = {  # by magic number, not by the name the browser sends
    b"%PDF": ("application/pdf", ".pdf"),
    b"\x89PNG": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}
KINDS = {"id_card": "身份证明", "household_book": "户口簿", "income_proof": "收入证明", "medical": "医疗票据/诊断",
         "disability_card": "残疾人证", "authorisation": "核对授权书", "commitment": "承诺书",
         "proxy_letter": "委托书", "other": "其他"}


def sniff(data: bytes) -> tuple[str, str]:
    """The content type and suffix of an allowed file, or ValidationFailed."""
    for magic, kind in ALLOWED.items():
        if data.startswith(magic):
            return kind
    raise ValidationFailed([FieldError("file", "只接受 PDF、PNG 或 JPEG 文件")])


def shown_inline(data: bytes, content_type: str) -> bool:
    """Whether a stored file may open in the browser: its whole content must match its type, else download."""
    head = data[:1 << 20].lower()
    if b"<html" in head or b"<script" in head or b"<svg" in head:
        return False
    if content_type == "application/pdf":
        return b"%%EOF" in data[-2048:]
    if content_type == "image/png":
        return data.rstrip(b"\x00").endswith(b"IEND\xaeB`\x82")
    if content_type == "image/jpeg":
        return data.rstrip(b"\x00").endswith(b"\xff\xd9")
    return False


def attach(session: Session, *, case: Case, kind: str, filename: str, data: bytes, uploaded_by: str) -> Document:
    """Store a file and attach it to the case (caller has checked access)."""
    if kind not in KINDS:
        raise ValidationFailed([FieldError("kind", f"材料类型应为 {', '.join(KINDS)} 之一")])
    if not data:
        raise ValidationFailed([FieldError("file", "文件为空")])
    if len(data) > MAX_BYTES:
        raise ValidationFailed([FieldError("file", f"文件超过 {MAX_BYTES // 1024 // 1024} MB")])
    content_type, suffix = sniff(data)
    rel, digest = storage.save(data, suffix=suffix)
    doc = Document(case_id=case.id, kind=kind, filename=filename[:255] or f"upload{suffix}",
                   content_type=content_type, size=len(data), sha256=digest, path=rel, uploaded_by=uploaded_by)
    session.add(doc)
    session.flush()
    svc.event(session, case, actor=uploaded_by, kind="document", message=f"上传材料：{KINDS[kind]}")
    return doc


def upload(session: Session, *, actor: Actor, case_id: int, kind: str, filename: str, data: bytes) -> Document:
    """Staff upload to a case in their area."""
    actor.require("document.upload")
    case = svc.get_case(session, actor=actor, case_id=case_id)
    doc = attach(session, case=case, kind=kind, filename=filename, data=data, uploaded_by=actor.username)
    svc.record(session, case, actor=actor, action="case.document", after={"kind": kind, "sha256": doc.sha256})
    return doc


def documents_of(session: Session, *, case: Case) -> list[Document]:
    """A case's documents, newest first."""
    return list(session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id.desc())))


def fetch(session: Session, *, actor: Actor, document_id: int) -> tuple[Document, bytes]:
    """A document's bytes, for a user who may read its case."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFound("document")
    case = svc.get_case(session, actor=actor, case_id=doc.case_id)
    # Documents hold medical and disability records: every view is attributable.
    svc.record(session, case, actor=actor, action="case.document_view", extra={"document": doc.id, "kind": doc.kind})
    return doc, storage.load(doc.path)
