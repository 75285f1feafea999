"""Pure helpers on division codes: level, parent and the prefix that defines an area's subtree."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """The level of an administrative division, from the top."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


LEVELS = tuple(Level)
COUNTY_OR_ABOVE = frozenset({Level.PROVINCE, Level.CITY, Level.COUNTY})


def level_of(code: str) -> Level:
    """The level of a 6-, 9- or 12-digit division code."""
    if len(code) == 12:
        return Level.VILLAGE
    if len(code) == 9:
        return Level.TOWNSHIP
    if len(code) != 6 or not code.isdigit():
        raise ValueError(f"区划代码应为 6、9 或 12 位数字: {code!r}")
    if code[2:] == "0000":
        return Level.PROVINCE
    if code[4:] == "00":
        return Level.CITY
    return Level.COUNTY


def scope_prefix(code: str) -> str:
    """The code prefix shared by an area and everything below it (370700 → 3707)."""
    level = level_of(code)
    return {"province": code[:2], "city": code[:4]}.get(level, code)


def parent_of(code: str) -> str | None:
    """The parent division's code, or None for a province."""
    level = level_of(code)
    if level == "village":
        return code[:9]
    if level == "township":
        return code[:6]
    if level == "county":
        # Municipalities' and cities' districts hang off the city; a county under a province directly
        # (e.g. 省直辖县级市 4290xx) hangs off the 'xx90' placeholder city code, which is kept as is.
        return code[:4] + "00"
    if level == "city":
        return code[:2] + "0000"
    return None


def county_of(code: str) -> str:
    """The six-digit county-level code containing this area (a county returns itself)."""
    if len(code) >= 9:
        return code[:6]
    return code


def ancestors(code: str) -> list[str]:
    """The codes from this area up to its province, nearest first (the area itself included)."""
    chain = [code]
    parent = parent_of(code)
    while parent is not None:
        chain.append(parent)
        parent = parent_of(parent)
    return chain


def within(code: str, area: str) -> bool:
    """True when `code` lies in the subtree of `area`."""
    return code.startswith(scope_prefix(area))
