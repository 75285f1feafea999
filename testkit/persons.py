"""Vectorised synthetic Chinese persons with realistic agency-record noise, for linkage tests and benchmarks.

Persons come in families (shared surname and address, spouses with their own surname, children born
20-40 years after their parents, ~1% twins), so the data holds the hard negatives real registers hold.
`noisy_copy` produces another agency's view of the same persons: blanked and mistyped ID numbers,
homophone and one-character name typos, wrong or missing birth dates and sexes, address variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from pypinyin import lazy_pinyin

# Top surnames with approximate shares (per mille) from the 2020 census ranking; the tail is flattened.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢"
    "姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤"
)
SURNAME_SHARE = np.array([70, 70, 65, 53, 46, 33, 23, 20, 20, 19, 18, 17] + [14] * 10 + [9] * 20 + [5] * 30
                         + [3] * (len(SURNAMES) - 72), dtype=float)
MALE_CHARS = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国峰亮成志立东海文博晨浩然子轩" \
             "振宏春德新生福贵祥瑞喜庆永长忠义信仁兴隆昌盛广庆"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀燕玲桂英华红梅琳丹萍雪琴云莉兰凤洁倩婷颖慧晶宁欣悦佳怡雨涵诗梦瑶璐茜蕾" \
               "春秋月翠玉珍美荣淑爱香"
TOWNS = ("新安街道", "兴安街道", "东埠街道", "大汶河街道", "景芝镇", "凌河街道", "官庄镇", "大盛镇", "石埠子镇",
         "石堆镇", "柘山镇", "辉渠镇", "吾山镇", "金冢子镇", "白芬子镇", "雹泉镇", "刘家尧镇", "贾戈街道")
VILLAGE_SUFFIX = ("村", "庄", "家庄", "社区", "屯", "官庄")
PREFIX = "山东省潍坊市安丘市"
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))


def _check_chars(first17: np.ndarray) -> np.ndarray:
    """GB 11643 check characters for an (n, 17) digit array."""
    out: np.ndarray = CHECK[(first17 * WEIGHTS).sum(axis=1) % 11]
    return out


def _homophones(chars: str, *, fuzzy: bool = False) -> dict[str, list[str]]:
    """Characters that sound the same (or, with `fuzzy`, alike under zh/z, n/l, -ng/-n confusions)."""
    def key(ch: str) -> str:
        s = lazy_pinyin(ch)[0]
        if fuzzy:
            for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s"), ("ang", "an"), ("eng", "en"), ("ing", "in"),
                         ("l", "n")):
                s = s.replace(a, b)
        return s

    by_sound: dict[str, list[str]] = {}
    pool = set(chars) | set("玮炜薇巍维唯卫蔚为丽力利莉立俐励静晶婧靖菁明铭鸣名茗敏珉闽芳方舫华桦骅金津今晋振镇珍"
                            "真胜圣晟升生声成诚城程陈晨臣宁凝林琳霖玲铃凌")
    for ch in sorted(pool):
        by_sound.setdefault(key(ch), []).append(ch)
    return {ch: [o for o in by_sound[key(ch)] if o != ch and (not fuzzy or lazy_pinyin(o) != lazy_pinyin(ch))]
            for ch in pool}


@dataclass(frozen=True)
class Noise:
    """Per-record probabilities of each kind of damage in a noisy copy."""

    id_blank: float = 0.10
    id_mistype: float = 0.10
    id_old15: float = 0.02  # first-generation 15-digit numbers: not noise once normalised
    name_homophone: float = 0.03
    name_typo: float = 0.01
    name_spacing: float = 0.01
    dob_typo: float = 0.02
    dob_missing: float = 0.03
    sex_missing: float = 0.03
    sex_flip: float = 0.003
    address_short: float = 0.30
    address_moved: float = 0.05
    address_relocated: float = 0.05  # the agency holds an old address in another village
    address_missing: float = 0.05

    @classmethod
    def clean_ids(cls) -> Noise:
        """The same name/date/address noise, with only 2% of IDs blanked or mistyped."""
        return cls(id_blank=0.01, id_mistype=0.01)


def population(n: int, seed: int = 1) -> pl.DataFrame:
    """`n` distinct persons in families: person_key, name, id_number, birth_date, sex, address."""
    rng = np.random.default_rng(seed)
    fam_size = rng.choice([1, 2, 3, 4, 5], size=n // 2 + 10, p=[0.15, 0.25, 0.3, 0.2, 0.1])
    fam_size = fam_size[: np.searchsorted(np.cumsum(fam_size), n) + 1]
    n_fam = len(fam_size)
    fam = np.repeat(np.arange(n_fam), fam_size)[:n]
    pos = np.concatenate([np.arange(s) for s in fam_size])[:n]  # 0 head, 1 spouse, 2+ children

    share = SURNAME_SHARE / SURNAME_SHARE.sum()
    fam_surname = rng.choice(len(SURNAMES), size=n_fam, p=share)
    spouse_surname = rng.choice(len(SURNAMES), size=n_fam, p=share)
    surname_idx = np.where(pos == 1, spouse_surname[fam], fam_surname[fam])

    head_sex_m = rng.random(n_fam) < 0.85
    sex_m = np.where(pos == 0, head_sex_m[fam], np.where(pos == 1, ~head_sex_m[fam], rng.random(n) < 0.51))

    head_birth = rng.integers(date(1935, 1, 1).toordinal(), date(1995, 12, 31).toordinal(), size=n_fam)
    child_gap = rng.integers(20 * 365, 40 * 365, size=n)
    birth = np.where(pos == 0, head_birth[fam],
                     np.where(pos == 1, head_birth[fam] + rng.integers(-5 * 365, 5 * 365, size=n),
                              head_birth[fam] + child_gap))
    twins = (pos == 3) & (rng.random(n) < 0.3)  # ~1% of persons: same birth date as the elder sibling
    birth = np.where(twins, np.roll(birth, 1), birth)
    latest = date(2024, 12, 31).toordinal()
    birth = np.where(birth > latest, latest - rng.integers(0, 20 * 365, size=n), birth)

    male = np.array(list(MALE_CHARS))
    female = np.array(list(FEMALE_CHARS))
    # Given-name characters are Zipf-skewed, so common full names (张伟, 王芳) recur as they do in real registers.
    pm = 1 / (np.arange(len(male)) + 4)
    pf = 1 / (np.arange(len(female)) + 4)
    g1 = np.where(sex_m, rng.choice(male, n, p=pm / pm.sum()), rng.choice(female, n, p=pf / pf.sum()))
    g2 = np.where(sex_m, rng.choice(male, n, p=pm / pm.sum()), rng.choice(female, n, p=pf / pf.sum()))
    one_char = rng.random(n) < 0.15
    surnames = np.array(list(SURNAMES))[surname_idx]
    names = np.char.add(np.char.add(surnames, g1), np.where(one_char, "", g2))

    town = rng.integers(0, len(TOWNS), n_fam)
    village_pre = np.array(list("东西南北前后上下大小新老"))[rng.integers(0, 12, n_fam)]
    village_head = np.array(list(SURNAMES))[rng.integers(0, 40, n_fam)]
    village_suffix = np.array(VILLAGE_SUFFIX)[rng.integers(0, len(VILLAGE_SUFFIX), n_fam)]
    house = rng.integers(1, 400, n_fam)
    village = np.char.add(np.char.add(village_pre, village_head), village_suffix)
    fam_addr = np.char.add(np.char.add(np.char.add(np.array(TOWNS)[town], village), house.astype(str)), "号")
    addr = np.char.add(PREFIX, fam_addr[fam])

    dates = pl.Series("d", birth, dtype=pl.Int64).map_elements(date.fromordinal, return_dtype=pl.Date)
    frame = pl.DataFrame({
        "person_key": np.arange(n), "name": names, "birth_date": dates,
        "sex": np.where(sex_m, "M", "F"), "address": addr,
    })
    frame = frame.with_columns(pl.col("birth_date").dt.strftime("%Y%m%d").alias("_ymd"))
    frame = _assign_ids(frame, rng)
    return frame.drop("_ymd")


def _assign_ids(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Unique valid ID numbers: county code, birth date, a sequence whose parity is the sex, check char."""
    n = frame.height
    # Rank within (birth date, sex) gives a collision-free sequence number; a random offset spreads them.
    frame = frame.with_columns(
        pl.int_range(pl.len()).shuffle(seed=int(rng.integers(1 << 30))).over(["_ymd", "sex"]).alias("_rank"),
    )
    rank = frame["_rank"].to_numpy()
    if rank.max(initial=0) >= 500:
        raise ValueError("too many persons share one birth date for three-digit sequence numbers")
    offset = rng.integers(0, 500, size=n)  # not per group, so shift only the first of each group's run
    base = int(offset[0]) if n else 0
    seq = ((rank + base) % 500) * 2 + np.where(frame["sex"].to_numpy() == "M", 1, 0)
    first17 = np.char.add(np.char.add("370784", frame["_ymd"].to_numpy().astype(str)),
                          np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer("".join(first17).encode(), dtype=np.uint8).reshape(n, 17) - ord("0")
    ids = np.char.add(first17, _check_chars(digits.astype(np.int64)))
    return frame.with_columns(pl.Series("id_number", ids)).drop("_rank")


def noisy_copy(persons: pl.DataFrame, noise: Noise, *, seed: int = 2, prefix: str = "R") -> pl.DataFrame:
    """Another agency's record of each person, damaged as `noise` says; keeps `person_key` as the truth."""
    rng = np.random.default_rng(seed)
    n = persons.height
    ids = persons["id_number"].to_numpy().astype("U18")
    u = rng.random(n)
    blank = u < noise.id_blank
    mistype = (u >= noise.id_blank) & (u < noise.id_blank + noise.id_mistype)
    ids[mistype] = _mistype(ids[mistype], rng)
    ids[blank] = ""
    old = (u >= noise.id_blank + noise.id_mistype) & (u < noise.id_blank + noise.id_mistype + noise.id_old15)
    old &= np.char.startswith(np.char.add(ids, " ").astype("U19"), "370784", 0) & (np.char.str_len(ids) == 18)
    old &= np.array([i[6:8] == "19" if len(i) == 18 else False for i in ids])
    ids[old] = np.char.add(np.char.add(np.array([i[:6] for i in ids[old]]), np.array([i[8:17] for i in ids[old]])),
                           "")

    names = persons["name"].to_numpy().astype("U8")
    homo = _homophones(MALE_CHARS + FEMALE_CHARS)
    near = _homophones(MALE_CHARS + FEMALE_CHARS, fuzzy=True)
    pick = rng.random(n)
    names = names.copy()
    for i in np.flatnonzero(pick < noise.name_homophone + noise.name_typo + noise.name_spacing):
        nm = names[i]
        j = int(rng.integers(1, len(nm))) if len(nm) > 1 else 0
        if pick[i] < noise.name_homophone:
            alts = (near if rng.random() < 0.3 else homo).get(nm[j], []) or homo.get(nm[j], [])
            if alts:
                names[i] = nm[:j] + alts[int(rng.integers(len(alts)))] + nm[j + 1:]
        elif pick[i] < noise.name_homophone + noise.name_typo:
            pool = MALE_CHARS + FEMALE_CHARS
            names[i] = nm[:j] + pool[int(rng.integers(len(pool)))] + nm[j + 1:]
        else:
            names[i] = nm[:1] + " " + nm[1:]

    births = persons["birth_date"]
    r = rng.random(n)
    typo_days = rng.choice([-10, -1, 1, 10, 30, 365, -365], size=n)
    dob = births.to_numpy().astype("datetime64[D]")
    dob = np.where(r < noise.dob_typo, dob + typo_days.astype("timedelta64[D]"), dob)
    dob_str = np.datetime_as_string(dob, unit="D")
    dob_str = np.where((r >= noise.dob_typo) & (r < noise.dob_typo + noise.dob_missing), "", dob_str)

    sex = persons["sex"].to_numpy().astype("U1")
    s = rng.random(n)
    sex = np.where(s < noise.sex_flip, np.where(sex == "M", "F", "M"), sex)
    sex = np.where((s >= noise.sex_flip) & (s < noise.sex_flip + noise.sex_missing), "", sex)

    addr = persons["address"].to_numpy().astype("U64")
    a = rng.random(n)
    short = np.char.replace(addr, PREFIX, "")
    moved = np.char.add(np.char.replace(addr, "号", ""), "附" + str(int(rng.integers(1, 9))) + "号")
    addr = np.where(a < noise.address_short, short, addr)
    addr = np.where((a >= noise.address_short) & (a < noise.address_short + noise.address_moved), moved, addr)
    relocated = (a >= noise.address_short + noise.address_moved) & (
        a < noise.address_short + noise.address_moved + noise.address_relocated)
    addr = np.where(relocated, np.roll(addr, 7919), addr)  # another family's address, far down the list
    addr = np.where(a >= 1 - noise.address_missing, "", addr)

    out = pl.DataFrame({
        "record_id": [f"{prefix}{i:08d}" for i in rng.permutation(n)],
        "person_key": persons["person_key"], "name": names, "id_number": ids,
        "birth_date": dob_str, "sex": sex, "address": addr,
    })
    return out.with_columns(pl.col(c).replace("", None) for c in ("id_number", "birth_date", "sex", "address"))


def _mistype(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One substituted digit, an adjacent transposition, or a dropped digit (never a still-valid number)."""
    out = ids.copy()
    kind = rng.random(len(ids))
    pos = rng.integers(0, 17, len(ids))
    for i, number in enumerate(ids):
        p = int(pos[i])
        if kind[i] < 0.7:
            d = str((int(number[p]) + int(rng.integers(1, 10))) % 10)
            out[i] = number[:p] + d + number[p + 1:]
        elif kind[i] < 0.9 and number[p] != number[p + 1]:
            out[i] = number[:p] + number[p + 1] + number[p] + number[p + 2:]
        else:
            out[i] = number[:p] + number[p + 1:]
    return out


def link_pair(n: int, *, overlap: float = 0.9, noise: Noise | None = None, seed: int = 7,
              left_noise: Noise | None = None) -> tuple[pl.DataFrame, pl.DataFrame, set[tuple[str, str]]]:
    """LEFT and RIGHT person lists of about `n` records each, sharing `overlap` of persons, and the true pairs."""
    total = int(n * (2 - overlap)) + 1
    people = population(total, seed=seed)
    n_only = int(n * (1 - overlap))
    left_p = people.slice(0, n)
    right_p = people.slice(n_only, n)
    left = (noisy_copy(left_p, left_noise, seed=seed + 1, prefix="L") if left_noise
            else left_p.with_columns(pl.col("birth_date").cast(pl.Utf8),
                                     pl.format("L{}", pl.col("person_key").cast(pl.Utf8).str.zfill(8))
                                     .alias("record_id")))
    right = noisy_copy(right_p, noise or Noise(), seed=seed + 2, prefix="R")
    truth_frame = left.select("record_id", "person_key").join(right.select("record_id", "person_key"),
                                                              on="person_key", suffix="_r")
    truth = set(zip(truth_frame["record_id"].to_list(), truth_frame["record_id_r"].to_list(), strict=True))
    cols = ["record_id", "name", "id_number", "birth_date", "sex", "address"]
    return left.select(cols), right.select(cols), truth


def namesake_pair(n: int, *, share: float = 0.15, no_id: float = 0.5, noise: Noise | None = None, seed: int = 61
                  ) -> tuple[pl.DataFrame, pl.DataFrame, set[tuple[str, str]]]:
    """A Chinese test set with namesakes: LEFT and RIGHT lists (as `link_pair`) in which `share` of the right
    list's persons have a namesake on the right too — another person (own family, own address, own valid
    ID number) with the same name, sex and birth date. Of the namesakes' records, `no_id` carry no number
    and the rest their own, different, checksum-valid one; the true pairs are those of `link_pair`.
    """
    left, right, truth = link_pair(n, noise=noise or Noise(), seed=seed)
    rng = np.random.default_rng(seed + 100)
    k = int(right.height * share)
    twins = right.sample(k, seed=seed + 101)
    # The namesake's own number: same county and birth date, another sequence (its parity keeps the sex).
    seq = rng.integers(0, 450, size=k) * 2 + 100
    born = twins["birth_date"].str.replace_all("-", "").fill_null("19700101")
    sex_odd = np.where(twins["sex"].fill_null("M").to_numpy() == "M", 1, 0)

    def number(sequence: np.ndarray) -> np.ndarray:
        first17 = np.char.add(np.char.add("370784", born.to_numpy().astype(str)),
                              np.char.zfill((sequence + sex_odd).astype(str), 3))
        digits = np.frombuffer("".join(first17).encode(), dtype=np.uint8).reshape(k, 17) - ord("0")
        out: np.ndarray = np.char.add(first17, _check_chars(digits.astype(np.int64)))
        return out

    ids = number(seq)
    ids = np.where(ids == twins["id_number"].fill_null("").to_numpy(), number(seq - 2), ids)  # never the twin's own
    ids = np.where(rng.random(k) < no_id, "", ids)
    far = right["address"].sample(k, seed=seed + 102, with_replacement=True)  # another family's home
    namesakes = twins.with_columns(
        pl.format("N{}", pl.int_range(pl.len()).cast(pl.Utf8).str.zfill(8)).alias("record_id"),
        pl.Series("id_number", ids).replace("", None),
        pl.Series("address", far.to_numpy()),
    )
    return left, pl.concat([right, namesakes]), truth
