"""A comparison run (动态比对): every rule over the scope's registry, enrollments and feed batches not yet
compared, written to the warning ledger in the caller's transaction (all or nothing).

Idempotent: one open warning per rule and subject (the database's unique `open_key`); new evidence for an open
warning is attached to it; a warning closed with no action stays closed for the same evidence (fingerprint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.areas.codes import ancestors, within
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import in_subtree
from doudi.core import clock
from doudi.core.errors import Conflict, PermissionDenied
from doudi.db.frames import estimated_rows, read_frame, read_frame_in, write_frame
from doudi.db.versions import is_unique_violation
from doudi.ingest.models import IngestBatch
from doudi.monitoring.models import (
    ComparedBatch,
    Disposition,
    MonitorRun,
    MonitorWarning,
    WarningSide,
    WarningStatus,
)
from doudi.monitoring.read import FEED_COLUMNS, new_batches, read_inputs, read_touched
from doudi.monitoring.rules.base import HIT_SCHEMA, Inputs, prepare
from doudi.monitoring.rules.conditions import RULES
from doudi.policy.calendar import calendar_for
from doudi.policy.params import load_pack
from doudi.verification import hooks

RULE_PREFIX = "monitoring.rules."
Progress = Callable[[str, int, int], None]  # (rule key, done, total)
Phase = Callable[[str], None]  # called as each step of a run begins (read, prepare, rules, group, diff, insert, …)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the pack defines it on a date."""

    key: str
    label: str
    level: str
    workdays: int
    subject: str
    discovery: bool
    dispositions: tuple[str, ...]
    feeds: tuple[str, ...]
    ref: str
    provisional: bool


@dataclass
class RunResult:
    """What a run found: per rule, subjects found, warnings raised and warnings new evidence was attached to."""

    run_id: int | None
    on: date
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)

    @property
    def new(self) -> int:
        """Warnings raised by this run."""
        return sum(c["new"] for c in self.counts.values())


def rule_specs(area: str, on: date) -> dict[str, RuleSpec]:
    """Every rule in force for the area's pack on `on`, in the pack's order."""
    pack = load_pack(area or "000000")
    values = pack.at(on)
    out: dict[str, RuleSpec] = {}
    for key in values:
        if not key.startswith(RULE_PREFIX) or key[len(RULE_PREFIX):] not in RULES:
            continue
        v = values[key]
        param = pack.param(key)
        out[key[len(RULE_PREFIX):]] = RuleSpec(
            key=key[len(RULE_PREFIX):], label=str(v["label"]), level=str(v["level"]), workdays=int(v["workdays"]),
            subject=str(v.get("subject", "person")), discovery=bool(v.get("discovery", False)),
            dispositions=tuple(v.get("dispositions", ["no_action"])), feeds=tuple(v.get("feeds", [])),
            ref=param.ref, provisional=param.provisional)
    return out


def evaluate(inp: Inputs, specs: Mapping[str, RuleSpec], params: Mapping[str, Any], on: date,
             progress: Progress | None = None) -> pl.DataFrame:
    """Every rule's hits, tagged with the rule and its subject key (pure: frames in, frame out)."""
    prepare(inp, on)
    parts = [pl.DataFrame(schema={"rule_key": pl.String(), "subject_key": pl.String(), **HIT_SCHEMA})]
    for i, (key, spec) in enumerate(specs.items()):
        found = RULES[key](inp, params, on)
        person = pl.when(pl.col("person_id").is_not_null()).then(pl.format("p{}", "person_id")).otherwise(
            pl.format("i{}", pl.coalesce(pl.col("id_number"), pl.col("name"), pl.lit("?"))))
        subject = (pl.when(pl.col("household_id").is_not_null()).then(pl.format("h{}", "household_id"))
                   .otherwise(person)) if spec.subject == "household" else person
        parts.append(found.select(pl.lit(key).alias("rule_key"), subject.alias("subject_key"), *HIT_SCHEMA))
        if progress:
            progress(key, i + 1, len(specs))
    return pl.concat(parts, how="vertical")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fingerprints(grouped: pl.DataFrame) -> pl.Series:
    """What each grouped warning found (rule, subject, compared values), hashed: a dismissal holds for it."""
    text = grouped.select(pl.concat_str("rule_key", "subject_key", pl.col("details").list.join("|"),
                                        separator="#")).to_series()
    return pl.Series("fingerprint", [_digest(t) for t in text.to_list()], dtype=pl.String)


def group_hits(found: pl.DataFrame, *, fingerprint: bool = True) -> pl.DataFrame:
    """One row per rule and subject: its reason, compared values, feed evidence and (unless asked not to, for a
    run that hashes only the warnings it may raise) fingerprint."""
    if found.height == 0:
        out = found.with_columns(evidence=pl.lit(None, pl.List(pl.String)),
                                 details=pl.lit(None, pl.List(pl.String)), open_key=pl.lit(None, pl.String))
        return out.with_columns(fingerprint=pl.lit(None, pl.String)) if fingerprint else out
    ev = pl.when(pl.col("batch_id").is_not_null()).then(
        pl.concat_str(pl.lit('{"batch_id": '), pl.col("batch_id").cast(pl.String), pl.lit(', "row_number": '),
                      pl.col("row_number").cast(pl.String), pl.lit(', "source": "'), pl.col("source_key"),
                      pl.lit('"}')))
    # Evidence and compared values are sorted inside each group, so the result (and its fingerprint) does not
    # depend on row order, without sorting the whole hit frame.
    g = (found.with_columns(ev=ev, order=pl.col("batch_id").fill_null(-1) * (1 << 32) + pl.col("row_number")
                            .fill_null(0))
         .group_by("rule_key", "subject_key")
         .agg(pl.col("person_id").drop_nulls().first(), pl.col("household_id").drop_nulls().first(),
              pl.col("id_number").drop_nulls().first(), pl.col("name").drop_nulls().first(),
              pl.col("area_code").drop_nulls().first(), pl.col("reason").sort_by("order").first(),
              details=pl.col("detail").unique().sort(), evidence=pl.col("ev").sort_by("order").drop_nulls())
         .sort("rule_key", "subject_key")
         .with_columns(open_key=pl.concat_str("rule_key", "subject_key", separator=":")))
    return g.with_columns(fingerprints(g)) if fingerprint else g


SIDE_SCHEMA: dict[str, pl.DataType] = {"open_key": pl.String(), "household_id": pl.Int64(), "person_id": pl.Int64(),
                                       "area_code": pl.String(), "reason": pl.String()}


def _common_area(codes: list[str]) -> str:
    """The nearest area enclosing every one of these codes (a city for two of its counties)."""
    for candidate in ancestors(codes[0]):
        if all(within(c, candidate) for c in codes):
            return candidate
    return ""


def above_counties(grouped: pl.DataFrame, found: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A 重复 whose households lie in two or more counties becomes one warning of the area above them (the city,
    for a run at that level), without either household; each county's side is kept apart, so each county sees
    only its own household. Returns the grouped warnings and the sides (open_key, household, person, area, reason)."""
    dup = found.filter((pl.col("rule_key") == "duplicate") & pl.col("household_id").is_not_null()
                       & (pl.col("area_code").fill_null("").str.len_chars() >= 6))
    if dup.height == 0:
        return grouped, pl.DataFrame(schema=SIDE_SCHEMA)
    sides = (dup.select("subject_key", "household_id", "person_id", "area_code", "name").unique(
        ["subject_key", "household_id"], keep="first")
        .with_columns(county=pl.col("area_code").str.slice(0, 6))
        .filter(pl.col("county").n_unique().over("subject_key") > 1))
    if sides.height == 0:
        return grouped, pl.DataFrame(schema=SIDE_SCHEMA)
    # Few subjects span counties: the enclosing area is found per subject in Python.
    per = sides.group_by("subject_key").agg(counties=pl.col("county").unique().sort())
    above = pl.DataFrame({"subject_key": per["subject_key"],
                          "above": [_common_area(c) for c in per["counties"].to_list()],
                          "counties": per["counties"].list.join("、")})
    key = pl.concat_str(pl.lit("duplicate:"), "subject_key")
    fixed = (grouped.join(above, on="subject_key", how="left")
             .with_columns(hit=(pl.col("rule_key") == "duplicate") & pl.col("above").is_not_null()))
    fixed = fixed.with_columns(
        area_code=pl.when("hit").then("above").otherwise("area_code"),
        household_id=pl.when("hit").then(None).otherwise("household_id"),
        reason=pl.when("hit").then(pl.format("{} 同时在 {} 个县（区）的在保家庭中登记（跨县重复救助），由上级统筹核实，"
                                             "各县（区）核实本辖区一侧", "name",
                                             pl.col("counties").str.split("、").list.len()))
        .otherwise("reason"),
        details=pl.when("hit").then(pl.concat_list(pl.format("counties={}", "counties"))).otherwise("details"),
    ).drop("above", "counties", "hit")
    out = sides.select(open_key=key, household_id="household_id", person_id="person_id", area_code="area_code",
                       reason=pl.format("{} 在本辖区家庭 {} 在保，同时在其他县（区）的在保家庭中登记（跨县重复）",
                                        pl.col("name").fill_null(""), "household_id"))
    return fixed.select(grouped.columns), out


def write_sides(session: Session, sides: pl.DataFrame) -> None:
    """Each county's side of the warnings above the counties, for the open warning of its subject (once)."""
    if sides.height == 0:
        return
    ids = read_frame_in(session, select(MonitorWarning.id, MonitorWarning.open_key),
                        MonitorWarning.__table__.c.open_key, sides["open_key"].unique().to_list(),
                        schema={"warning_id": pl.Int64(), "open_key": pl.String()})
    held = read_frame_in(session, select(WarningSide.warning_id, WarningSide.household_id),
                         WarningSide.__table__.c.warning_id, ids["warning_id"].to_list(),
                         schema={"warning_id": pl.Int64(), "household_id": pl.Int64()})
    rows = (sides.join(ids, on="open_key").join(held, on=["warning_id", "household_id"], how="anti")
            .select("warning_id", "area_code", "household_id", "person_id", "reason"))
    write_frame(session, WarningSide, rows)


def _scope(actor: Actor, area: str) -> str:
    if not area:
        return "" if actor.system else actor.area_code
    if not actor.sees(area):
        raise PermissionDenied(f"{actor.username} 无权在区划 {area} 运行监测比对")
    return area


def _silent(step: str) -> None:
    return None


def run(session: Session, *, actor: Actor, on: date, area: str = "", progress: Progress | None = None,
        inputs: Inputs | None = None, incremental: bool = False, phase: Phase = _silent) -> RunResult:
    """Compare everything in scope on `on` and write the ledger (the caller commits; nothing is written on error).

    `incremental` (the run after a feed ingest): only the rules that read feeds, over the new batches' rows and
    the households they touch; the registry rules (ages, reviews, 重复, 遗漏 …) wait for the daily run.
    `phase` is told as each step begins (a benchmark's timer)."""
    actor.require("monitoring.run")
    phase("read")
    area = _scope(actor, area)
    specs = rule_specs(area, on)
    if incremental:
        specs = {k: s for k, s in specs.items() if s.feeds}
    pack = load_pack(area or "000000")
    batches = new_batches(session, area=area)
    if inputs is None:
        inputs = read_touched(session, on=on, area=area, batches=batches) if incremental else read_inputs(
            session, on=on, area=area, batches=batches)
    elif incremental:
        inputs = inputs.touched()
    phase("prepare")
    prepare(inputs, on)
    phase("rules")
    found = evaluate(inputs, specs, pack.at(on), on, progress)
    phase("group")
    grouped, sides = above_counties(group_hits(found, fingerprint=False), found)
    run_row = MonitorRun(run_on=on, area_code=area, pack_version=pack.version, actor=actor.username)
    session.add(run_row)
    session.flush()
    mine = [b.id for b in batches if in_subtree(b.area_code or "", area)]
    counts = {k: {"found": 0, "new": 0, "attached": 0} for k in specs}
    try:
        write_grouped(session, grouped, specs, pack.version, run_row.id, on, area, counts, phase=phase)
        phase("sides")
        write_sides(session, sides)
        write_frame(session, ComparedBatch, pl.DataFrame({"batch_id": mine, "run_id": [run_row.id] * len(mine)},
                                                         schema={"batch_id": pl.Int64, "run_id": pl.Int64}))
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict("另一次监测比对正在写入同一预警，请稍后重试") from None
        raise
    run_row.batches = mine
    run_row.counts = dict(counts)
    run_row.finished_at = datetime.now(UTC)
    audit.record(session, actor=actor, action="monitoring.run", object_type="monitoring_run", object_id=run_row.id,
                 area_code=area or None, extra={"on": on.isoformat(), "batches": mine, "incremental": incremental,
                                                "new": sum(c["new"] for c in counts.values())})
    return RunResult(run_id=run_row.id, on=on, counts=counts, batches=mine)


BY_KEYS = 50_000  # up to this many subjects, open warnings are looked up by key; above, see _by_keys
# Looking a subject up by key costs about as much as reading four ledger rows (measured on PostgreSQL, 3.87M
# warnings: 115,000 keys in 4.2 s read whole, in 0.6 s by key).
KEY_COST_ROWS = 4
EVIDENCE = pl.List(pl.Struct({"batch_id": pl.Int64(), "row_number": pl.Int64(), "source": pl.String()}))


def _open_warnings(session: Session, grouped: pl.DataFrame) -> pl.DataFrame:
    """The open warnings of the grouped subjects: id, open_key, version and stored evidence (`old`, as text: a JSON
    column would go through the driver's decoder row by row); by key or in one query (_by_keys)."""
    stmt = select(MonitorWarning.id, MonitorWarning.open_key, MonitorWarning.version,
                  cast(MonitorWarning.evidence, Text))
    schema = {"id": pl.Int64(), "open_key": pl.String(), "version": pl.Int64(), "old": pl.String()}
    if _by_keys(session, grouped.height):
        return read_frame_in(session, stmt, MonitorWarning.__table__.c.open_key, grouped["open_key"].to_list(),
                             schema=schema)
    rules = grouped["rule_key"].unique().to_list()
    every = read_frame(session, stmt.where(MonitorWarning.open_key.is_not(None),
                                           MonitorWarning.rule_key.in_(rules)), schema=schema)
    return every.join(grouped.select("open_key"), on="open_key", how="semi")


def _by_keys(session: Session, subjects: int) -> bool:
    """Whether to look these subjects' open warnings up by key rather than read the rules' open warnings whole:
    for a few, and for more when the ledger is far larger than they are (an incremental run against a
    province's ledger), so that the cost follows the subjects, not the ledger."""
    if subjects <= BY_KEYS:
        return True
    ledger = estimated_rows(session, MonitorWarning)
    return ledger is not None and subjects * KEY_COST_ROWS < ledger


def _dismissed(session: Session, fresh: pl.DataFrame) -> pl.DataFrame:
    """Fingerprints of warnings closed with no action among those about to be raised (looked up by key for a
    few, else the rules' dismissals read in one query: never hundreds of long IN lists)."""
    stmt = select(MonitorWarning.fingerprint).where(MonitorWarning.status == WarningStatus.CLOSED,
                                                    MonitorWarning.disposition == Disposition.NO_ACTION)
    schema = {"fingerprint": pl.String()}
    if fresh.height <= BY_KEYS:
        return read_frame_in(session, stmt, MonitorWarning.__table__.c.fingerprint, fresh["fingerprint"].to_list(),
                             schema=schema)
    every = read_frame(session, stmt.where(MonitorWarning.rule_key.in_(fresh["rule_key"].unique().to_list())),
                       schema=schema)
    return every.join(fresh.select("fingerprint"), on="fingerprint", how="semi")


def write_grouped(session: Session, grouped: pl.DataFrame, specs: Mapping[str, RuleSpec], version: str, run_id: int,
                  on: date, area: str, counts: dict[str, dict[str, int]], *, phase: Phase = _silent) -> None:
    """The diff against the ledger, in frames: new subjects are inserted (COPY on PostgreSQL) unless dismissed
    for the same evidence; new evidence for an open warning is attached to it. A warning that gains nothing is
    not written, so a run over what the ledger already holds writes nothing but its run row."""
    for key, n in grouped.group_by("rule_key").len().iter_rows():
        counts[key]["found"] = n
    if grouped.height == 0:
        return
    phase("diff")
    open_ = _open_warnings(session, grouped)
    fresh = grouped.join(open_.select("open_key"), on="open_key", how="anti")
    fresh = fresh.with_columns(fingerprints(fresh))
    dismissed = _dismissed(session, fresh)
    if dismissed.height:
        fresh = fresh.join(dismissed.unique(), on="fingerprint", how="anti")
    phase("insert")
    _insert(session, fresh, specs, version, run_id, on, area)
    for key, n in fresh.group_by("rule_key").len().iter_rows():
        counts[key]["new"] = n
    phase("attach")
    more = grouped.filter(pl.col("evidence").list.len() > 0).join(open_, on="open_key")
    if more.height:
        gained = _attach(session, more, on)
        for key, n in gained.group_by("rule_key").len().iter_rows():
            counts[key]["attached"] = n


def _attach(session: Session, more: pl.DataFrame, on: date) -> pl.DataFrame:
    """New feed evidence for a warning already open is appended to its evidence (rows it already holds are not
    repeated), instead of raising another warning; version-checked, so a warning changed meanwhile fails the
    run rather than losing evidence. Only warnings that gain a row are written (their `last_seen_on` moves);
    returns those (rule_key)."""
    # Cheap first: an item whose exact text the stored evidence (JSON kept as written) already holds is held, so
    # a run over evidence the ledger has decodes nothing; the rest is compared by batch and row below.
    unseen = (more.select("id", "old", pl.col("evidence").alias("item")).explode("item")
              .filter(~pl.col("old").fill_null("").str.contains(pl.col("item"), literal=True)))
    more = more.join(unseen.select("id").unique(), on="id", how="semi")
    if more.height == 0:
        return more.select("rule_key")
    stored = more.select("id", "old")
    held = (stored.select("id", pl.col("old").str.json_decode(EVIDENCE).alias("e")).explode("e")
            .filter(pl.col("e").is_not_null())
            .select("id", pl.col("e").struct.field("batch_id"), pl.col("e").struct.field("row_number")))
    new = (more.select("id", pl.col("evidence").alias("item")).explode("item")
           .with_columns(pl.col("item").str.json_decode(EVIDENCE.inner).alias("e"))
           .with_columns(pl.col("e").struct.field("batch_id"), pl.col("e").struct.field("row_number"))
           .join(held, on=["id", "batch_id", "row_number"], how="anti")
           .group_by("id", maintain_order=True).agg(items=pl.col("item").str.join(", ")))
    old = pl.col("old").fill_null("[]").str.strip_chars()
    # Inner join: a warning whose evidence already holds every row stays as it is (nothing to write).
    gained = more.select("id", "version", "reason", "rule_key", "old").join(new, on="id")
    rows = gained.select("id", "version", "reason", last_seen_on=pl.lit(on),
                         evidence=pl.when(old == "[]").then(pl.concat_str(pl.lit("["), pl.col("items"), pl.lit("]")))
                         .otherwise(pl.concat_str(old.str.strip_suffix("]"), pl.lit(", "), pl.col("items"),
                                                  pl.lit("]"))))
    done = write_frame(session, MonitorWarning, rows, mode="update", match=["id"])
    if done.rows != rows.height:
        raise Conflict("比对期间有预警被他人修改，请重新运行比对")
    return gained.select("rule_key")


def _insert(session: Session, fresh: pl.DataFrame, specs: Mapping[str, RuleSpec], version: str, run_id: int,
            on: date, area: str) -> None:
    if fresh.height == 0:
        return
    cal = calendar_for(area[:6] if area else None)
    due = {k: cal.add_workdays(on, s.workdays) for k, s in specs.items()}
    meta = pl.DataFrame({"rule_key": list(specs), "level": [s.level for s in specs.values()],
                         "discovery": [s.discovery for s in specs.values()], "due_on": [due[k] for k in specs]})
    out = fresh.join(meta, on="rule_key").select(
        "rule_key", "level", "discovery", "subject_key", "open_key", "person_id", "household_id",
        pl.col("area_code").fill_null(""), pl.col("name").fill_null("").alias("person_name"),
        pl.col("id_number").fill_null(""), "reason", "fingerprint", "due_on",
        values=pl.concat_str(pl.lit('{"compared": ['), pl.col("details").list.eval(
            pl.lit('"') + pl.element().str.replace_all('"', "'") + pl.lit('"')).list.join(", "), pl.lit("]}")),
        evidence=pl.concat_str(pl.lit("["), pl.col("evidence").list.join(", "), pl.lit("]")),
        status=pl.lit(WarningStatus.NEW.value), pack_version=pl.lit(version), first_seen_on=pl.lit(on),
        last_seen_on=pl.lit(on), run_id=pl.lit(run_id, pl.Int64))
    write_frame(session, MonitorWarning, out)


def after_ingest(session: Session, actor: Actor, batch: IngestBatch) -> None:
    """The comparison triggered by a feed ingest: the new rows and the households they touch, as of today, in the
    ingesting user's area (attributed to them; the registry rules wait for the daily run)."""
    if batch.source_key in FEED_COLUMNS:
        run(session, actor=actor, on=clock.today(), incremental=True)


hooks.after_ingest("monitoring", after_ingest)
