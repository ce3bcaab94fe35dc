"""Reading the server's database from a test thread while the app writes on its own loop.

sqlite-utils wraps its reads in SAVEPOINTs; two threads doing that on one connection can
unwind each other's savepoints ("no such savepoint"). A plain ``conn.execute`` is one atomic
call under SQLite's serialized threading mode, so tests read through these helpers instead.
"""

from __future__ import annotations

from typing import Any

from server.store.db import Store


def rows(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """All rows of a query, read with one raw call."""
    return list(store.db.conn.execute(sql, params).fetchall())


def column(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """The first column of every row."""
    return [row[0] for row in rows(store, sql, params)]
