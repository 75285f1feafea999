"""A visit's photo through the caregiver API: type checked from the bytes, size cap, stored by content hash,
audited, visible to the supervisor; refused before check-in and for another caregiver's visit."""

from __future__ import annotations

import hashlib
import io

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.care import photos
from doudi.care.models import CareVisit
from tests.care.test_http import _iso, _login, _token, _world


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_photo_upload_checked_stored_and_audited(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    _, mine, theirs = _world(db)
    db.commit()
    carer = _token(client, "carer1")
    png = _png()
    early = client.post(f"/api/v1/care/visits/{mine.id}/photo", files={"photo": ("a.png", png, "image/png")},
                        headers=carer)
    assert early.status_code == 409 and "签到之后" in early.text
    r = client.post(f"/api/v1/care/visits/{mine.id}/check-in", json={"at": _iso(9, 2), "latitude": 36.478,
                                                                      "longitude": 119.219, "key": "photo-in-0001"},
                    headers=carer)
    assert r.status_code == 200
    fake = client.post(f"/api/v1/care/visits/{mine.id}/photo",
                       files={"photo": ("a.jpg", b"%PDF-1.4 not a photo", "image/jpeg")}, headers=carer)
    assert fake.status_code == 422 and "JPEG、PNG 或 WebP" in fake.text
    broken = client.post(f"/api/v1/care/visits/{mine.id}/photo",
                         files={"photo": ("a.png", png[:20], "image/png")}, headers=carer)
    assert broken.status_code == 422 and "损坏" in broken.text
    big = client.post(f"/api/v1/care/visits/{mine.id}/photo",
                      files={"photo": ("a.jpg", b"\xff\xd8\xff" + b"0" * photos.MAX_BYTES, "image/jpeg")},
                      headers=carer)
    assert big.status_code == 422 and "5 MB" in big.text
    other = client.post(f"/api/v1/care/visits/{theirs.id}/photo", files={"photo": ("a.png", png, "image/png")},
                        headers=carer)
    assert other.status_code in (409, 422)  # not started, and not this caregiver's visit
    ok = client.post(f"/api/v1/care/visits/{mine.id}/photo", files={"photo": ("any.name", png, "image/png")},
                     headers=carer)
    assert ok.status_code == 200
    db.expire_all()
    v = db.get(CareVisit, mine.id)
    digest = hashlib.sha256(png).hexdigest()
    assert v is not None and v.photo == f"{digest[:2]}/{digest}.png"
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "care.visit_photo")).one()
    assert entry.object_id == str(mine.id) and digest in str(entry.changes)
    # A check-out naming a photo reference this store never wrote is refused.
    bad_ref = client.post(f"/api/v1/care/visits/{mine.id}/check-out", json={
        "at": _iso(10, 30), "latitude": 36.478, "longitude": 119.219, "key": "photo-out-0001",
        "services_done": ["meal"], "photo": "../../etc/passwd"}, headers=carer)
    assert bad_ref.status_code == 422 and "照片编号无效" in bad_ref.text
    # The county supervisor sees the photo; a township of another area does not.
    _login(client, "county1")
    seen = client.get(f"/care/visits/{mine.id}/photo")
    assert seen.status_code == 200 and seen.headers["content-type"] == "image/png" and seen.content == png
    client.cookies.clear()
    _login(client, "tw_b")
    assert client.get(f"/care/visits/{mine.id}/photo").status_code == 404
