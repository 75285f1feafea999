"""`doudi evaluate FILE.json --date D`: JSON out, deterministic; bad input → exit 2 with every field error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HOUSEHOLD = {
    "area_code": "440703001001", "hukou_type": "urban", "has_capable_supporter": False,
    "members": [{"relation": "head", "birth_date": "1944-01-01", "self_care_unable_items": 4}],
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "doudi", "evaluate", *args], capture_output=True, text=True,
                          timeout=120)


def test_evaluate_prints_deterministic_json(tmp_path: Path) -> None:
    path = tmp_path / "hh.json"
    path.write_text(json.dumps(HOUSEHOLD), encoding="utf-8")
    first = _run(str(path), "--date", "2024-06-01")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    # 江门: 1.6 × 1000 = 1600 basic + full-care standard 500 (4 items unable) = 2100.
    member = data["programs"]["extreme_poverty"]["members"][0]
    assert (member["eligible"], member["care_level"], member["monthly_amount"]) == (True, "full", 2100.0)
    assert _run(str(path), "--date", "2024-06-01").stdout == first.stdout


def test_evaluate_accepts_a_list_and_a_date_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text(json.dumps([{**HOUSEHOLD, "date": "2024-06-01"}, {**HOUSEHOLD, "date": "2024-06-01",
                                                                       "hukou_type": "rural"}]), encoding="utf-8")
    out = _run(str(path))
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    # rural 江门: 1.6 × 900 = 1440 + 500 = 1940.
    assert [r["programs"]["extreme_poverty"]["monthly_amount"] for r in results] == [2100.0, 1940.0]


def test_bad_input_lists_every_error_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"area_code": "44", "hukou_type": "town", "members": [
        {"relation": "head", "birth_date": "1944-13-01", "self_care_unable_items": 9, "child_status": "lost"}],
        "assets": {"vehicles": -1}, "surprise": 1}), encoding="utf-8")
    out = _run(str(path), "--date", "2024-06-01")
    assert out.returncode == 2
    for field in ("area_code", "hukou_type", "members.0.birth_date", "members.0.self_care_unable_items",
                  "members.0.child_status", "assets.vehicles", "surprise"):
        assert f"（{field}）：" in out.stderr or f"  - {field}：" in out.stderr, field
    assert "Extra inputs" not in out.stderr and "should" not in out.stderr  # messages in Chinese
    assert "Traceback" not in out.stderr and out.stdout == ""
    broken = tmp_path / "broken.json"
    broken.write_text("{\"area_code\": ", encoding="utf-8")
    out = _run(str(broken), "--date", "2024-06-01")
    assert out.returncode == 2 and "JSON" in out.stderr and "Traceback" not in out.stderr
    assert _run(str(tmp_path / "missing.json")).returncode == 2
    assert _run(str(path), "--date", "June").returncode == 2
