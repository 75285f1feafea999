"""Repository layout rules that lint cannot express: tests never import from the benchmarks."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_tests_do_not_import_bench() -> None:
    """Shared builders live in testkit/; bench/ is free to change without breaking the suite."""
    offenders = [f"{p.relative_to(TESTS)}:{n}" for p in sorted(TESTS.rglob("*.py"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                 if re.match(r"\s*(from|import)\s+bench\b", line)]
    assert offenders == []


def test_browser_tests_do_not_eval_strings() -> None:
    """The console's CSP refuses eval, which Playwright's `wait_for_function` uses on a string: use tests.live."""
    offenders = [str(p) for p in Path("tests").rglob("*.py")
                 if p.name != "test_layout.py" and "page.wait_for_function(" in p.read_text(encoding="utf-8")]
    assert offenders == []
