"""Forms with any number of repeated rows (家庭成员 m0_…, m1_…): rows are added and removed in the browser, so
the numbers that reach the server may have gaps; every row present is read, in order."""

from __future__ import annotations

import re
from collections.abc import Iterable


def row_indices(keys: Iterable[str], prefix: str = "m", field: str = "name") -> list[int]:
    """The row numbers of `prefix<N>_<field>` keys present in a form, ascending."""
    pattern = re.compile(rf"{re.escape(prefix)}(\d{{1,3}})_{re.escape(field)}")
    return sorted({int(m.group(1)) for k in keys if (m := pattern.fullmatch(str(k)))})
