"""The server database's connection: opened private, migrated, and written in batches (shell).

The base of :class:`server.store.db.Store`: it opens the file, and holds the transactions that
the row mixins (alerts, timeline, deliveries, device events and edges) write in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlite_utils

from server.store.migrations import migrate
from server.store.pushes import PushQueue

_LOGGER = logging.getLogger(__name__)


def make_private(path: Path) -> None:
    """Create the database file 0600 (its folder 0700), or tighten one others can read.

    The database holds sessions, identities and perhaps the action-link key: nobody but the
    server's user may read it. SQLite gives its -wal and -shm files the main file's mode.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = each.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            _LOGGER.warning("%s was readable by others (%s); made 0600", each, stat.filemode(mode))
            each.chmod(0o600)


class BatchLost(Exception):
    """A message's failure undid the whole open batch; none of its messages may be acked."""


class _Database(sqlite_utils.Database):
    """sqlite-utils' database with reads that open no transaction of their own.

    sqlite-utils 4 wraps every ``query()`` in ``SAVEPOINT``/``RELEASE`` to undo a statement that
    returns no rows. All of ours are ``SELECT``s, and the savepoint made a read from another
    thread (a test's, or a request run outside the loop) fail with "no such savepoint" whenever
    the loop committed between its two statements. It also cost two statements per read.
    """

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> Generator[dict[str, Any], None, None]:
        """Run a ``SELECT`` and yield each row as a dict (fetched lazily).

        Raises:
            ValueError: the statement returns no rows (use ``execute``).
        """
        cursor = self.conn.execute(sql, params if params is not None else ())
        if cursor.description is None:
            raise ValueError(f"query() needs SQL that returns rows: {sql[:60]!r}")
        keys = [column[0] for column in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor)


class Connection:
    """The database, opened and migrated, and the transactions its writes run in.

    Every attribute of the store is set here, so the row mixins built on it share one typed
    object.

    Args:
        path: the SQLite file, or None for an in-memory database (tests).
    """

    def __init__(self, path: Path | None) -> None:
        # One writer (the event loop), but tests and the demo read from their own threads.
        if path is None:
            self.db = _Database(sqlite3.connect(":memory:", check_same_thread=False))
        else:
            make_private(path)
            self.db = _Database(sqlite3.connect(str(path), check_same_thread=False))
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: an ack goes to the edge only after the alert is on disk, so it must really be.
            self.db.execute("PRAGMA synchronous=FULL")
        migrate(self.db)
        self.pushes = PushQueue(self.db)
        self._batching = False
        self._unreadable: set[object] = set()
        """Rows already reported as unreadable: each is logged once, not at every read."""

    # -- batches of writes ----------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Many writes, one transaction: the routine writes inside (device events, edge states,
        device health) do not commit each. The transaction is left open for :meth:`commit`
        (off the event loop); on an exception it is rolled back.

        The body must not await: no other coroutine may write while it runs. Wrap each
        message in :meth:`one` so a failing one is undone alone.
        """
        self._batching = True
        try:
            yield
        except BaseException:
            # Nothing of the batch is acked then: undo it so nothing half-written stays.
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
            raise
        finally:
            self._batching = False

    async def commit(self) -> None:
        """Commit the open transaction on the loop's own thread.

        A worker-thread commit raced the loop's other statements on the one shared connection
        (committing them early, or "cannot commit - no transaction is active"); the fsync that
        ``synchronous=FULL`` costs is the price of the single writer.
        """
        if self.db.conn.in_transaction:
            self.db.conn.commit()

    @contextlib.contextmanager
    def one(self) -> Iterator[None]:
        """One message inside a :meth:`batch`: on an exception its writes alone are undone.

        Raises:
            BatchLost: the exception also ended the batch's transaction (a nested commit then a
                rollback), so writes of earlier messages in the batch may be gone.
        """
        if not self.db.conn.in_transaction:
            # Begun here, so the savepoint is nested and its RELEASE does not commit.
            self.db.execute("BEGIN")
        self.db.execute("SAVEPOINT one_message")
        try:
            yield
        except BaseException:
            try:
                self.db.execute("ROLLBACK TO one_message")
                self.db.execute("RELEASE one_message")
            except sqlite3.OperationalError as error:
                raise BatchLost from error
            raise
        else:
            with contextlib.suppress(sqlite3.OperationalError):  # a nested commit released it
                self.db.execute("RELEASE one_message")

    def write(self) -> contextlib.AbstractContextManager[object]:
        """A transaction for one write: committed at once, or at the end of the batch."""
        return contextlib.nullcontext() if self._batching else self.db.conn

    def close(self) -> None:
        """Close the connection."""
        self.db.close()
