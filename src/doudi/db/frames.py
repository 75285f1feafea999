"""The database-frame layer: every batch read into Polars and every batch write from Polars goes through here.

    read_frame(session, select(...))                         -> pl.DataFrame, types from the columns
    read_frame_in(session, stmt, Person.id_number, numbers)  -> the same, for a long list of keys
    write_frame(session, Person, frame)                      -> insert (COPY on PostgreSQL)
    write_frame(session, Person, frame, mode="upsert", conflict=["id_number"], returning=["id", "id_number"])
    write_frame(session, Person, frame, mode="update", match=["id"])   # version checked when given

Writes run inside the caller's transaction (the Session's own connection), so they commit or roll back
with everything else. Backend differences live in `doudi.db.dialect`. Types: Date, Datetime (UTC),
Decimal, Boolean and text map to their columns; JSON columns take a Struct or List column (encoded
here) or text that already holds JSON, and are read back as JSON text (`str.json_decode` to unpack).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
    TypeDecorator,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from doudi.db.dialect import Bind, FrameDialect, Merge, Staged, dialect_of
from doudi.db.types import is_json

Mode = Literal["insert", "upsert", "update"]
TableLike = Table | type[DeclarativeBase]
IN_CHUNK = 5000  # keys per IN list: both backends take it, and SQLite's parameter limit is far above
# Rows per COPY payload (and SQLite executemany batch): the server parses one while the client encodes the next;
# with 250,000 a county-wide run's 385,003 warnings kept it idle for the first chunk (insert wall 6.4–6.9 s against
# 5.9–6.1 s at 50,000, the same database CPU).
WRITE_CHUNK = 50_000


@dataclass(frozen=True)
class Written:
    """What a write did: rows inserted or updated, and the `returning` columns of those rows."""

    rows: int
    returned: pl.DataFrame


def polars_type(type_: Any) -> pl.DataType | None:
    """The Polars type a column of this SQLAlchemy type is read as (None: let Polars infer)."""
    if is_json(type_):
        return pl.String()
    if isinstance(type_, TypeDecorator):
        return polars_type(type_.impl)
    if isinstance(type_, Boolean):
        return pl.Boolean()
    if isinstance(type_, Integer):
        return pl.Int64()
    if isinstance(type_, Float):
        return pl.Float64()
    if isinstance(type_, Numeric):
        return pl.Decimal(type_.precision or 38, type_.scale or 0) if type_.asdecimal else pl.Float64()
    if isinstance(type_, DateTime):
        return pl.Datetime("us", "UTC" if type_.timezone else None)
    if isinstance(type_, Date):
        return pl.Date()
    if isinstance(type_, Time):
        return pl.Time()
    if isinstance(type_, String):
        return pl.String()
    if isinstance(type_, LargeBinary):
        return pl.Binary()
    return None


def _connection(bind: Session | Connection) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


def read_frame(bind: Session | Connection, stmt: Executable, *,
               schema: Mapping[str, Any] | None = None, chunk_rows: int = 100_000) -> pl.DataFrame:
    """The statement's rows as a frame, fetched in chunks.

    Without `schema`, columns take the selected names and the types of their SQLAlchemy columns. With it,
    `schema` gives the frame's name and Polars type of each selected column, in order."""
    conn = _connection(bind)
    selected = getattr(stmt, "selected_columns", None)
    if selected is not None and (schema is None or len(schema) == len(selected)):
        plain = [not (is_json(c.type) or isinstance(c.type, TypeDecorator)) for c in selected]
        wanted = [d if ok else None for d, ok in zip(
            list(schema.values()) if schema is not None else [polars_type(c.type) for c in selected], plain,
            strict=True)]
        frame = dialect_of(conn).read(conn, stmt, wanted)  # column-wise where the backend can (COPY on PostgreSQL)
        if frame is not None:
            return frame.rename(dict(zip(frame.columns, schema, strict=True))) if schema is not None else frame
    result = conn.execute(stmt)
    keys = list(result.keys())
    types = [getattr(c, "type", None) for c in selected] if selected is not None else []
    if len(types) != len(keys):  # e.g. a textual statement: Polars infers the types
        types = [None] * len(keys)
    if schema is not None and len(schema) != len(keys):
        raise ValueError(f"schema names {len(schema)} columns, the statement selects {len(keys)}")
    names = list(schema) if schema is not None else keys
    dtypes = list(schema.values()) if schema is not None else [polars_type(t) for t in types]
    json_at = {i for i, t in enumerate(types) if t is not None and is_json(t)}
    parts = []
    for rows in result.partitions(chunk_rows):
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(keys)
        series = []
        for i, (name, dtype, values) in enumerate(zip(names, dtypes, columns, strict=True)):
            if i in json_at:
                values = tuple(None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values)
            series.append(pl.Series(name, values, dtype=dtype))
        parts.append(pl.DataFrame(series))
    if not parts:
        return pl.DataFrame(schema={n: d or pl.Null() for n, d in zip(names, dtypes, strict=True)})
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def read_frame_in(bind: Session | Connection, stmt: Any, column: ColumnElement[Any] | QueryableAttribute[Any],
                  values: Sequence[Any], *,
                  schema: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """`read_frame` of the rows whose `column` is in `values`, asked in chunks of IN_CHUNK keys."""
    parts = [read_frame(bind, stmt.where(column.in_(list(values[i:i + IN_CHUNK]))), schema=schema)
             for i in range(0, len(values), IN_CHUNK)]
    if not parts:
        return read_frame(bind, stmt.where(column.in_([])), schema=schema)
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def _table(target: TableLike) -> tuple[Table, str | None]:
    """The Core table and, for a versioned ORM model, its optimistic-locking column."""
    if isinstance(target, Table):
        return target, None
    mapper = inspect(target)
    version = mapper.version_id_col.name if mapper.version_id_col is not None else None
    return mapper.local_table, version  # type: ignore[return-value]


def _with_defaults(table: Table, frame: pl.DataFrame, version: str | None) -> pl.DataFrame:
    """Add missing columns that have a Python-side default (as SQLAlchemy's own INSERT would)."""
    extra: list[pl.Expr] = []
    if version and version not in frame.columns:
        extra.append(pl.lit(1, pl.Int64).alias(version))
    for col in table.c:
        if col.name in frame.columns or col.name == version or col.default is None or col.primary_key:
            continue
        default: Any = col.default
        if default.is_scalar:
            value = default.arg
        elif default.is_callable:
            value = default.arg(None)  # SQLAlchemy wraps zero-argument callables to take a context
        else:
            continue  # a SQL expression default: leave the column to the database
        if is_json(col.type):
            value = json.dumps(value, ensure_ascii=False)
        extra.append(pl.lit(value, dtype=polars_type(col.type)).alias(col.name))
    return frame.with_columns(extra) if extra else frame


def _returned(table: Table, returning: Sequence[str], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    schema = {c: polars_type(table.c[c].type) or pl.Null() for c in returning}
    if is_json_any := [c for c in returning if is_json(table.c[c].type)]:
        pos = [returning.index(c) for c in is_json_any]
        rows = [tuple(json.dumps(v, ensure_ascii=False) if i in pos and v is not None else v
                      for i, v in enumerate(r)) for r in rows]
    return pl.DataFrame(rows, schema=schema, orient="row")


def write_frame(
    bind: Session | Connection,
    table: TableLike,
    frame: pl.DataFrame,
    *,
    mode: Mode = "insert",
    conflict: Sequence[str] = (),
    match: Sequence[str] = (),
    update: Sequence[str] | None = None,
    only_changed: bool = False,
    returning: Sequence[str] = (),
    group_by: Sequence[str] = (),
    chunk_rows: int = WRITE_CHUNK,
) -> Written:
    """Write the frame's rows to `table` (a Core table or an ORM model) in the caller's transaction.

    insert: append (COPY / executemany); missing columns take their Python-side defaults.
    upsert: insert, or on a `conflict` key clash set the `update` columns (default: all others);
            `only_changed` leaves rows whose values are already equal untouched (and uncounted).
    update: set the `update` columns of rows matching `match`; for a versioned model, a `version` column
            in the frame is matched too and bumped, so a row changed meanwhile is not overwritten
            (compare `rows` with the frame's height).
    returning: columns of the written rows to hand back (not in the frame's order: return a key).
    group_by: SQLite inserts only, a hint of low-cardinality columns (see SQLiteDialect.stage)."""
    core, version = _table(table)
    unknown = [c for c in frame.columns if c not in core.c]
    if unknown:
        raise ValueError(f"{core.name} has no column(s) {unknown}")
    empty = pl.DataFrame(schema={c: polars_type(core.c[c].type) or pl.Null() for c in returning})
    if frame.is_empty():
        return Written(0, empty)
    conn = _connection(bind)
    dialect = dialect_of(conn)
    if mode == "update":
        keys = tuple(match) + ((version,) if version and version in frame.columns and version not in match else ())
        sets = tuple(update if update is not None else [c for c in frame.columns if c not in keys])
        rows, out = dialect.merge(conn, core, frame,
                                  Merge(keys, sets, version), upsert=False, returning=returning,
                                  chunk_rows=chunk_rows)
        return Written(rows, _returned(core, returning, out) if returning else empty)
    frame = _with_defaults(core, frame, version)
    if mode == "upsert":
        if not conflict:
            raise ValueError("upsert needs the conflict key columns")
        fixed = {*conflict, version, *(c.name for c in core.primary_key)}
        sets = tuple(update if update is not None else [c for c in frame.columns if c not in fixed])
        rows, out = dialect.merge(conn, core, frame,
                                  Merge(tuple(conflict), sets, version, only_changed), upsert=True,
                                  returning=returning, chunk_rows=chunk_rows)
        return Written(rows, _returned(core, returning, out) if returning else empty)
    if returning:
        out = dialect.insert_returning(conn, core, frame, returning, chunk_rows=chunk_rows)
        return Written(len(out), _returned(core, returning, out))
    return Written(dialect.insert(conn, core, frame, chunk_rows=chunk_rows, group_by=group_by), empty)


def stage_frame(dialect: FrameDialect, table: TableLike, frame: pl.DataFrame, *, group_by: Sequence[str] = (),
                chunk_rows: int = WRITE_CHUNK) -> Staged:
    """The frame work of an insert, without the database: run it ahead in another thread, then `send_frame`."""
    core, version = _table(table)
    return dialect.stage(core, _with_defaults(core, frame, version), chunk_rows=chunk_rows, group_by=group_by)


def send_frame(bind: Session | Connection, staged: Staged) -> int:
    """Write rows staged by `stage_frame` in the caller's transaction; returns the row count."""
    conn = _connection(bind)
    return dialect_of(conn).send(conn, staged)


def estimated_rows(bind: Session | Connection, table: TableLike) -> int | None:
    """A table's size from the database's statistics, without counting it (None where the backend has none)."""
    conn = _connection(bind)
    return dialect_of(conn).estimated_rows(conn, _table(table)[0])


def frame_dialect(bind: Bind) -> FrameDialect:
    """The dialect object of a session, connection or engine (for staging ahead, or backups)."""
    return dialect_of(bind)
