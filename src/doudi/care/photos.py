"""A visit's optional photo (taken on the caregiver's phone at check-out): size cap, type checked from the bytes
themselves (not the name or the browser's word), stored by content hash through core.storage, audited.
Functions never commit."""

from __future__ import annotations

import io
import re

from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.care.models import CareVisit, VisitStatus
from doudi.care.settlement import settled
from doudi.care.visits import get_visit, own_caregiver
from doudi.core import storage
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed

MAX_BYTES = 5 * 1024 * 1024  # a phone photo, compressed by the browser or not
# Leading bytes of the accepted formats → stored suffix.
SIGNATURES: tuple[tuple[bytes, int, str], ...] = ((b"\xff\xd8\xff", 0, ".jpg"), (b"\x89PNG\r\n\x1a\n", 0, ".png"),
                                                  (b"WEBP", 8, ".webp"))
REF = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.(jpg|png|webp)$")
MEDIA = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def image_suffix(data: bytes) -> str:
    """The stored suffix of an accepted image, or a Chinese refusal naming the field."""
    if not data:
        raise ValidationFailed([FieldError("photo", "照片为空")])
    if len(data) > MAX_BYTES:
        raise ValidationFailed([FieldError("photo", f"照片超过 {MAX_BYTES // (1024 * 1024)} MB 上限")])
    suffix = next((s for magic, at, s in SIGNATURES if data[at:at + len(magic)] == magic
                   and (s != ".webp" or data[:4] == b"RIFF")), None)
    if suffix is None:
        raise ValidationFailed([FieldError("photo", "照片须为 JPEG、PNG 或 WebP 图片")])
    # Imported here: Pillow is loaded only when a photo is checked. A file that only starts like an image
    # (a renamed document, a truncated upload) is refused here rather than stored.
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationFailed([FieldError("photo", "照片文件已损坏或不是图片")]) from None
    return suffix


def attach_photo(session: Session, *, actor: Actor, visit_id: int, data: bytes) -> CareVisit:
    """Store a photo for a visit the caregiver is doing or has just done (not yet settled) and link it."""
    actor.require("care.record")
    v = get_visit(session, actor=actor, visit_id=visit_id)
    own_caregiver(session, actor, v)
    if v.status in {VisitStatus.SCHEDULED, VisitStatus.CANCELLED, VisitStatus.MISSED}:
        raise Conflict("签到之后才能上传服务照片")
    if settled(session, provider_id=v.provider_id, day=v.visit_date) is not None:
        raise Conflict("该月已结算，不能再更改服务记录")
    rel, digest = storage.save(data, suffix=image_suffix(data))
    before = v.photo
    v.photo = rel
    audit.record(session, actor=actor, action="care.visit_photo", object_type="care_visit", object_id=v.id,
                 area_code=v.area_code, before={"photo": before}, after={"photo": rel, "sha256": digest,
                                                                         "bytes": len(data)})
    return v


def check_ref(ref: str | None) -> str | None:
    """A photo reference given by an API client: one this store wrote (hash path) and still holds."""
    if ref is None or ref == "":
        return None
    if not REF.match(ref):
        raise ValidationFailed([FieldError("photo", "照片编号无效：请先通过上传接口上传照片")])
    try:
        if not storage.path(ref).exists():
            raise ValidationFailed([FieldError("photo", "照片不存在：请先上传")])
    except ValueError:
        raise ValidationFailed([FieldError("photo", "照片编号无效")]) from None
    return ref


def photo_of(session: Session, *, actor: Actor, visit_id: int) -> tuple[bytes, str]:
    """A visit's photo bytes and media type, for someone who may see the visit."""
    v = get_visit(session, actor=actor, visit_id=visit_id)
    if not v.photo or not REF.match(v.photo):
        raise NotFound(f"上门服务 {visit_id} 的照片")
    return storage.load(v.photo), MEDIA["." + v.photo.rsplit(".", 1)[1]]
