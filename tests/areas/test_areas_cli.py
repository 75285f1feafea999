"""`doudi areas list`: a code prefix such as 3707 lists its subtree; bad options are a clear error with exit 2
(issue 14 item 10: `--under 3707` gave a traceback)."""

from __future__ import annotations

from pathlib import Path

from doudi.db.engine import session_scope
from tests.conftest import Database
from tests.factories import make_areas
from tests.registry.test_import_households import _cli


def test_prefix_and_bad_options(fresh_database: Database, tmp_path: Path) -> None:
    with session_scope(fresh_database.engine) as session:
        make_areas(session)
    listed = _cli(fresh_database, tmp_path, "areas", "list", "--under", "3707")
    assert listed.returncode == 0, listed.stderr
    assert "370784001" in listed.stdout and "Traceback" not in listed.stderr
    bad = _cli(fresh_database, tmp_path, "areas", "list", "--under", "37x")
    assert bad.returncode == 2 and "--under" in bad.stderr and "Traceback" not in bad.stderr
    level = _cli(fresh_database, tmp_path, "areas", "list", "--level", "town")
    assert level.returncode == 2 and "级别应为" in level.stderr


def test_admin_areas_page_searches_filters_and_pages(client, db) -> None:  # type: ignore[no-untyped-def]
    from tests.auth.test_web_security import _login
    from tests.factories import make_user

    make_areas(db)
    make_user(db, "area_admin", ["admin"], "370784")
    db.commit()
    _login(client, "area_admin")
    villages = client.get("/admin/areas?level=village").text
    assert "370784001001" in villages and "370784001002" in villages and "<td>370784001</td>" not in villages
    assert "村级" in villages and ">village<" not in villages
    by_name = client.get("/admin/areas", params={"q": "370784002"}).text
    assert "370784002001" in by_name and "370784001001" not in by_name
    assert "共 2 条" in by_name  # 370784002 and its village
    assert "没有符合条件的区划" in client.get("/admin/areas?q=999").text
    assert client.get("/admin/areas?page=0").status_code == 422
