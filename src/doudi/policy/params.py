"""Policy packs: dated, referenced parameters in YAML, resolved by area code and date.

A pack is one YAML file in ``packs/`` named after its region (``national.yaml``, ``440000.yaml``,
``370784.yaml``…)::

    region: "370784"
    name: 安丘市
    parameters:
      dibao.standard.urban:
        unit: 元/人·月
        ref: 安丘市民政局（见种子文章，2020 年标准）
        note: optional free text
        provisional: false          # true where no source gives the number
        values:
          - {from: 2020-01-01, value: 719}
          - {from: 2022-01-01, value: 760, ref: 另一文件, provisional: true}   # ref/provisional/note per value

Keys are arbitrary dotted names (``dibao.*``, ``procedure.*``, ``calendar.*`` …); a value may be a
number, bool, string, date, list or mapping, or null (= no longer in force from that date).

Public API::

    pack = load_pack("370784001")           # the most specific pack for an area, inheriting upwards
    pack.value("dibao.standard.urban", on=date(2024, 1, 1))   # -> 719
    pack.param("dibao.standard.urban")      # -> Param (unit, ref, provisional, note, values, region)
    pack.at(date(2024, 1, 1))["dibao.standard.urban"]         # every parameter in force on a date
    pack.version                            # hash of the pack files in the chain

Resolution: the household's area code selects its county-level code; the chain is county → city →
province → national, keeping the packs that exist. For a key, the most specific pack defining it
wins; if the date precedes that pack's first value, the next pack up answers (so a county override
that starts in 2023 leaves the city's earlier values in force before 2023).

A malformed pack raises :class:`PackError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from doudi.areas.codes import ancestors, county_of

# Re-exported: the values and errors live below the program declarations (policy/resolved.py).
from doudi.policy.resolved import MissingParameter as MissingParameter
from doudi.policy.resolved import PackError as PackError
from doudi.policy.resolved import Resolved as Resolved
from doudi.policy.spec import kind_of, kind_ok

PACK_DIR = Path(__file__).parent / "packs"
NATIONAL = "national"
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_PARAM_FIELDS = {"values", "unit", "ref", "provisional", "note"}
_VALUE_FIELDS = {"from", "value", "ref", "provisional", "note"}
_TOP_FIELDS = {"region", "name", "parameters", "description"}
_MISSING = object()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Dated:
    """One value and the date it takes effect; a value may carry its own reference, note and provisional flag."""

    start: date
    value: Any
    ref: str | None = None
    provisional: bool | None = None
    note: str | None = None


@dataclass(frozen=True)
class Param:
    """A parameter as defined by one pack, with the parent pack's definition as fallback."""

    key: str
    unit: str
    ref: str
    values: tuple[Dated, ...]
    provisional: bool = False
    note: str = ""
    region: str = NATIONAL
    file: str = ""
    overridden: bool = False
    parent: Param | None = None

    def entry(self, on: date) -> tuple[Dated, Param] | None:
        """The dated value in force on `on` and the definition that supplied it (None if none)."""
        found = None
        for d in self.values:
            if d.start <= on:
                found = d
            else:
                break
        if found is not None:
            return found, self
        return self.parent.entry(on) if self.parent is not None else None

    def at(self, on: date, default: Any = _MISSING) -> Any:
        """The value in force on `on`; `default` (or PackError) when there is none."""
        hit = self.entry(on)
        if hit is None or hit[0].value is None:
            if default is not _MISSING:
                return default
            raise PackError(f"参数 {self.key} 在 {on} 没有有效值（{self.file or self.region}）")
        return hit[0].value

    def source_on(self, on: date) -> Param:
        """The definition (pack) that answers for `on`, with the reference, note and provisional flag of the
        value in force (a value may cite another text than the parameter's first value)."""
        hit = self.entry(on)
        if hit is None:
            return self
        dated, src = hit
        if dated.ref is None and dated.provisional is None and dated.note is None:
            return src
        return replace(src, ref=dated.ref if dated.ref is not None else src.ref,
                       provisional=dated.provisional if dated.provisional is not None else src.provisional,
                       note=dated.note if dated.note is not None else src.note)

    def first_in_force(self) -> date | None:
        """The first date from which the parameter has a truthy value (the start of a rule)."""
        starts = [d.start for d in self.values if d.value not in (None, False)]
        own = min(starts) if starts else None
        inherited = self.parent.first_in_force() if self.parent is not None else None
        return min((d for d in (own, inherited) if d is not None), default=None)


@dataclass(frozen=True)
class PackFile:
    """One parsed YAML pack file."""

    region: str
    name: str
    path: Path
    sha256: str
    params: dict[str, Param]


@dataclass(frozen=True, eq=False)
class Pack:
    """The parameters in force for one area: a chain of pack files, most specific first."""

    area_code: str
    chain: tuple[PackFile, ...]
    params: dict[str, Param] = field(repr=False)
    version: str = ""

    @property
    def region(self) -> str:
        """The region of the most specific pack in the chain."""
        return self.chain[0].region

    @property
    def name(self) -> str:
        """The Chinese name of the most specific pack."""
        return self.chain[0].name

    def param(self, key: str) -> Param:
        """The most specific definition of `key` (KeyError when no pack defines it)."""
        try:
            return self.params[key]
        except KeyError:
            raise KeyError(f"{self.region}: 未定义参数 {key}") from None

    def value(self, key: str, on: date, default: Any = _MISSING) -> Any:
        """The value of `key` in force on `on`."""
        if key not in self.params:
            if default is not _MISSING:
                return default
            raise PackError(f"{self.region}: 未定义参数 {key}")
        return self.params[key].at(on, default)

    def at(self, on: date) -> Resolved:
        """Every parameter in force on `on` (computed once per pack version and date)."""
        return _resolve_at(self, on)

    def _at(self, on: date) -> Resolved:
        values: dict[str, Any] = {}
        provisional: set[str] = set()
        for key, p in self.params.items():
            v = p.at(on, None)
            if v is not None:
                values[key] = v
                if p.source_on(on).provisional:
                    provisional.add(key)
        return Resolved(region=self.region, on=on, version=self.version, data=values,
                        defined=frozenset(self.params), provisional=frozenset(provisional),
                        starts=_Starts(self.params))

    def names(self) -> list[str]:
        """Every parameter key, sorted."""
        return sorted(self.params)

    def with_overrides(self, overrides: Mapping[str, Any], *, on: date) -> Pack:
        """A copy in which each overridden key takes the given value from `on` (for reform simulation)."""
        params = dict(self.params)
        for key, value in overrides.items():
            base = params.get(key)
            if base is None:
                raise PackError(f"{self.region}: 无法覆盖未定义的参数 {key}")
            expected = kind_of(key)
            if expected and not kind_ok(expected, value):
                raise PackError(f"{key}: 覆盖值 {value!r} 类型应为 {expected}")
            params[key] = replace(base, values=(Dated(on, value),), overridden=True, parent=base,
                                  note=f"模拟值（原值见 {base.file}）")
        tag = hashlib.sha256(repr(sorted(overrides.items())).encode()).hexdigest()[:6]
        return replace(self, params=params, version=f"{self.version}+sim{tag}")


class _Starts(Mapping[str, date]):
    """key → the first date the parameter has a truthy value, computed when asked."""

    def __init__(self, params: Mapping[str, Param]) -> None:
        self._params = params

    def __getitem__(self, key: str) -> date:
        first = self._params[key].first_in_force()
        if first is None:
            raise KeyError(key)
        return first

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._params if self._params[k].first_in_force() is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@lru_cache(maxsize=1024)
def _resolve_at(pack: Pack, on: date) -> Resolved:
    return pack._at(on)


def _as_date(raw: Any) -> date | None:
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            return None
    return None


def parse_pack_file(path: Path) -> PackFile:
    """Parse and validate one pack file; PackError lists every problem with file and key."""
    label = path.name
    try:
        raw = path.read_bytes()
        data = yaml.load(raw, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise PackError(f"{label}: YAML 语法错误: {exc}") from None
    problems: list[str] = []
    if not isinstance(data, dict):
        raise PackError(f"{label}: 顶层应为映射（region/name/parameters）")
    for extra in sorted(set(data) - _TOP_FIELDS):
        problems.append(f"{label}: 未知字段 {extra}")
    region = str(data.get("region", ""))
    if region != path.stem:
        problems.append(f"{label}: region 应与文件名一致（{path.stem}），实为 {region!r}")
    params_raw = data.get("parameters")
    if not isinstance(params_raw, dict):
        problems.append(f"{label}: parameters 应为映射")
        params_raw = {}
    params: dict[str, Param] = {}
    for key, spec in params_raw.items():
        where = f"{label}: {key}"
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(f"{where}: 参数名应为小写点分形式，如 dibao.standard.urban")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where}: 应为映射（values/unit/ref）")
            continue
        for extra in sorted(set(spec) - _PARAM_FIELDS):
            problems.append(f"{where}: 未知字段 {extra}")
        for needed in ("unit", "ref"):
            if not isinstance(spec.get(needed), str) or not spec.get(needed):
                problems.append(f"{where}: 缺少 {needed}")
        if "provisional" in spec and not isinstance(spec["provisional"], bool):
            problems.append(f"{where}: provisional 应为 true/false")
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            problems.append(f"{where}: values 应为非空列表 [{{from: 日期, value: 值}}]")
            continue
        dated: list[Dated] = []
        for i, item in enumerate(values):
            if not isinstance(item, dict) or not {"from", "value"} <= set(item) or set(item) - _VALUE_FIELDS:
                problems.append(f"{where}: values[{i}] 应包含 from 与 value（可另有 ref、provisional、note）")
                continue
            if "provisional" in item and not isinstance(item["provisional"], bool):
                problems.append(f"{where}: values[{i}].provisional 应为 true/false")
            for text in ("ref", "note"):
                if text in item and not (isinstance(item[text], str) and item[text]):
                    problems.append(f"{where}: values[{i}].{text} 应为非空文字")
            start = _as_date(item["from"])
            if start is None:
                problems.append(f"{where}: values[{i}].from 不是日期: {item['from']!r}")
                continue
            if dated and start <= dated[-1].start:
                problems.append(f"{where}: values[{i}].from 应晚于上一条 ({dated[-1].start})")
            expected = kind_of(key)
            if expected and item["value"] is not None and not kind_ok(expected, item["value"]):
                problems.append(f"{where}: values[{i}].value 类型应为 {expected}，实为 {item['value']!r}")
            dated.append(Dated(start, item["value"], ref=item.get("ref"), provisional=item.get("provisional"),
                               note=item.get("note")))
        params[key] = Param(key=key, unit=str(spec.get("unit", "")), ref=str(spec.get("ref", "")),
                            values=tuple(dated), provisional=bool(spec.get("provisional", False)),
                            note=str(spec.get("note", "") or ""), region=region, file=label)
    if problems:
        raise PackError("政策参数包有误：\n  " + "\n  ".join(problems))
    return PackFile(region=region, name=str(data.get("name", region)), path=path,
                    sha256=hashlib.sha256(raw).hexdigest(), params=params)


@lru_cache(maxsize=64)
def _pack_file(path: Path, mtime_ns: int) -> PackFile:
    del mtime_ns  # part of the cache key so an edited file is re-read
    return parse_pack_file(path)


def pack_file(path: Path) -> PackFile:
    """A parsed pack file (cached until the file changes)."""
    return _pack_file(path, path.stat().st_mtime_ns)


def chain_regions(area_code: str) -> list[str]:
    """Candidate regions for an area, most specific first: county, city, province, national."""
    return [*ancestors(county_of(area_code)), NATIONAL]


def load_pack(area_code: str, *, pack_dir: Path | None = None) -> Pack:
    """The pack for an area code (county level or deeper), inheriting from city, province and national."""
    directory = pack_dir or PACK_DIR
    files = [directory / f"{r}.yaml" for r in chain_regions(area_code)]
    stamps = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files)
    return _load_pack(area_code[:6] if len(area_code) > 6 else area_code, directory, stamps)


@lru_cache(maxsize=256)
def _load_pack(area_code: str, directory: Path, stamps: tuple[int, ...]) -> Pack:
    del stamps  # part of the cache key: an edited pack file is re-read
    files = [directory / f"{r}.yaml" for r in chain_regions(area_code)]
    chain = tuple(pack_file(f) for f in files if f.exists())
    if not chain or chain[-1].region != NATIONAL:
        raise PackError(f"{directory}: 缺少全国基础参数包 national.yaml")
    merged: dict[str, Param] = {}
    for pf in reversed(chain):  # national first; more specific packs wrap their parent's definition
        for key, p in pf.params.items():
            merged[key] = replace(p, parent=merged.get(key))
    digest = hashlib.sha256("".join(f"{pf.region}:{pf.sha256};" for pf in chain).encode()).hexdigest()[:12]
    return Pack(area_code=area_code, chain=chain, params=merged, version=digest)


def all_pack_files(pack_dir: Path | None = None) -> list[PackFile]:
    """Every pack file in the directory, parsed (raises PackError on the first malformed one)."""
    directory = pack_dir or PACK_DIR
    return [pack_file(p) for p in sorted(directory.glob("*.yaml"))]
