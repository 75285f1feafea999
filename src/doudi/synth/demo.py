"""`doudi demo`: a working installation on a synthetic 安丘 county, prepared idempotently.

First run on an empty database: migrate, synthesise the county into <data_dir>/demo/, load areas,
households and declared facts in one transaction, create the demo accounts. Later runs find households
already there and only make sure every demo account exists.
"""

from __future__ import annotations

import csv
import importlib
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.areas.service import AreaRow, parse_division_file, upsert_areas
from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import role_labels, system_actor
from doudi.bootstrap import init_database
from doudi.caseload.importer import import_enrollments
from doudi.cases.demo import seed_demo_cases
from doudi.charity.demo import ensure_partners
from doudi.config import Settings
from doudi.core import clock
from doudi.db.engine import session_scope
from doudi.registry.facts_import import import_facts
from doudi.registry.importer import import_households
from doudi.registry.models import Household
from doudi.synth.areas import build_region_areas
from doudi.synth.demo_accounts import DEMO_REGION, DemoAccount, demo_accounts
from doudi.synth.generate import SynthConfig, generate
from doudi.synth.params import region_params
from doudi.verification.flows import ingest_and_link

FACT_FILES = (
    ("income", "income.parquet"),
    ("assets", "assets.parquet"),
    ("expenses", "expenses.parquet"),
    ("living", "living.parquet"),
)


@dataclass
class DemoResult:
    """What the demo set-up did and how long it took."""

    accounts: list[DemoAccount]
    created_accounts: list[str] = field(default_factory=list)
    loaded: bool = False  # True when this run synthesised and loaded the county
    households: int = 0
    cases: int = 0
    seconds: float = 0.0
    area_names: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    url: str = ""


def _load_county(engine: Engine, out: Path, households: int, seed: int, console: Console) -> None:
    generate(SynthConfig(region=DEMO_REGION, households=households, seed=seed), out, console=console)
    actor = system_actor(name="演示数据")
    with session_scope(engine) as session:  # one transaction: a crash leaves no half-loaded county
        upsert_areas(session, rows=parse_division_file(out / "areas.csv"))
        session.flush()
        result = import_households(session, actor=actor, path=out / "households.csv")
        if result.rows_rejected:
            raise RuntimeError(f"合成的家庭档案有 {result.rows_rejected} 行未通过校验：{result.rejects.head(5)}")
        # The same imports a county runs (`doudi import facts`, `doudi import enrollments`): no demo-only path.
        for kind, name in FACT_FILES:
            facts = import_facts(session, actor=actor, kind=kind, path=out / name)
            if facts.rows_rejected:
                raise RuntimeError(f"合成的{kind}文件有 {facts.rows_rejected} 行未通过校验：{facts.rejects.head(5)}")
        if not _has_rows(out / "enrollments.csv"):
            return
        recipients = import_enrollments(session, actor=actor, path=out / "enrollments.csv")
        if recipients.rows_rejected:
            raise RuntimeError(f"合成的存量对象台账有 {recipients.rows_rejected} 行未通过校验："
                               f"{recipients.rejects.head(5)}")


def _has_rows(path: Path) -> bool:
    """Whether a synthetic CSV has a data row under its header."""
    with path.open(encoding="utf-8") as fh:
        return bool(fh.readline() and fh.readline().strip())


def _load_feeds(engine: Engine, feeds: Path, console: Console) -> int:
    """Ingest every synthetic agency feed and link its people, so verification has real answers to show."""
    actor = system_actor(name="演示数据")
    loaded = 0
    for path in sorted(feeds.glob("*.csv")):
        with path.open(encoding="utf-8") as fh:
            has_rows = fh.readline() and fh.readline()  # a small county may have no rows for some agency
        if path.stem == "noise" or not has_rows:
            continue
        with session_scope(engine) as session:  # one batch per feed, each all or nothing
            ingest_and_link(session, actor=actor, source_key=path.stem, path=path, area_code=DEMO_REGION)
        loaded += 1
    console.print(f"已导入 {loaded} 个部门数据源")
    return loaded


def _ensure_demo_areas(session: Session, codes: set[str]) -> None:
    """Add the synthetic areas the demo accounts sit in when missing (never renames an existing area)."""
    present = set(session.scalars(select(Area.code).where(Area.code.in_(sorted(codes)))))
    if codes <= present:
        return
    synthetic = build_region_areas(region_params(DEMO_REGION)).areas
    rows = [AreaRow(r["code"], r["name"], True, "synthetic") for r in synthetic.iter_rows(named=True)
            if r["code"] in codes - present]
    upsert_areas(session, rows=rows)


def ensure_accounts(engine: Engine, accounts: list[DemoAccount]) -> list[str]:
    """Create the demo accounts that do not exist yet; returns the usernames created."""
    created = []
    with session_scope(engine) as session:
        _ensure_demo_areas(session, {a.area_code for a in accounts})
        existing = set(session.scalars(select(User.username).where(User.username.in_([a.username for a in accounts]))))
        ensure_partners(session)  # partner accounts are checked against the partner register
        for a in accounts:
            if a.username in existing:
                continue
            auth.create_user(
                session,
                actor=system_actor(name="演示数据"),
                username=a.username,
                password=a.password,
                roles=[a.role],
                area_code=a.area_code,
                full_name=a.full_name,
                org=a.org,
            )
            created.append(a.username)
    return created


# Each module exposes `seed(session, *, today, township)`, filling its domain for the demo county (warnings,
# payment rolls, care visits); domains append theirs. They run after the demo cases, in this order.
DOMAIN_DEMOS: list[str] = [
    "doudi.monitoring.demo",
    "doudi.payments.demo",  # recipients with accounts, a reconciled roll and rolls to approve
    "doudi.care.demo",  # providers, assessed persons, verified and flagged visits, a settled month
    "doudi.charity.demo",  # partners, consents and needs at every status
]


def run_demo(
    *,
    settings: Settings,
    engine: Engine,
    households: int = 3000,
    seed: int = 20201201,
    progress: Console | None = None,
    started: float | None = None,
) -> DemoResult:
    """Prepare the demo installation (idempotent) and return the accounts and timing (since `started`)."""
    started = started if started is not None else time.perf_counter()
    console = progress or Console(stderr=True)
    init_database(engine)
    with session_scope(engine) as session:
        present = session.scalar(select(func.count()).select_from(Household)) or 0
    result = DemoResult(
        accounts=demo_accounts(DEMO_REGION),
        data_dir=settings.data_dir / "demo",
        url=f"http://{settings.host}:{settings.port}",
    )
    if present == 0:
        assert result.data_dir is not None
        _load_county(engine, result.data_dir, households, seed, console)
        result.loaded = True
    result.created_accounts = ensure_accounts(engine, result.accounts)
    if result.loaded:

        assert result.data_dir is not None
        _load_feeds(engine, result.data_dir / "feeds", console)
        township = next(a.area_code for a in result.accounts if a.username == "caseworker")
        with session_scope(engine) as session:
            result.cases = seed_demo_cases(session, township=township)
        for name in DOMAIN_DEMOS:
            with session_scope(engine) as session:
                importlib.import_module(name).seed(session, today=clock.today(), township=township)
    with session_scope(engine) as session:
        result.households = session.scalar(select(func.count()).select_from(Household)) or 0
        codes = {a.area_code for a in result.accounts}
        rows = session.execute(select(Area.code, Area.name).where(Area.code.in_(codes))).all()
        result.area_names = dict(rows)
    result.seconds = round(time.perf_counter() - started, 2)
    return result


def demo_area_names() -> dict[str, str]:
    """Names of the demo region's areas, known before anything is loaded (the synthetic areas are fixed)."""
    seed = files("doudi.areas.data").joinpath("seed_areas.csv").read_text(encoding="utf-8")
    names = {row["code"]: row["name"] for row in csv.DictReader(seed.splitlines())}
    synthetic = build_region_areas(region_params(DEMO_REGION)).areas
    names.update({r["code"]: r["name"] for r in synthetic.iter_rows(named=True)})
    return names


def account_lines(accounts: list[DemoAccount], names: dict[str, str]) -> list[str]:
    """The demo accounts (username / password / role / area), printed before anything else."""
    labels = role_labels()
    lines = ["演示账户（用户名 / 密码 / 角色 / 区划）："]
    for a in accounts:
        area = f"{a.area_code} {names.get(a.area_code, '')}".strip()
        lines.append(f"  {a.username:<11} {a.password}  {a.role:<21} {labels.get(a.role, a.role)}  {area}")
    return lines


def summary_lines(result: DemoResult) -> list[str]:
    """The start-up time and the address, printed once the installation is ready."""
    lines = []
    what = "新建并载入合成县" if result.loaded else "数据已存在，未重新载入"
    lines.append(f"启动用时 {result.seconds:.1f} 秒（{what}；{result.households} 户）")
    lines.append(f"控制台地址：{result.url}")
    return lines
