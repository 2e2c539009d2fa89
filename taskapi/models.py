"""Column types and connection settings shared by the models."""

import sys
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Boolean, DateTime, Enum, event
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator


def utcnow():
    return datetime.now(UTC)


def rowcount(result):
    """How many rows an UPDATE or DELETE matched. Its result is a CursorResult, which SQLAlchemy 2.1 types
    as a plain Result when a session runs it (Result has no rowcount)."""
    return cast(CursorResult[Any], result).rowcount


def contains_pattern(text):
    """A LIKE pattern matching `text` anywhere, its own % and _ taken literally (with escape="\\")."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def enum_column(cls, name):
    """A str enum stored as VARCHAR plus a CHECK constraint.

    The same on SQLite and PostgreSQL, and adding a value later is a constraint
    change, not an ALTER TYPE.
    """
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=20,
                values_callable=lambda members: [m.value for m in members])


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite enforces foreign keys (and so ON DELETE CASCADE) only when asked, per connection."""
    # sqlite3 is imported when an engine on SQLite is made (its dialect's import_dbapi): a worker on
    # PostgreSQL never loads it (tests/test_memory.py).
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer in development
        cursor.close()


class InSelect(ColumnElement[bool]):
    """`column IN (select)`, written `column = ANY(ARRAY(select))` on PostgreSQL.

    PostgreSQL then runs the select once, before the statement (an InitPlan), and plans a one-table
    statement as one table: a join or semi-join costs every statement a plan of two tables (the
    membership door's reads measured ~0.1–0.3 ms more on PostgreSQL per query). SQLite takes IN as is.
    """

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("select", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, select):
        self.column = column
        self.select = select.scalar_subquery()


@compiles(InSelect)
def _in_select(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.select, **kw)}"


@compiles(InSelect, "postgresql")
def _any_array(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY{compiler.process(element.select, **kw)})"
