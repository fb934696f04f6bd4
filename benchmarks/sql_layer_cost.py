"""What a SQL layer costs per statement on SQLite: the driver alone, the store's dialect step, and
SQLAlchemy Core (the alternative weighed in docs/architecture.md, "Why plain SQL and a dialect object").

    .venv/bin/python benchmarks/sql_layer_cost.py [--statements 20000]

Two statements the store runs all the time, on a 10,000-row table in a temporary file: a one-row
look-up and a read of 7 rows by id (``IN`` list). SQLAlchemy is installed with the LlamaIndex extra;
without it its rows are skipped.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from memoryos_core.storage.dialect import SQLITE, Tx

IDS = [5, 17, 99, 1000, 4242, 9000, 77]


def per_statement(run: Callable[[], Any], n: int) -> float:
    run()
    start = time.perf_counter()
    for _ in range(n):
        run()
    return (time.perf_counter() - start) / n * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=20_000)
    n = parser.parse_args(argv).statements
    path = Path(tempfile.mkdtemp(prefix="memoryos-sqlcost-")) / "cost.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE pages (rid INTEGER PRIMARY KEY, scope_id INTEGER, seq INTEGER, text TEXT)")
    conn.executemany("INSERT INTO pages (scope_id, seq, text) VALUES (?, ?, ?)",
                     [(1, i, f"text {i}") for i in range(10_000)])
    tx = Tx(conn, SQLITE)
    marks = ",".join("?" * len(IDS))
    rows: list[tuple[str, float, float]] = [
        ("sqlite3 alone", per_statement(lambda: conn.execute("SELECT seq FROM pages WHERE rid = ?", (42,)).fetchone(), n),
         per_statement(lambda: conn.execute(f"SELECT rid, seq, text FROM pages WHERE scope_id = ? AND rid IN ({marks})",
                                            (1, *IDS)).fetchall(), n)),
        ("sqlite3 + Dialect.render (this store)",
         per_statement(lambda: tx.value("SELECT seq FROM pages WHERE rid = ?", 42), n),
         per_statement(lambda: tx.all("SELECT rid, seq, text FROM pages WHERE scope_id = ? AND rid IN (?)", 1, IDS), n)),
    ]
    try:
        import sqlalchemy as sa
    except ImportError:
        print("(SQLAlchemy is not installed: its rows are skipped)")
    else:
        sconn = sa.create_engine(f"sqlite:///{path}").connect()
        one = sa.text("SELECT seq FROM pages WHERE rid = :rid")
        many = sa.text("SELECT rid, seq, text FROM pages WHERE scope_id = :s AND rid IN :ids").bindparams(
            sa.bindparam("ids", expanding=True))
        rows.append(("SQLAlchemy Core text()", per_statement(lambda: sconn.execute(one, {"rid": 42}).scalar(), n),
                     per_statement(lambda: sconn.execute(many, {"s": 1, "ids": IDS}).fetchall(), n)))
        table = sa.Table("pages", sa.MetaData(), sa.Column("rid", sa.Integer, primary_key=True),
                         sa.Column("scope_id", sa.Integer), sa.Column("seq", sa.Integer), sa.Column("text", sa.Text))
        one_expr = sa.select(table.c.seq).where(table.c.rid == sa.bindparam("rid"))
        many_expr = sa.select(table.c.rid, table.c.seq, table.c.text).where(
            table.c.scope_id == sa.bindparam("s"), table.c.rid.in_(sa.bindparam("ids", expanding=True)))
        rows.append(("SQLAlchemy Core select()", per_statement(lambda: sconn.execute(one_expr, {"rid": 42}).scalar(), n),
                     per_statement(lambda: sconn.execute(many_expr, {"s": 1, "ids": IDS}).fetchall(), n)))
        sconn.close()
    conn.close()
    print(f"| layer | one-row look-up | {len(IDS)} rows by id |")
    print("|---|---|---|")
    for name, one_us, many_us in rows:
        print(f"| {name} | {one_us:.1f} µs | {many_us:.1f} µs |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
