"""The audit viewer's words: an export's recorded filters name the kind of object in Chinese."""

from __future__ import annotations

from doudi.audit.labels import changes_text


def test_recorded_filters_name_the_object_kind() -> None:
    text = changes_text({"_": {"filters": {"object_type": "charity_partner", "object_id": "3"}}})
    assert text == "筛选条件：（对象类型：合作机构；对象编号：3）"
    assert "charity" not in changes_text({"_": {"filters": {"object_type": "charity_need"}}})
