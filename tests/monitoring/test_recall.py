"""Planted events in a synthetic county: every deterministic rule finds every planted case (recall 1.0), and
namesake decoys are not flagged as duplicates."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from doudi.monitoring.rules.base import Inputs
from doudi.monitoring.run import evaluate, group_hits, rule_specs
from doudi.policy.params import load_pack
from testkit.monitoring_county import county, feed
from testkit.monitoring_events import DETERMINISTIC, plant

ON = date(2026, 11, 16)


def test_planted_events_all_found() -> None:
    """A county of 3 000 people (1 000 households, about 300 enrolled) with a 15 000-row weighted feed; 3 of each
    of the 9 deterministic kinds planted. Truth rows: 3 × (8 kinds with one subject + duplicate_blank_id with two
    subjects, the copy and the original) = 30 expected warnings, plus 3 namesake decoys that must not be flagged.
    Every expected (rule, subject) is among the warnings."""
    rng = np.random.default_rng(5)
    members, enrollments, recipients = county(3000, rng)
    sources = feed(3000, 15_000, recipients, rng, "weighted", 1, 0)
    p = plant(members, enrollments, sources, on=ON, per_kind=3)
    truth = p.events
    assert truth.filter(~pl.col("decoy")).height == 3 * (8 + 2) and truth.filter(pl.col("decoy")).height == 3
    standards = pl.DataFrame({"county": ["370784"], "urban": [719.0], "rural": [537.0], "financial_months": [24.0]})
    inp = Inputs(members=p.members, enrollments=p.enrollments, sources=p.sources, standards=standards).conformed()
    specs = {k: s for k, s in rule_specs("370784", ON).items() if k in set(DETERMINISTIC.values())}
    found = group_hits(evaluate(inp, specs, load_pack("370784").at(ON), ON), fingerprint=False)
    got = set(zip(found["rule_key"].to_list(), found["subject_key"].to_list(), strict=True))
    expected = truth.filter(~pl.col("decoy"))
    missed = [(r, s) for r, s in zip(expected["rule"], expected["subject_key"], strict=True) if (r, s) not in got]
    assert missed == []
    decoys = truth.filter(pl.col("decoy"))["subject_key"].to_list()
    assert [s for s in decoys if ("duplicate", s) in got] == []
