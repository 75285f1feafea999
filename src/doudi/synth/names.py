"""Chinese names sampled vectorised from Faker zh_CN's provider data, and realistic name typos.

Faker's zh_CN person provider carries a weighted surname table (399 surnames with their frequency in
percent) and lists of male and female given names. Calling Faker once per person is far too slow for a
million households, so its tables are read once and sampled with numpy: a given name is either one of
Faker's own given names (建国, 秀英, …), or two characters drawn from the characters of those names, or a
single character. Typos for the feeds use pypinyin for homophones (同音字) and a small table of
similar-looking characters (形近字).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

# Given-name length mix: Faker's own names, two drawn characters, one drawn character.
GIVEN_MIX = (0.25, 0.65, 0.10)

# 形近字: pairs that are misread or mistyped for one another in hand-written or OCR'd records.
SIMILAR = {
    "王": "玉",
    "玉": "王",
    "土": "士",
    "己": "已",
    "日": "曰",
    "未": "末",
    "大": "太",
    "人": "入",
    "白": "百",
    "天": "夫",
    "申": "甲",
    "干": "千",
    "午": "牛",
    "木": "本",
    "今": "令",
    "住": "往",
    "清": "青",
    "晴": "睛",
    "明": "朋",
    "休": "体",
    "李": "季",
    "杨": "扬",
    "朱": "珠",
    "胡": "湖",
    "林": "材",
    "宋": "采",
    "玲": "铃",
    "琳": "淋",
    "辉": "挥",
    "鹏": "朋",
    "浩": "皓",
    "晨": "辰",
    "洋": "祥",
    "军": "车",
    "平": "乎",
    "凯": "恺",
    "俊": "峻",
    "峰": "锋",
    "红": "虹",
    "芳": "方",
    "霞": "暇",
    "梅": "海",
    "海": "梅",
    "桂": "挂",
    "华": "哗",
    "建": "健",
    "国": "固",
    "志": "忠",
    "文": "丈",
    "永": "水",
    "春": "舂",
    "东": "冻",
    "金": "全",
    "娟": "涓",
    "静": "净",
    "丽": "郦",
    "英": "瑛",
    "兰": "栏",
    "燕": "嬿",
    "萍": "苹",
    "秀": "绣",
    "云": "芸",
    "刘": "划",
    "陈": "阵",
    "张": "弦",
    "赵": "赴",
    "孙": "逊",
    "郭": "廓",
    "何": "河",
    "罗": "萝",
    "唐": "塘",
    "韩": "朝",
    "徐": "涂",
    "马": "冯",
    "冯": "马",
    "高": "亮",
    "周": "同",
    "吴": "昊",
    "黄": "寅",
    "宇": "字",
    "强": "弦",
}


@dataclass(frozen=True)
class NameTables:
    """Faker's surname table and given-name pools, as arrays ready for vectorised sampling."""

    surnames: list[str]
    surname_p: np.ndarray
    given_full: dict[str, list[str]]  # sex -> Faker's given names
    given_chars: dict[str, list[str]]  # sex -> characters of those names
    given_char_p: dict[str, np.ndarray]


@lru_cache
def tables() -> NameTables:
    """Read Faker zh_CN's person tables once."""
    # Imported here: Faker's locale data is loaded only when names are synthesised.
    from faker.providers.person.zh_CN import Provider

    surnames = list(Provider.last_names.keys())
    weights = np.array([float(w) for w in Provider.last_names.values()])
    full = {"M": list(Provider.first_names_male), "F": list(Provider.first_names_female)}
    chars: dict[str, list[str]] = {}
    probs: dict[str, np.ndarray] = {}
    for sex, given in full.items():
        counts = Counter(ch for name in given for ch in name)
        chars[sex] = sorted(counts)
        p = np.array([counts[c] for c in chars[sex]], dtype=np.float64)
        probs[sex] = p / p.sum()
    return NameTables(surnames, weights / weights.sum(), full, chars, probs)


def sample_names(rng: np.random.Generator, sex: np.ndarray) -> pl.Series:
    """One full name per entry of `sex` ('M'/'F'), vectorised."""
    parts = sample_name_parts(rng, sex)
    return (parts["surname"] + parts["given"]).alias("name")


def sample_name_parts(rng: np.random.Generator, sex: np.ndarray) -> pl.DataFrame:
    """Surname and given name per entry of `sex`, drawn independently (families share surnames later)."""
    t = tables()
    n = len(sex)
    surname = pl.Series(t.surnames).gather(rng.choice(len(t.surnames), size=n, p=t.surname_p))
    kind = rng.choice(3, size=n, p=GIVEN_MIX)
    male = sex == "M"
    parts = []
    for s, mask in (("M", male), ("F", ~male)):
        full = pl.Series(t.given_full[s]).gather(rng.integers(0, len(t.given_full[s]), size=n))
        pool = pl.Series(t.given_chars[s])
        c1 = pool.gather(rng.choice(len(pool), size=n, p=t.given_char_p[s]))
        c2 = pool.gather(rng.choice(len(pool), size=n, p=t.given_char_p[s]))
        frame = pl.DataFrame({"full": full, "c1": c1, "c2": c2, "kind": kind})
        g = frame.select(
            pl.when(pl.col("kind") == 0)
            .then(pl.col("full"))
            .when(pl.col("kind") == 1)
            .then(pl.col("c1") + pl.col("c2"))
            .otherwise(pl.col("c1"))
        ).to_series()
        parts.append((mask, g))
    given = pl.select(pl.when(pl.Series(parts[0][0])).then(parts[0][1]).otherwise(parts[1][1])).to_series()
    return pl.DataFrame({"surname": surname, "given": given})


@lru_cache
def _pinyin_of() -> dict[str, str]:
    # Imported here: pypinyin's dictionaries are loaded only when pinyin is needed.
    from pypinyin import Style, lazy_pinyin

    t = tables()
    chars = set("".join(t.surnames)) | {c for cs in t.given_chars.values() for c in cs}
    chars |= set(SIMILAR) | set(SIMILAR.values())
    chars |= set("玮炜薇巍维卫蔚苇娴贤弦伟纬静婧靖敬晶菁睛京军君钧均俊骏峻浚郡丽莉俐利力立励黎丽荔慧惠蕙会卉辉晖徽")
    return {c: lazy_pinyin(c, style=Style.NORMAL)[0] for c in chars}


@lru_cache
def _homophones() -> dict[str, list[str]]:
    by_sound: dict[str, list[str]] = {}
    for ch, py in sorted(_pinyin_of().items()):
        by_sound.setdefault(py, []).append(ch)
    return {ch: [o for o in by_sound[py] if o != ch] for ch, py in _pinyin_of().items() if len(by_sound[py]) > 1}


def romanise(name: str) -> str:
    """A name in pinyin as bank and travel records write it ('Wang Jianguo')."""
    # Imported here: pypinyin's dictionaries are loaded only when pinyin is needed.
    from pypinyin import Style, lazy_pinyin

    table = _pinyin_of()
    syll = [table.get(c) or lazy_pinyin(c, style=Style.NORMAL)[0] for c in name]
    surname_len = 2 if name[:2] in tables().surnames else 1
    return "".join(syll[:surname_len]).capitalize() + " " + "".join(syll[surname_len:]).capitalize()


def misspell(name: str, kind: str, rng: np.random.Generator) -> tuple[str, str]:
    """Apply one typo of the wanted kind; returns (new name, kind actually applied) with fallbacks."""
    homo = _homophones()
    if kind == "pinyin":
        return romanise(name), "pinyin"
    if kind == "dropped_char" and len(name) >= 3:
        i = int(rng.integers(1, len(name)))
        return name[:i] + name[i + 1 :], "dropped_char"
    positions = list(range(len(name)))
    start = int(rng.integers(0, len(name)))
    order = positions[start:] + positions[:start]
    if kind in {"homophone", "dropped_char"}:
        for i in order:
            options = homo.get(name[i])
            if options:
                return name[:i] + options[int(rng.integers(0, len(options)))] + name[i + 1 :], "homophone"
    for i in order:
        if name[i] in SIMILAR:
            return name[:i] + SIMILAR[name[i]] + name[i + 1 :], "similar"
    for i in order:
        options = homo.get(name[i])
        if options:
            return name[:i] + options[int(rng.integers(0, len(options)))] + name[i + 1 :], "homophone"
    return romanise(name), "pinyin"
