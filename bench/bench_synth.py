"""Synthetic county generation: the vectorised generator against a row-by-row Faker reference.

The reference is what a straightforward generator does: one Faker call per person for the name, one
`build_id_number` call per person, `random` draws per attribute and a csv writer per row. It runs on a
small sample in the same process and is extrapolated per household.

Figures (N = DOUDI_BENCH_HOUSEHOLDS, default 1,000,000):
- like for like: the vectorised registry stage (households, members with consistent ages, names, unique
  IDs, the same seven columns written as CSV) on N households, against the reference per household;
- names alone: Faker per row against the vectorised sampler;
- the whole county (`doudi synth`: registry, declared facts, 13 agency feeds with noise, ground truth) on
  N households, in absolute terms.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from doudi.core.ids import build_id_number
from doudi.synth import population
from doudi.synth.areas import build_region_areas
from doudi.synth.generate import SynthConfig, generate
from doudi.synth.names import sample_names
from doudi.synth.params import reference_date, region_params

REFERENCE_HOUSEHOLDS = 2_000


def _reference(households: int, out: Path) -> tuple[float, int]:
    """Row-by-row generation of the registry file only (names, IDs, a few attributes)."""
    from faker import Faker

    fake = Faker("zh_CN")
    Faker.seed(1)
    rnd = random.Random(1)
    started = time.perf_counter()
    persons = 0
    with (out / "reference.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["household_no", "relation", "name", "id_number", "sex", "birth_date", "disability"])
        for h in range(households):
            size = rnd.choices([1, 2, 3, 4, 5, 6, 7], weights=[254, 297, 210, 132, 65, 26, 16])[0]
            for k in range(size):
                sex = rnd.choice("MF")
                born = date(2026, 10, 31) - timedelta(days=rnd.randint(0, 90 * 365))
                name = fake.name_male() if sex == "M" else fake.name_female()
                number = build_id_number("370784", born, rnd.randint(0, 999), sex)
                writer.writerow(
                    [
                        f"H{h:08d}",
                        "head" if k == 0 else "member",
                        name,
                        number,
                        sex,
                        born.isoformat(),
                        rnd.random() < 0.0634,
                    ]
                )
                persons += 1
    return time.perf_counter() - started, persons


def _vectorised_registry(households: int, out: Path) -> tuple[float, int]:
    """The vectorised equivalent of the reference: same columns, whole arrays at a time."""
    started = time.perf_counter()
    params = region_params("370784")
    ref = reference_date()
    hh = population.build_households(params, build_region_areas(params), households, np.random.default_rng(1))
    persons = population.explode_members(params, hh, ref, np.random.default_rng(2))
    persons = persons.with_columns(pl.col("birth_date").cast(pl.Date))
    persons = population.add_identity(persons, hh, np.random.default_rng(3), np.random.default_rng(4))
    disabled = np.random.default_rng(5).random(persons.height) < 0.0634
    persons.select(
        household_no=pl.col("hh"),
        relation="relation",
        name="name",
        id_number="id_number",
        sex="sex",
        birth_date="birth_date",
        disability=pl.Series(disabled),
    ).write_csv(out / "vectorised.csv")
    return time.perf_counter() - started, persons.height


def run() -> dict[str, object]:
    """Time both generators; the ratio is reference seconds per household over vectorised seconds per household."""
    n = int(os.environ.get("DOUDI_BENCH_HOUSEHOLDS", "1000000"))
    work = Path(tempfile.mkdtemp(prefix="doudi-bench-"))
    try:
        ref_seconds, ref_persons = _reference(REFERENCE_HOUSEHOLDS, work)
        reg_seconds, reg_persons = _vectorised_registry(n, work)
        started = time.perf_counter()
        manifest = generate(SynthConfig(households=n, seed=1), work / "county", show_progress=False)
        vec_seconds = time.perf_counter() - started

        faker_names = 20_000
        from faker import Faker

        fake = Faker("zh_CN")
        t = time.perf_counter()
        for _ in range(faker_names):
            fake.name()
        faker_s = time.perf_counter() - t
        t = time.perf_counter()
        sample_names(np.random.default_rng(1), np.array(["M", "F"] * (faker_names * 50)))
        vec_names_s = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ref_per_hh = ref_seconds / REFERENCE_HOUSEHOLDS
    reg_per_hh = reg_seconds / n
    result: dict[str, object] = {
        "households": n,
        "reference_households": REFERENCE_HOUSEHOLDS,
        "reference_seconds": round(ref_seconds, 3),
        "reference_persons": ref_persons,
        "registry_stage_seconds": round(reg_seconds, 2),
        "registry_stage_persons": reg_persons,
        "reference_extrapolated_seconds": round(ref_per_hh * n, 1),
        "ratio_registry_reference_over_vectorised": round(ref_per_hh / reg_per_hh, 1),
        "names_faker_per_second": round(faker_names / faker_s),
        "names_vectorised_per_second": round(faker_names * 100 / vec_names_s),
        "ratio_names": round((faker_s / faker_names) / (vec_names_s / (faker_names * 100)), 1),
        "full_county_seconds": round(vec_seconds, 2),
        "full_county_persons": manifest["persons"],
        "full_county_households_per_second": round(n / vec_seconds),
    }
    print(
        f"synth: registry stage {n:,} households in {reg_seconds:.1f} s vs row-by-row reference "
        f"≈ {ref_per_hh * n:.0f} s (×{result['ratio_registry_reference_over_vectorised']}); "
        f"names ×{result['ratio_names']}; whole county (all files) {vec_seconds:.1f} s"
    )
    return result
