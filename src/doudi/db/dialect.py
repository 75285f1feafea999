"""What differs between SQLite and PostgreSQL, in one place: bulk loading, value encoding and backups.

Everything else is written once against SQLAlchemy; code that needs a backend difference asks
`dialect_of(bind)` for one of the objects below instead of testing the backend's name (the shape of
Splink's database API). SQL is built from SQLAlchemy `Table` objects, and COPY from psycopg's
`sql.Identifier`, never from formatted strings.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    MetaData,
    Table,
    and_,
    bindparam,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import CompileError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, ReturningInsert, ReturningUpdate, Update

from doudi.core.errors import DoudiError
from doudi.db.types import is_json

Bind = Engine | Connection | Session
_stage_names = itertools.count(1)


@dataclass
class Staged:
    """Rows made ready for one table and backend, so a writing thread only has to send them."""

    table: Table
    rows: int
    columns: list[str] = field(default_factory=list)
    csv: list[bytes] = field(default_factory=list)  # PostgreSQL: COPY payloads
    # SQLite: (statement, parameters); the statement's placeholders follow the parameter frame's columns.
    batches: list[tuple[str, pl.DataFrame]] = field(default_factory=list)


@dataclass(frozen=True)
class Merge:
    """How staged rows meet existing ones: the keys to match, the columns to set, the version to bump."""

    keys: tuple[str, ...]
    set_columns: tuple[str, ...]
    version: str | None = None  # optimistic-locking column: bumped on every update
    only_changed: bool = False  # upsert: leave rows whose values are already the same untouched


class FrameDialect:
    """The backend seam: how a frame is encoded for the driver, loaded, merged and backed up."""

    name: ClassVar[str] = ""
    backup_suffix: ClassVar[str] = ""

    def encode(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame with values in the form the driver expects (JSON as text, enums as text, …)."""
        return frame.select(self._encode(pl.col(name), dtype) for name, dtype in frame.schema.items())

    def _encode(self, col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
        if isinstance(dtype, pl.Struct):
            return col.struct.json_encode()
        if isinstance(dtype, pl.List | pl.Array):
            wrapped = pl.struct(col.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")
            return pl.when(col.is_null()).then(None).otherwise(wrapped).alias(col.meta.output_name())
        if isinstance(dtype, pl.Categorical | pl.Enum):
            return col.cast(pl.String)
        return col

    def stage(self, table: Table, frame: pl.DataFrame, *, chunk_rows: int, group_by: Sequence[str] = ()) -> Staged:
        """Prepare an insert of the frame's rows (frame work only: safe in a background thread)."""
        raise NotImplementedError

    def send(self, conn: Connection, staged: Staged) -> int:
        """Write staged rows through the connection, inside its transaction; returns the row count."""
        raise NotImplementedError

    def insert(self, conn: Connection, table: Table, frame: pl.DataFrame, *, chunk_rows: int,
               group_by: Sequence[str] = ()) -> int:
        """Stage and send in one go (a backend may overlap the two); returns the row count."""
        return self.send(conn, self.stage(table, frame, chunk_rows=chunk_rows, group_by=group_by))

    def merge(self, conn: Connection, table: Table, frame: pl.DataFrame, how: Merge, *, upsert: bool,
              returning: Sequence[str], chunk_rows: int) -> tuple[int, list[tuple[Any, ...]]]:
        """Upsert (insert, or update on a key conflict) or update-by-key; (rows written, returned rows)."""
        raise NotImplementedError

    def insert_returning(self, conn: Connection, table: Table, frame: pl.DataFrame, returning: Sequence[str],
                         *, chunk_rows: int) -> list[tuple[Any, ...]]:
        """Insert and give back the named columns of every new row (ids, defaults)."""
        raise NotImplementedError

    def read(self, conn: Connection, stmt: Any, dtypes: Sequence[pl.DataType | None]) -> pl.DataFrame | None:
        """A select's rows read column-wise by the backend (keys as the driver would name them), or None when
        this backend or statement has no such path and rows are fetched through the driver instead."""
        return None

    def estimated_rows(self, conn: Connection, table: Table) -> int | None:
        """The table's row count as the database's statistics give it, without counting (None: not known)."""
        return None

    def backup(self, engine: Engine, target: Path) -> None:
        """Write a consistent copy of the database to `target`."""
        raise NotImplementedError

    def restore(self, engine: Engine, source: Path) -> None:
        """Replace the database's content with a copy written by `backup`."""
        raise NotImplementedError


class SQLiteDialect(FrameDialect):
    """Embedded SQLite: executemany through the driver, constant columns written into the statement."""

    name = "sqlite"
    backup_suffix = ".db"

    def _encode(self, col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
        # SQLAlchemy keeps dates and times on SQLite as ISO text and Numeric as REAL; so does this.
        if dtype == pl.Date:
            return col.dt.strftime("%Y-%m-%d")
        if isinstance(dtype, pl.Datetime):
            utc = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else col
            return utc.dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
        if isinstance(dtype, pl.Decimal):
            return col.cast(pl.Float64)
        return super()._encode(col, dtype)

    def stage(self, table: Table, frame: pl.DataFrame, *, chunk_rows: int, group_by: Sequence[str] = ()) -> Staged:
        """Group rows by `group_by`; within a group, a column with a single value goes into the statement.

        SQLite binds every parameter in Python, so each constant moved into the statement saves a bind
        per row (feed rows: ~1.6× the rows/s of binding every column)."""
        staged = Staged(table, frame.height, list(frame.columns))
        if frame.height == 0:
            return staged
        encoded = self.encode(frame)
        groups: Iterable[pl.DataFrame] = (
            encoded.partition_by(list(group_by), maintain_order=True) if group_by else [encoded])
        for part in groups:
            constant = {c: part[c][0] for c in part.columns if _inlinable(part[c])}
            if len(constant) == part.width:  # one bound column keeps the row count
                constant.pop(part.columns[0])
            varying = [c for c in part.columns if c not in constant]
            values = {c: _literal_sql(v) for c, v in constant.items()} | {c: _param(c) for c in varying}
            sql_text, order = _sqlite_text(table.insert().values(values))
            staged.batches.append((sql_text, part.select(order)))
        return staged

    def send(self, conn: Connection, staged: Staged) -> int:
        """executemany of each staged batch."""
        for sql_text, params in staged.batches:
            _executemany(conn, sql_text, params, 100_000)
        return staged.rows

    def merge(self, conn: Connection, table: Table, frame: pl.DataFrame, how: Merge, *, upsert: bool,
              returning: Sequence[str], chunk_rows: int) -> tuple[int, list[tuple[Any, ...]]]:
        """ON CONFLICT DO UPDATE, or UPDATE … WHERE key = ?, once per row."""
        if upsert:
            ins = sqlite.insert(table)
            stmt: Any = ins.values({c: _param(c) for c in frame.columns}).on_conflict_do_update(
                index_elements=list(how.keys), set_=_set_clause(table, how, ins.excluded),
                where=_changed_clause(table, how, ins.excluded))
        else:
            stmt = _update_by_key(table, how, {c: _param(c) for c in frame.columns})
        if returning:
            return _core_returning(conn, stmt.returning(*(table.c[c] for c in returning)), frame, chunk_rows)
        sql_text, order = _sqlite_text(stmt)
        return _executemany(conn, sql_text, self.encode(frame).select(order), chunk_rows), []

    def insert_returning(self, conn: Connection, table: Table, frame: pl.DataFrame, returning: Sequence[str],
                         *, chunk_rows: int) -> list[tuple[Any, ...]]:
        """SQLAlchemy's batched multi-row INSERT … RETURNING."""
        stmt = table.insert().values({c: _param(c) for c in frame.columns}).returning(
            *(table.c[c] for c in returning))
        return _core_returning(conn, stmt, frame, chunk_rows)[1]

    def backup(self, engine: Engine, target: Path) -> None:
        """SQLite's online backup API: consistent even while the server writes."""
        src = sqlite3.connect(str(engine.url.database))
        dst = sqlite3.connect(str(target))
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()

    def restore(self, engine: Engine, source: Path) -> None:
        """The online backup API the other way round: the copy's pages replace the database's."""
        engine.dispose()  # pooled connections would keep the old pages
        src = sqlite3.connect(str(source))
        dst = sqlite3.connect(str(engine.url.database))
        try:
            with dst:
                src.backup(dst)
        finally:
            src.close()
            dst.close()


class PostgresDialect(FrameDialect):
    """PostgreSQL: COPY … FROM STDIN (CSV) through psycopg 3; merges go through a staging table."""

    name = "postgresql"
    backup_suffix = ".dump"

    def _encode(self, col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
        if isinstance(dtype, pl.Datetime):
            return col.dt.strftime("%Y-%m-%d %H:%M:%S%.f%:z" if dtype.time_zone else "%Y-%m-%d %H:%M:%S%.f")
        return super()._encode(col, dtype)

    def stage(self, table: Table, frame: pl.DataFrame, *, chunk_rows: int, group_by: Sequence[str] = ()) -> Staged:
        """CSV payloads of at most `chunk_rows` rows (null is an unquoted empty field, '' a quoted one)."""
        staged = Staged(table, frame.height, list(frame.columns))
        if frame.height:
            staged.csv = list(self._csv(frame, chunk_rows))
        return staged

    def _csv(self, frame: pl.DataFrame, chunk_rows: int) -> Iterator[bytes]:
        encoded = self.encode(frame)
        for part in encoded.iter_slices(chunk_rows):
            yield part.write_csv(include_header=False, date_format="%Y-%m-%d").encode()

    def send(self, conn: Connection, staged: Staged) -> int:
        """COPY the staged payloads into the table."""
        if staged.csv:
            self._copy(conn, staged.table, staged.columns, staged.csv)
        return staged.rows

    def insert(self, conn: Connection, table: Table, frame: pl.DataFrame, *, chunk_rows: int,
               group_by: Sequence[str] = ()) -> int:
        """COPY the frame, encoding each chunk while the previous one is on its way (the driver's writer
        thread sends it), so the client's encoding overlaps the server's parsing."""
        if frame.height:
            self._copy(conn, table, list(frame.columns), self._csv(frame, chunk_rows))
        return frame.height

    def _copy(self, conn: Connection, table: Table, columns: list[str], blocks: Iterable[bytes]) -> None:
        # Imported here: psycopg (the PostgreSQL driver) is loaded only on PostgreSQL.
        from psycopg import sql
        from psycopg.copy import QueuedLibpqWriter

        target = sql.Identifier(*([table.schema] if table.schema else []), table.name)
        stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            target, sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        with (conn.connection.driver_connection.cursor() as cur,  # type: ignore[union-attr]
              cur.copy(stmt, writer=QueuedLibpqWriter(cur)) as copy):
            for block in blocks:
                copy.write(block)

    def read(self, conn: Connection, stmt: Any, dtypes: Sequence[pl.DataType | None]) -> pl.DataFrame | None:
        """COPY (SELECT …) TO STDOUT in CSV, parsed by Polars: no Python object per value. Values are bound as
        SQL literals by SQLAlchemy's compiler (COPY takes no parameters); a type it cannot render, or a column
        type not listed in _COPY_READABLE, leaves the read to the driver (None)."""
        if not dtypes or any(not _copy_readable(d) for d in dtypes):
            return None
        try:
            compiled = stmt.compile(dialect=_literal_dialect(conn), compile_kwargs={"literal_binds": True})
        except (CompileError, NotImplementedError, TypeError, ValueError):
            return None
        keys = [c.keyname for c in getattr(compiled, "_result_columns", [])]
        if len(keys) != len(dtypes) or len(set(keys)) != len(keys):
            return None
        # Imported here: psycopg (the PostgreSQL driver) is loaded only on PostgreSQL.
        from psycopg import sql

        query = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(sql.SQL(str(compiled)))
        buf = bytearray()
        with conn.connection.driver_connection.cursor() as cur, cur.copy(query) as copy:  # type: ignore[union-attr]
            for block in copy:
                buf += block
        names = [f"c{i}" for i in range(len(keys))]
        if not buf:
            return pl.DataFrame(schema={k: d for k, d in zip(keys, dtypes, strict=True)})
        raw = pl.read_csv(bytes(buf), has_header=False, schema=dict.fromkeys(names, pl.String()), quote_char='"')
        try:
            return raw.select(_from_copy_text(pl.col(n), d).alias(k)  # type: ignore[arg-type]
                              for n, k, d in zip(names, keys, dtypes, strict=True))
        except pl.exceptions.PolarsError:  # a value the text form cannot give exactly: the driver reads it
            return None

    def estimated_rows(self, conn: Connection, table: Table) -> int | None:
        """The planner's estimate or the live-row counter, whichever is larger (-1 and null: never analysed)."""
        n = conn.execute(text(
            "SELECT greatest(c.reltuples, coalesce(s.n_live_tup, 0))::bigint FROM pg_class c "
            "LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.oid = to_regclass(:name)"),
            {"name": table.name}).scalar()
        return int(n) if n is not None else None

    def _staging(self, conn: Connection, table: Table, frame: pl.DataFrame, chunk_rows: int) -> Table:
        """A temporary table shaped like the frame's columns of `table`, filled by COPY."""
        tmp = Table(f"_stage_{table.name}_{next(_stage_names)}", MetaData(),
                    *(Column(c, table.c[c].type) for c in frame.columns), prefixes=["TEMPORARY"],
                    postgresql_on_commit="DROP")
        tmp.create(conn)
        self.insert(conn, tmp, frame, chunk_rows=chunk_rows)
        # Statistics for the planner (a temporary table has none; autovacuum never sees it): unanalysed, it is
        # guessed at thousands of rows, and 4,052 staged warnings were joined to the 385,003 of the ledger by a
        # hash over all of them (227 ms) instead of one primary-key probe each (50 ms, plus 3.5 ms here).
        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.quote(tmp.name)}")
        return tmp

    def merge(self, conn: Connection, table: Table, frame: pl.DataFrame, how: Merge, *, upsert: bool,
              returning: Sequence[str], chunk_rows: int) -> tuple[int, list[tuple[Any, ...]]]:
        """INSERT … SELECT … ON CONFLICT DO UPDATE, or UPDATE … FROM, from a staging table."""
        tmp = self._staging(conn, table, frame, chunk_rows)
        try:
            if upsert:
                ins = postgresql.insert(table)
                stmt: Any = ins.from_select(list(frame.columns), select(*tmp.c)).on_conflict_do_update(
                    index_elements=list(how.keys), set_=_set_clause(table, how, ins.excluded),
                    where=_changed_clause(table, how, ins.excluded))
            else:
                stmt = _update_by_key(table, how, {c: tmp.c[c] for c in frame.columns})
            if returning:
                rows = [tuple(r) for r in conn.execute(stmt.returning(*(table.c[c] for c in returning)))]
                return len(rows), rows
            return conn.execute(stmt).rowcount, []
        finally:
            tmp.drop(conn)

    def insert_returning(self, conn: Connection, table: Table, frame: pl.DataFrame, returning: Sequence[str],
                         *, chunk_rows: int) -> list[tuple[Any, ...]]:
        """COPY into a staging table, then one INSERT … SELECT … RETURNING."""
        tmp = self._staging(conn, table, frame, chunk_rows)
        try:
            stmt = table.insert().from_select(list(frame.columns), select(*tmp.c)).returning(
                *(table.c[c] for c in returning))
            return [tuple(r) for r in conn.execute(stmt)]
        finally:
            tmp.drop(conn)

    def backup(self, engine: Engine, target: Path) -> None:
        """pg_dump in its custom format."""
        if shutil.which("pg_dump") is None:
            raise DoudiError("未找到 pg_dump，请安装 PostgreSQL 客户端")
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(["pg_dump", "--format=custom", f"--file={target}", url], check=True, capture_output=True)

    def restore(self, engine: Engine, source: Path) -> None:
        """pg_restore, dropping what the dump holds first, in one transaction."""
        if shutil.which("pg_restore") is None:
            raise DoudiError("未找到 pg_restore，请安装 PostgreSQL 客户端")
        engine.dispose()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                               f"--dbname={url}", str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            raise DoudiError(f"pg_restore 失败：{done.stderr.strip()[:500]}")


DIALECTS: dict[str, FrameDialect] = {d.name: d for d in (SQLiteDialect(), PostgresDialect())}


def dialect_of(bind: Bind) -> FrameDialect:
    """The frame dialect of an engine, connection or session."""
    name = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    if name not in DIALECTS:
        raise DoudiError(f"不支持的数据库：{name}")
    return DIALECTS[name]


_literal_dialects: dict[type[Any], Any] = {}


def _literal_dialect(conn: Connection) -> Any:
    """The connection's dialect class with a paramstyle that does not double '%' in rendered literals (the
    SQL goes to the server as is, not through the driver's parameter substitution)."""
    cls: Any = type(conn.dialect)
    if cls not in _literal_dialects:
        _literal_dialects[cls] = cls(paramstyle="named")
    return _literal_dialects[cls]


def _copy_readable(dtype: pl.DataType | None) -> bool:
    """Types whose PostgreSQL CSV text Polars parses exactly (dates in the ISO DateStyle, booleans as t/f)."""
    if dtype is None:
        return False
    return (dtype in (pl.String, pl.Date, pl.Boolean, pl.Float64, pl.Float32) or dtype.is_integer()
            or isinstance(dtype, pl.Decimal))


def _from_copy_text(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """One column of COPY's CSV text as its Polars type (null stays null, '' stays '')."""
    if dtype == pl.String:
        return col
    if dtype == pl.Date:
        return col.str.to_date("%Y-%m-%d")
    if dtype == pl.Boolean:
        return pl.when(col.is_null()).then(None).otherwise(col == "t")
    return col.cast(dtype)


def _param(column: str) -> Any:
    # Named apart from the column: SQLAlchemy reserves a column's own name for its VALUES/SET parameter.
    return bindparam(f"p_{column}")


def _inlinable(series: pl.Series) -> bool:
    """A column with one value of a plain type, which SQLAlchemy can render as a literal."""
    if series.n_unique() != 1:
        return False
    value = series[0]
    return value is None or isinstance(value, bool | int | float | str)


def _literal_sql(value: Any) -> ColumnElement[Any]:
    """A constant rendered by SQLAlchemy's literal compiler (quoting and escaping included)."""
    if value is None:
        return null()
    return literal_column(str(literal(value).compile(dialect=sqlite.dialect(),
                                                     compile_kwargs={"literal_binds": True})))


def _sqlite_text(stmt: Any) -> tuple[str, list[str]]:
    """The statement's SQLite text and the frame column behind each `?`, in order."""
    compiled = stmt.compile(dialect=sqlite.dialect())
    names = list(compiled.positiontup or [])
    if any(not p.startswith("p_") for p in names):  # a literal bound by SQLAlchemy would shift the columns
        raise ValueError(f"statement binds parameters not taken from the frame: {names}")
    return str(compiled), [p.removeprefix("p_") for p in names]


def _executemany(conn: Connection, text: str, params: pl.DataFrame, chunk_rows: int) -> int:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    done = 0
    try:
        for part in params.iter_slices(chunk_rows):
            # Column lists zipped into tuples: about twice as fast as iter_rows() for narrow frames.
            rows: Iterable[tuple[Any, ...]] = (zip(*(part.get_column(c).to_list() for c in part.columns), strict=True)
                                               if part.width else [()] * part.height)
            cursor.executemany(text, rows)
            done += max(cursor.rowcount, 0)
    finally:
        cursor.close()
    return done


def _core_returning(conn: Connection, stmt: ReturningInsert[Any] | ReturningUpdate[Any] | Any, frame: pl.DataFrame,
                    chunk_rows: int) -> tuple[int, list[tuple[Any, ...]]]:
    """Through SQLAlchemy (its types bind the values) for statements that return rows."""
    rows: list[tuple[Any, ...]] = []
    table: Any = stmt.table
    # JSON given as text is parsed here, or SQLAlchemy's JSON type would encode it a second time.
    text = {c for c in frame.columns if is_json(table.c[c].type) and frame.schema[c] == pl.String}
    for part in frame.iter_slices(chunk_rows):
        params = [{f"p_{k}": json.loads(v) if k in text and v is not None else v for k, v in r.items()}
                  for r in part.iter_rows(named=True)]
        if isinstance(stmt, Insert):
            rows.extend(tuple(r) for r in conn.execute(stmt, params))
        else:  # UPDATE … RETURNING is not batched by the driver: one statement per row
            for p in params:
                rows.extend(tuple(r) for r in conn.execute(stmt, p))
    return len(rows), rows


def _set_clause(table: Table, how: Merge, source: Any) -> dict[str, Any]:
    """SET targets: the chosen columns, the version bump, and columns kept by an ON UPDATE default."""
    out: dict[str, Any] = {c: source[c] for c in how.set_columns}
    if how.version:
        out[how.version] = table.c[how.version] + literal_column("1")
    for c in table.c:
        if c.onupdate is not None and c.name not in out and getattr(c.onupdate, "is_clause_element", False):
            out[c.name] = c.onupdate.arg  # type: ignore[attr-defined]
    return out


def _changed_clause(table: Table, how: Merge, source: Any) -> ColumnElement[bool] | None:
    if not how.only_changed or not how.set_columns:
        return None
    return or_(*(table.c[c].is_distinct_from(source[c]) for c in how.set_columns))


def _update_by_key(table: Table, how: Merge, source: dict[str, Any]) -> Update:
    """UPDATE … SET from `source` (bound parameters, or a staging table's columns) WHERE the keys match."""
    return update(table).values(_set_clause(table, how, source)).where(
        and_(*(table.c[k] == source[k] for k in how.keys)))
