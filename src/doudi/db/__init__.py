"""Database engine, sessions and the declarative base."""

from doudi.db.base import Base
from doudi.db.engine import get_engine, make_engine, session_scope, sessionmaker_for

__all__ = ["Base", "get_engine", "make_engine", "session_scope", "sessionmaker_for"]
