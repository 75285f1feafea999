"""Column types shared by every domain."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, Text, TypeDecorator
from sqlalchemy.engine import Dialect


class JSONText(TypeDecorator[Any]):
    """JSON kept as plain text on every backend (cheap to bulk-load, parsed by whoever reads it)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Serialise on the way in."""
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        """Parse on the way out."""
        return None if value is None else json.loads(value)


# BIGINT on PostgreSQL (tables of millions of rows); SQLite needs INTEGER for its rowid primary key.
BigId = BigInteger().with_variant(Integer, "sqlite")


def is_json(type_: Any) -> bool:
    """True for a column type that stores JSON (native JSON, or JSON as text)."""
    return isinstance(type_, JSON | JSONText)
