"""The declarative base, column types and column aliases shared by every table.

Only dialect-neutral types: the same models run on SQLite (the default, one file in the
node home) and on PostgreSQL. Timestamps are always timezone-aware UTC in Python, whatever
the database stores (:class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Double, Integer, LargeBinary, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.types import TypeDecorator

#: Constraint names are spelt out so that migrations can refer to them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC ``datetime`` on every dialect.

    Binding a naive ``datetime`` is refused (a naive time is a bug waiting for a daylight
    saving change); an aware one in another zone is converted to UTC. PostgreSQL stores a
    ``timestamptz``; SQLite, which has no time type, the naive UTC value as ISO text, which
    sorts correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the store: use an aware UTC time")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: A surrogate key assigned by the database. SQLite only auto-increments a column declared
#: exactly ``INTEGER PRIMARY KEY``, hence the variant.
AUTO_ID = BigInteger().with_variant(Integer(), "sqlite")

IntPk = Annotated[int, mapped_column(AUTO_ID, primary_key=True, autoincrement=True)]
#: Human-chosen identifiers: node, camera, hotlist, agreement ids.
Ident = Annotated[str, mapped_column(String(128))]
Name = Annotated[str, mapped_column(String(200))]
#: Short codes from a closed set of values (status, role, data class, agency kind).
Code = Annotated[str, mapped_column(String(32))]
#: A SHA-256 digest or other 32-byte value; its length is checked by the table.
Bytes32 = Annotated[bytes, mapped_column(LargeBinary(32))]
#: Positions and sizes in a ledger: up to 2^63 - 1.
Index64 = Annotated[int, mapped_column(BigInteger)]
Timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime())]


class Base(DeclarativeBase):
    """Base of every table of the node's database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - read by SQLAlchemy at class creation
        dt.datetime: UTCDateTime(),
        bytes: LargeBinary(),
        str: String(),
        int: Integer(),
        float: Double(),
    }
