"""Online backups of the server database through SQLite's backup API (shell).

``sqlite3.Connection.backup`` copies a consistent snapshot page by page while the server keeps
writing (in WAL mode a reader never blocks the writer). The copy is written to a private
temporary file created 0600 (it holds residents' data), switched to a single self-contained
file (``journal_mode=DELETE``), checked with ``PRAGMA integrity_check``, synced, and only then
renamed over the target, so a failed backup never leaves a half-written file under its name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from server.errors import BackupFailed

_LOGGER = logging.getLogger(__name__)

BACKUP_MODE: Final = 0o600
"""Owner read/write only: the database holds identities, consents and alerts."""


@dataclass(frozen=True, slots=True)
class Backup:
    """A verified backup.

    Attributes:
        path: the backup file.
        size_bytes: its size.
        migrations: the schema migrations the copy has applied, oldest first.
    """

    path: Path
    size_bytes: int
    migrations: tuple[str, ...]


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The file behind ``conn``'s main database, or None for an in-memory one."""
    for _, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_database(source: sqlite3.Connection, target: Path) -> Backup:
    """Copy ``source`` to ``target`` (replacing it atomically) and verify the copy.

    Raises:
        BackupFailed: the copy could not be written or is not intact.
    """
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE))
        partial.chmod(BACKUP_MODE)  # whatever the umask said
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            verdict = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                raise BackupFailed(str(target), "integrity check: " + "; ".join(verdict[:5]))
            migrations = _migrations(copy)
        finally:
            copy.close()
        _fsync(partial)
        partial.replace(target)
        _fsync(target.parent)
    except (OSError, sqlite3.Error) as error:
        raise BackupFailed(str(target), str(error)) from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Backup(target, target.stat().st_size, migrations)


def _migrations(conn: sqlite3.Connection) -> tuple[str, ...]:
    try:
        rows = conn.execute("SELECT name FROM _migrations ORDER BY name").fetchall()
    except sqlite3.OperationalError:  # a database no migration has touched yet
        return ()
    return tuple(str(row[0]) for row in rows)


def backup_beside(conn: sqlite3.Connection, label: str, *, now: datetime) -> Backup | None:
    """Back ``conn``'s database up to a timestamped file beside it (None if it is in memory).

    The name is ``<database>.<UTC time>.<label>.bak``, e.g.
    ``odart.db.20261204T163000Z.before-006_x.bak``.
    """
    database = database_file(conn)
    if database is None:
        return None
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup = backup_database(conn, database.with_name(f"{database.name}.{stamp}.{label}.bak"))
    _LOGGER.warning("backed the database up to %s (%s)", backup.path, label)
    return backup
