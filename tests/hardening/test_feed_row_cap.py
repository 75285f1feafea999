"""A feed file over the row cap (DOUDI_FEED_MAX_ROWS on the command line, DOUDI_FEED_UPLOAD_MAX_ROWS through the
console and API) is refused whole with a Chinese message naming the cap; a Parquet file is refused from its
footer before any row is read; nothing of the refused file is kept (issue 14 item 7)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.config import Settings
from doudi.core import storage
from doudi.core.errors import ValidationFailed
from doudi.ingest.models import IngestBatch
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord
from tests.factories import PASSWORD, make_areas, make_user

ACTOR = system_actor("370784", name="test")


@pytest.fixture(autouse=True)
def payload_storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    before = storage._root
    storage.configure(tmp_path / "data")
    yield
    storage.configure(before)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database) -> Settings:  # type: ignore[no-untyped-def]
    """The app of `client` with a console/API upload cap of 2 rows."""
    return Settings(data_dir=tmp_path / "var", database_url=database.url, secret_key="test-secret-key", demo=True,
                    feed_upload_max_rows=2)


def _tax(path: Path, rows: int) -> Path:
    frame = pl.DataFrame({"record_id": [f"r{i}" for i in range(rows)], "id_number": [None] * rows,
                          "name": ["张三"] * rows, "month": ["2026-01"] * rows, "income_kind": ["wage"] * rows,
                          "amount": [f"{100 + i}" for i in range(rows)]}, schema_overrides={"id_number": pl.Utf8})
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path)
    return path


def _batches(db: Session) -> tuple[int, int]:
    return db.scalar(select(func.count()).select_from(IngestBatch)) or 0, \
        db.scalar(select(func.count()).select_from(FeedRecord)) or 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_over_the_cap_is_refused_naming_it(db: Session, tmp_path: Path, suffix: str) -> None:
    make_areas(db)
    before = _batches(db)
    path = _tax(tmp_path / f"tax{suffix}", 12)
    # 12 data rows against a cap of 10; CSV is read in chunks of at most cap + 1 = 11 rows, so the refusal
    # comes at the first chunk (11 rows seen); Parquet is refused from its footer (12 rows declared).
    with pytest.raises(ValidationFailed) as err:
        ingest_file(db, actor=ACTOR, source_key="tax", path=path, area_code="370784", max_rows=10)
    message = err.value.errors[0].message
    seen = "12" if suffix == ".parquet" else "11"
    assert err.value.errors[0].field == "file"
    assert f"超过单次导入上限 10 行（已读到 {seen} 行）" in message and "分批导入" in message
    db.rollback()
    assert _batches(db) == before  # the caller's transaction keeps nothing


def test_a_file_at_the_cap_is_taken(db: Session, tmp_path: Path) -> None:
    make_areas(db)
    path = _tax(tmp_path / "tax.csv", 10)
    out = ingest_file(db, actor=ACTOR, source_key="tax", path=path, area_code="370784", max_rows=10)
    assert (out.batch.rows_total, out.batch.rows_ok) == (10, 10)  # "上限 10 行" includes the tenth row


def test_the_caps_are_settings_with_documented_defaults() -> None:
    fields = Settings.model_fields
    assert fields["feed_max_rows"].default == 20_000_000  # a year of monthly rows for ~1.6 million people
    assert fields["feed_upload_max_rows"].default == 1_000_000  # what the registry import reads at most
    assert Settings(feed_upload_max_rows=5).feed_upload_max_rows == 5
    with pytest.raises(ValueError):
        Settings(feed_max_rows=0)


def test_an_upload_over_the_console_cap_is_a_422(client, db: Session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "liaison", ["agency_liaison"], "370784")
    db.commit()
    token = client.post("/api/v1/auth/token", data={"username": "liaison", "password": PASSWORD}).json()
    three = _tax(tmp_path / "tax.csv", 3).read_bytes()  # 3 data rows against DOUDI_FEED_UPLOAD_MAX_ROWS = 2
    answer = client.post("/api/v1/verification/batches", data={"source_key": "tax"},
                         headers={"Authorization": f"Bearer {token['access_token']}"},
                         files={"file": ("tax.csv", three, "text/csv")})
    assert answer.status_code == 422
    assert "超过单次导入上限 2 行（已读到 3 行）" in answer.text
    assert db.scalar(select(func.count()).select_from(FeedRecord)) == 0  # nothing of the file kept
