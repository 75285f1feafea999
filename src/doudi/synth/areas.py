"""Synthetic townships (9-digit) and villages (12-digit) under a real county code.

Codes follow the numbering habit of the statistical division codes: 街道 001-099, 镇 101-199 at the
township level; 社区 (居委会) 001-199 and 村 (村委会) 201-399 at the village level. Names are plausible but
invented, so every row is marked synthetic. Areas depend only on the region, never on the seed, so demo
accounts and tests can refer to fixed codes (e.g. 370784001 新安街道, 370784001001 its first 社区).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import polars as pl

SURNAMES_NORTH = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁宋谢唐韩冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段曹钱汤尹黎易常武乔贺赖龚文"
)
NORTH_SUFFIX = ("家庄", "家沟", "家河", "家岭", "家营", "家官庄", "家屯", "家疃", "家楼", "家埠", "家洼", "家泊")
NORTH_PREFIX = ("前", "后", "东", "西", "南", "北", "大", "小", "上", "下")
NORTH_CORE = (
    "疃",
    "庄",
    "屯",
    "岭",
    "河",
    "沟",
    "埠",
    "楼",
    "店",
    "峪",
    "泉",
    "崖",
    "坡",
    "园",
    "营",
    "官庄",
    "石门",
    "杏林",
)
SOUTH_SUFFIX = ("屋", "边", "坑", "围", "坊", "洞", "塘", "冲", "岗", "寮")
SOUTH_CORE = (
    "龙湾",
    "石头",
    "水南",
    "大岗",
    "新村",
    "东风",
    "莲塘",
    "沙冲",
    "长安",
    "南门",
    "北头",
    "荷村",
    "象山",
    "朗美",
    "塘边",
    "凤山",
    "石涌",
    "泮村",
    "仁和",
    "田心",
    "横江",
    "潭江",
    "那扶",
    "平岗",
    "坑口",
    "联和",
    "东光",
)
COMMUNITY_CORE = (
    "城关",
    "东苑",
    "西苑",
    "文化路",
    "青云",
    "汶河",
    "和平",
    "永安",
    "振兴",
    "新华",
    "阳光",
    "幸福",
    "锦绣",
    "龙山",
    "滨河",
    "向阳",
    "光明",
    "建设",
    "人民路",
    "健康路",
    "东关",
    "西关",
    "南关",
    "北关",
    "胜利",
    "育才",
    "裕华",
    "金城",
    "翠湖",
    "春晖",
    "朝阳",
    "长春",
    "新城",
    "富民",
    "迎宾",
    "学府",
    "商城",
    "太平",
    "安康",
    "凤凰",
)


@dataclass(frozen=True)
class RegionAreas:
    """The synthetic divisions of a region and the household weight of each village."""

    areas: pl.DataFrame  # code, name, synthetic, source (county and real parents first)
    villages: pl.DataFrame  # village_code, village_name, township_code, township_name, county_code, kind, weight


def _village_names(rng: np.random.Generator, kind: str, n: int, south: bool) -> list[str]:
    if kind == "subdistrict":
        pool = [f"{c}社区" for c in COMMUNITY_CORE]
    elif south:
        pool = [f"{s}{suf}村" for s in SURNAMES_NORTH[:40] for suf in SOUTH_SUFFIX] + [f"{c}村" for c in SOUTH_CORE]
    else:
        pool = [f"{s}{suf}村" for s in SURNAMES_NORTH[:60] for suf in NORTH_SUFFIX] + [
            f"{p}{c}村" for p in NORTH_PREFIX for c in NORTH_CORE
        ]
    pool = sorted(set(pool))
    picks = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[i] for i in picks]


def _counties(params: dict[str, Any]) -> list[tuple[str, str, float, list[tuple[str, str, float]]]]:
    """(county code, name, weight, [(township name, kind, weight)]) for the region."""
    if "counties" in params:
        out = []
        for code, name, weight, towns in params["counties"]:
            out.append((str(code), name, float(weight), [(t, k, 1.0) for t, k in towns]))
        return out
    towns = [(t, k, float(w)) for t, k, w in params["townships"]]
    return [(params["code"], params["name"], 1.0, towns)]


def build_region_areas(params: dict[str, Any]) -> RegionAreas:
    """Synthesise the township and village levels of a region (deterministic per region code)."""
    rng = np.random.default_rng(int(params["code"]))  # areas depend on the region only
    south = params["code"].startswith("44")
    n_villages = params["villages"]
    area_rows: list[tuple[str, str, bool, str]] = []
    village_rows: list[dict[str, Any]] = []
    for county_code, _county_name, county_weight, towns in _counties(params):
        town_total = sum(w for _, _, w in towns)
        sub_seq, town_seq = 0, 100
        for town_name, kind, town_weight in towns:
            if kind == "subdistrict":
                sub_seq += 1
                tcode = f"{county_code}{sub_seq:03d}"
            else:
                town_seq += 1
                tcode = f"{county_code}{town_seq:03d}"
            area_rows.append((tcode, town_name, True, "synthetic"))
            names = _village_names(rng, kind, int(n_villages[kind]), south)
            first = 1 if kind == "subdistrict" else 201
            weight = county_weight * town_weight / town_total / len(names)
            for j, vname in enumerate(names):
                vcode = f"{tcode}{first + j:03d}"
                area_rows.append((vcode, vname, True, "synthetic"))
                village_rows.append(
                    {
                        "village_code": vcode,
                        "village_name": vname,
                        "township_code": tcode,
                        "township_name": town_name,
                        "county_code": county_code,
                        "kind": kind,
                        "weight": weight,
                    }
                )
    areas = pl.DataFrame(area_rows, schema=["code", "name", "synthetic", "source"], orient="row")
    villages = pl.DataFrame(village_rows)
    return RegionAreas(areas=areas, villages=villages)


def real_parent_rows(region: str) -> pl.DataFrame:
    """The real GB/T 2260 rows of the region and its parents, from the shipped seed file."""
    text = files("doudi.areas.data").joinpath("seed_areas.csv").read_text(encoding="utf-8")
    seed = pl.read_csv(text.encode(), schema_overrides={"code": pl.Utf8})
    keep = seed.filter(
        pl.col("code").is_in([region[:2] + "0000", region[:4] + "00"]) | pl.col("code").str.starts_with(region[:4])
        if region.endswith("00")
        else pl.col("code").is_in([region[:2] + "0000", region[:4] + "00", region])
    )
    return keep.select(pl.col("code"), pl.col("name"), pl.lit(False).alias("synthetic"), pl.col("source"))
