"""The single-node engine over a snapshot larger than memory: households in chunks, decisions to Parquet.

``doudi assess --snapshot DIR --out DIR`` runs it. Households are read a chunk at a time (with their members),
evaluated by :func:`evaluate_frames` and written out, so memory is bounded by the chunk, not by the registry.
Reading, evaluating and writing overlap: while the engine evaluates one chunk, a reader thread reads the next
and a writer thread writes the one before (Polars and Parquet release the GIL), so the second core is not
idle while the first waits for the disk. At most three chunks are in memory.

The snapshot should be sorted by ``household_id`` (``write_snapshot`` of a registry or the synthetic population
is), so that a chunk's members are one range of the members file and Parquet statistics skip the rest. The
outputs are staged inside ``out`` and put in place only when every chunk is written (:func:`publish`), so a
failed run leaves the previous output as it was.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from doudi.core.errors import DoudiError, FieldError, ValidationFailed
from doudi.policy.engine import evaluate_frames
from doudi.policy.frames import Frames, conform
from doudi.scale.layout import HOUSEHOLDS, MEMBERS, output_lock, outputs, parquet_glob, publish, write_part

# 250k households: with three chunks in memory (read, evaluated, written) a 10M-household run peaks at
# about 2.1 GiB; 500k took 39.1 s against 41.4 s, for 4.1 GiB instead of 2.4 (freed memory kept, both).
CHUNK = 250_000
T = TypeVar("T")


@dataclass
class ChunkedAssessment:
    """Households decided and skipped, persons counted, decision rows written, chunks, and pack versions."""

    out: Path
    households: int = 0
    persons: int = 0
    decisions: int = 0
    skipped: int = 0
    chunks: int = 0
    pack_versions: dict[str, str] = field(default_factory=dict)


def _own_members(hh: pl.DataFrame, mem: pl.DataFrame) -> pl.DataFrame:
    """The members whose household is in the chunk, in their order (members of ids the households file lacks
    are left out). Sorted ids are matched by binary search, which costs a fraction of a hash semi-join."""
    ids = hh["household_id"]
    if not ids.is_sorted() or ids.null_count() or mem["household_id"].null_count():
        return mem.join(hh.select("household_id"), on="household_id", how="semi")
    if not len(ids):
        return mem.clear()
    keys, wanted = ids.to_numpy(), mem["household_id"].to_numpy()
    found = keys[np.searchsorted(keys, wanted).clip(max=len(keys) - 1)] == wanted
    return mem if found.all() else mem.filter(pl.Series(found))


def members_of(hh: pl.DataFrame, members: pl.LazyFrame) -> pl.DataFrame:
    """The members of these households: read by their id range (Parquet statistics skip the row groups
    outside it), then matched exactly."""
    if not hh.height:
        return members.head(0).collect()
    ids = hh["household_id"]
    return _own_members(hh, members.filter(pl.col("household_id").is_between(ids.min(), ids.max())).collect())


def parquet_files(path: Path) -> list[Path]:
    """A Parquet file, or the Parquet part files under a directory in name order (hidden files skipped)."""
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*.parquet") if not p.name.startswith((".", "_"))) if path.is_dir() else []
    if not files:
        raise FileNotFoundError(f"快照缺少 {path.name}（Parquet 文件或目录）：{path}")
    return files


def household_chunks(path: Path, *, chunk: int, area: str = "") -> Iterator[pl.DataFrame]:
    """The households of a snapshot in runs of `chunk` rows, in file order, streamed from the Parquet files
    (only the households whose area code starts with `area`)."""
    held: list[pl.DataFrame] = []
    rows = 0
    for file in parquet_files(path):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk):
            df = pl.DataFrame(pl.from_arrow(batch))
            if area:
                df = df.filter(pl.col("area_code").str.starts_with(area))
            if not df.height:
                continue
            held.append(df)
            rows += df.height
            while rows >= chunk:
                whole = pl.concat(held, how="diagonal_relaxed")
                yield whole.slice(0, chunk)
                held, rows = [whole.slice(chunk)], whole.height - chunk
    if rows:
        yield pl.concat(held, how="diagonal_relaxed")


def frame_chunks(snapshot: Path, *, chunk: int, area: str = "") -> Iterator[Frames]:
    """Each chunk of households with its members (read by household id range, then matched exactly)."""
    for name in (HOUSEHOLDS, MEMBERS):  # each missing file named, households first
        parquet_files(snapshot / name)
    members = pl.scan_parquet(parquet_glob(snapshot / MEMBERS))
    for hh in household_chunks(snapshot / HOUSEHOLDS, chunk=chunk, area=area):
        yield Frames(hh, members_of(hh, members))


_END = object()


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items in order, each next one produced in a background thread while the caller works on this one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="doudi-read") as reader:
        pending = reader.submit(next, items, _END)
        while (item := pending.result()) is not _END:
            pending = reader.submit(next, items, _END)
            yield item  # type: ignore[misc]


def assess_chunked(snapshot: Path, *, on: date, out: Path, chunk: int = CHUNK, area: str = "") -> ChunkedAssessment:
    """Assess a snapshot chunk by chunk; put ``decisions/``, ``members/`` and ``skipped/`` under `out`."""
    if chunk < 1:
        raise ValidationFailed([FieldError(field="--chunk", message="每块户数必须为正整数")])
    staging = out / f"_staging-{uuid.uuid4().hex}"  # inside `out`: publishing is a rename
    result = ChunkedAssessment(out=out)
    written: Future[dict[str, int]] | None = None

    def write(frames: dict[str, pl.DataFrame], counts: dict[str, int], part: int) -> dict[str, int]:
        write_part(frames, staging, part, 0)
        return counts | {"decisions": frames["decisions"].height}

    def add(counts: dict[str, int]) -> None:
        result.households += counts["households"]
        result.skipped += counts["skipped"]
        result.persons += counts["counted"]
        result.decisions += counts["decisions"]

    try:
        with output_lock(out), ThreadPoolExecutor(max_workers=1, thread_name_prefix="doudi-write") as writer:
            for part, frames in enumerate(read_ahead(frame_chunks(snapshot, chunk=chunk, area=area))):
                d = evaluate_frames(conform(frames), on, skip_unconfigured=True, decisions_only=True)
                for region, pack in d.packs.items():
                    if result.pack_versions.setdefault(region, pack.version) != pack.version:
                        raise DoudiError(f"参数包 {region} 在测算中途变更，原结果目录未改动："
                                         f"{result.pack_versions[region]} → {pack.version}")
                if written is not None:
                    add(written.result())  # one chunk being written at a time: memory stays bounded
                # The long rows are built on the writer's thread too, while the next chunk is evaluated.
                written = writer.submit(lambda d, part: write(*outputs(d), part), d, part)
                result.chunks = part + 1
                del d, frames
            if written is not None:
                add(written.result())
            publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result
