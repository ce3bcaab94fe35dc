"""The server's SQLite store through sqlite-utils: alerts, device events, edges, deliveries (shell).

All access happens on the server's event-loop thread, so there is exactly one writer (ingest
still checks its rows are stored before it acks, in case another coroutine's rollback took
them). Reads run without sqlite-utils' per-query savepoint
(:class:`server.store.connection._Database`). Every insert that de-duplicates does so on the
edge-minted message id (a primary key), so a redelivered message is one row.

A row that cannot be read back (a time out of range, an unknown kind: written by an older build
or by hand) is skipped with a logged reason, never raised: one bad row must not stop the alert
list, the timers or start-up.

:class:`Store` is one object made of one mixin per table group, all on one connection:
:mod:`server.store.connection` (opening, batches, the single writer), :mod:`server.store.alerts`,
:mod:`server.store.timeline`, :mod:`server.store.deliveries` and :mod:`server.store.devices`
(device events and edges).
"""

from __future__ import annotations

from collections.abc import Callable

from server.store.alerts import AlertRows, TokenAlreadyUsed
from server.store.connection import BatchLost, make_private
from server.store.deliveries import DeliveryRows
from server.store.devices import DeviceRows

__all__ = ["BatchLost", "Store", "TokenAlreadyUsed", "make_private"]


class Store(AlertRows, DeliveryRows, DeviceRows):
    """The database, opened and migrated.

    Args:
        path: the SQLite file, or None for an in-memory database (tests).
    """

    def secret(self, name: str, make: Callable[[], str]) -> str:
        """A named secret kept in the database, made with ``make`` the first time."""
        with self.db.conn:
            self.db.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", [name, make()]
            )
        return str(
            self.db.execute("SELECT value FROM secrets WHERE name = ?", [name]).fetchone()[0]
        )
