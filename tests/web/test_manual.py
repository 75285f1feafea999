"""The user manual (issue 15 item 11): every import is described with its Chinese headers and a template that
downloads; the households import page links to both instead of naming a manual that did not exist."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from doudi.caseload.templates import KINDS
from tests.factories import PASSWORD, make_areas, make_user


def test_manual_lists_every_import_with_its_template(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "worker9", ["township_caseworker"], "370784001")
    db.commit()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post("/login", data={"username": "worker9", "password": PASSWORD, "csrf_token": token.group(1)})
    manual = client.get("/help")
    assert manual.status_code == 200 and "您的角色：乡镇经办人" in manual.text
    assert '<a href="/help"' in client.get("/").text  # in the side navigation of every page
    for kind in KINDS:
        assert f'id="import-{kind}"' in manual.text and f"/imports/templates/{kind}.xlsx" in manual.text
    # The household template's header is what the manual lists, 区划代码 among the required columns.
    assert "区划代码（必填）" in manual.text
    ws = load_workbook(io.BytesIO(client.get("/imports/templates/households.xlsx").content)).active
    header = [c.value for c in ws[1] if c.value]
    assert "区划代码" in header
    example = dict(zip([c.value for c in ws[1]], [c.value for c in ws[2]], strict=False))
    assert len(str(example["户编号"])) == 15  # household numbers: township code (9) + serial (6)
    imports = client.get("/households/import").text
    assert "/help#import-households" in imports and "/imports/templates/households.xlsx" in imports


def test_every_permission_has_a_chinese_name() -> None:
    # The 403 page and the "who acts here" notes name permissions in words (permissions.yaml `actions:`).
    from doudi.auth.permissions import action_labels, all_actions

    assert sorted(all_actions() - set(action_labels())) == []
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in action_labels().values())
