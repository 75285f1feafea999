"""Reading uploaded files with a hard size cap, without holding an oversized upload in memory first."""

from __future__ import annotations

from typing import Protocol

from doudi.core.errors import FieldError, ValidationFailed

CHUNK = 1024 * 1024


class Readable(Protocol):
    """What an uploaded file offers (Starlette's UploadFile)."""

    async def read(self, size: int = -1) -> bytes: ...


async def read_capped(upload: Readable, *, max_bytes: int, field: str = "file") -> bytes:
    """The upload's bytes, or ValidationFailed as soon as it passes `max_bytes`."""
    parts: list[bytes] = []
    total = 0
    while chunk := await upload.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise ValidationFailed([FieldError(field, f"文件超过 {max_bytes // CHUNK} MB 上限")])
        parts.append(chunk)
    return b"".join(parts)
