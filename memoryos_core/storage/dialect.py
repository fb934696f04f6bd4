"""What differs between SQLite and PostgreSQL, in one place, so the store's SQL is written once.

The store writes plain SQL in one dialect-neutral form and a :class:`Dialect` turns it into what
the driver expects, at one cached step per statement text:

* **placeholders**: ``?`` in the source; PostgreSQL (psycopg) gets ``%s`` (and ``%`` doubled).
* **lists**: a list or tuple parameter is written ``IN (?)`` (or ``NOT IN (?)``); SQLite gets one
  ``?`` per item, PostgreSQL one array parameter (``= ANY(%s)``, ``<> ALL(%s)``), so its statement
  text never changes with the list's length and stays prepared.
* **row locks**: ``FOR UPDATE``, ``FOR NO KEY UPDATE`` and ``SKIP LOCKED`` are written where
  PostgreSQL needs them; SQLite drops the clause, as its writers hold the database lock from
  ``BEGIN IMMEDIATE`` on.
* **GREATEST(a, b)**: SQLite's two-argument ``MAX``.
* **transactions**: how a write and a read-only snapshot begin.
* **text**: PostgreSQL ``TEXT`` cannot hold NUL: pages with one are refused, derived text is
  stored without it. SQLite stores NUL.
* **schema**: the identity column, the byte type and a byte-order text collation of the ``.sql`` files.

What needs no translation: booleans (``TRUE``/``FALSE`` literals, ``= TRUE`` tests; SQLite keeps
them as 1/0), blobs (``bytes`` both ways), upserts (``ON CONFLICT ... DO NOTHING / DO UPDATE``
with ``excluded``), ``RETURNING``, and tombstones (a deleted user's scope row stays, renamed, on
both: SQLite would hand a deleted row id to the next new user).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Callable, Iterator, Literal, Protocol, Sequence, TypeVar

from ..errors import InvalidInputError

Row = tuple[Any, ...]
Statement = tuple[str, Sequence[Any]]

_LOCK_CLAUSE = re.compile(r"\s+FOR (?:NO KEY )?UPDATE(?: SKIP LOCKED)?")
_LIST_OPENER = "IN ("
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Dialect:
    name: Literal["sqlite", "postgresql"]
    begin_write: str
    begin_read: str
    identity_column: str
    blob_type: str
    bytewise_text: str
    _plain: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # statements without lists

    @property
    def postgres(self) -> bool:
        return self.name == "postgresql"

    def render(self, sql: str, params: Sequence[Any]) -> tuple[str, Sequence[Any] | None]:
        """The driver's statement and parameters for ``sql`` written with ``?`` and ``IN (?)``."""
        if not params:
            return _compile(self.name, sql, ()), None
        for p in params:
            if isinstance(p, (list, tuple)):
                break
        else:  # no list parameter: the common case, one dictionary look-up
            text = self._plain.get(sql)
            if text is None:
                text = self._plain[sql] = _compile(self.name, sql, (-1,) * len(params))
            return text, params
        shape = tuple(len(p) if isinstance(p, (list, tuple)) else -1 for p in params)
        text = _compile(self.name, sql, shape)
        if self.postgres:
            return text, [list(p) if isinstance(p, tuple) else p for p in params]
        flat: list[Any] = []
        for p in params:
            if isinstance(p, (list, tuple)):
                flat.extend(p)
            else:
                flat.append(p)
        return text, flat

    def schema(self, name: str = "schema.sql") -> list[str]:
        """The statements of a schema file next to this module, for this database: ``{id}`` is the
        identity column, ``{blob}`` the byte type, ``{bytewise}`` a text collation in byte order."""
        text = (_HERE / name).read_text()
        for token, value in (("{id}", self.identity_column), ("{blob}", self.blob_type),
                             ("{bytewise}", self.bytewise_text)):
            text = text.replace(token, value)
        return split_sql(text)

    def storable(self, *texts: str) -> None:
        """Refuse text this database cannot store (nothing is written)."""
        if self.postgres and any("\x00" in t for t in texts):
            raise InvalidInputError("text contains a NUL character (\\x00), which PostgreSQL cannot store; remove it")

    def clean(self, text: str | None) -> str | None:
        """Derived text (summaries, knowledge, history) as this database can store it."""
        return text.replace("\x00", "") if self.postgres and text and "\x00" in text else text


@lru_cache(maxsize=4096)
def _compile(dialect: str, sql: str, shape: tuple[int, ...]) -> str:
    """``sql`` for ``dialect`` given the parameters' shape (-1: a value; n: a list of n items)."""
    postgres = dialect == "postgresql"
    if not postgres:
        sql = _LOCK_CLAUSE.sub("", sql).replace("GREATEST(", "MAX(")
    if not shape:
        return sql
    parts = sql.split("?")
    if len(parts) != len(shape) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(shape)} parameters in: {sql}")
    if postgres:
        parts = [p.replace("%", "%%") for p in parts]
    out = [parts[0]]
    for n, after in zip(shape, parts[1:]):
        if n >= 0:
            if not (out[-1].endswith(_LIST_OPENER) and after.startswith(")")):
                raise ValueError(f"a list parameter must be written IN (?): {sql}")
            if postgres:  # x IN (list) is x = ANY(array); x NOT IN (list) is x <> ALL(array)
                negated = out[-1].endswith("NOT " + _LIST_OPENER)
                head = out[-1][: -len(("NOT " if negated else "") + _LIST_OPENER)]
                out[-1] = head + ("<> ALL(" if negated else "= ANY(")
                out.append("%s")
            else:
                out.append(",".join("?" * n))
        else:
            out.append("%s" if postgres else "?")
        out.append(after)
    return "".join(out)


def split_sql(script: str) -> list[str]:
    """Split a schema file into statements (``--`` comments removed; no semicolons inside statements)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


SQLITE = Dialect("sqlite", begin_write="BEGIN IMMEDIATE", begin_read="BEGIN", identity_column="INTEGER PRIMARY KEY",
                 blob_type="BLOB", bytewise_text="")  # SQLite's default collation (BINARY) is byte order
POSTGRES = Dialect("postgresql", begin_write="BEGIN", begin_read="BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                   identity_column="BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", blob_type="BYTEA",
                   bytewise_text='COLLATE "C"')


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses (``sqlite3`` and ``psycopg`` both have it)."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


class Tx:
    """Statements on one connection: inside a transaction (``Database.write`` / ``read``) or, for
    ``Database.once``, each its own."""

    def __init__(self, conn: Any, dialect: Dialect) -> None:
        self.conn, self.dialect = conn, dialect

    def _execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        text, values = self.dialect.render(sql, params)
        cursor: Cursor = self.conn.execute(text) if values is None else self.conn.execute(text, values)
        return cursor

    def one(self, sql: str, *params: Any) -> Row | None:
        row: Row | None = self._execute(sql, params).fetchone()  # both drivers return plain tuples
        return row

    def all(self, sql: str, *params: Any) -> list[Row]:
        rows: list[Row] = self._execute(sql, params).fetchall()
        return rows

    def value(self, sql: str, *params: Any) -> Any:
        """The first column of the first row (None without a row)."""
        row = self._execute(sql, params).fetchone()
        return None if row is None else row[0]

    def run(self, sql: str, *params: Any) -> int:
        """Execute; the number of rows it changed."""
        return self._execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement over many parameter rows (psycopg sends them as one pipeline)."""
        if not rows:
            return
        text, _ = self.dialect.render(sql, rows[0])
        cursor = self.conn.cursor()
        try:
            cursor.executemany(text, rows)
        finally:
            cursor.close()


T = TypeVar("T")


class TransactionalDatabase:
    """The part of a :class:`Database` both backends share: ``write`` and ``read`` are transactions
    begun as the dialect says, on a connection the backend provides (``_transaction``)."""

    dialect: Dialect

    def _transaction(self, begin: str) -> Iterator[Tx]:
        raise NotImplementedError

    @contextmanager
    def write(self) -> Iterator[Tx]:
        yield from self._transaction(self.dialect.begin_write)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        yield from self._transaction(self.dialect.begin_read)

    def write_batch(self, statements: Sequence[Statement], *, retry_safe: bool = False) -> list[list[Row]]:
        """Statements none of which needs another's result on the client (one may read what an earlier
        one wrote) as one write transaction; the rows each returns. ``retry_safe``: running the batch
        twice changes nothing more than running it once (a backend may then resend it)."""
        with self.write() as tx:
            return [tx.all(sql, *params) for sql, params in statements]


class Database(Protocol):
    """A backend's connections and transactions; the SQL is the store's (:mod:`.sql`)."""

    dialect: Dialect

    def write(self) -> AbstractContextManager[Tx]:
        """One write transaction: it commits when the block ends, rolls back if it raises."""
    def read(self) -> AbstractContextManager[Tx]:
        """One read-only transaction: every statement sees the same snapshot."""
    def write_batch(self, statements: Sequence[Statement], *, retry_safe: bool = False) -> list[list[Row]]:
        """Independent statements as one write transaction, their rows. PostgreSQL sends them and the
        ``COMMIT`` together (pipeline mode): a row lock the first one takes is held only while the
        server works, never across a round trip or a pause of the client; a ``retry_safe`` batch
        goes with its ``BEGIN``, in one round trip."""
    def once(self, work: Callable[[Tx], T]) -> T:
        """``work`` with each statement its own transaction: single-statement reads (retried on a
        fresh connection when the first one turns out dead)."""
    def close(self) -> None:
        """Close every connection; later calls raise StoreError."""


__all__ = ["POSTGRES", "SQLITE", "Database", "Dialect", "Row", "Statement", "TransactionalDatabase", "Tx", "split_sql"]
