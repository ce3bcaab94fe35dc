"""``odart backup``: copy the server database with SQLite's online backup API (shell).

Safe while ``odart server`` runs: the copy is a consistent snapshot, made 0600, checked with
``PRAGMA integrity_check`` and renamed into place only when it passed. Restore by stopping the
server and putting the file back as the database.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

HELP = "back up the server database to a file (safe while the server runs)"

EXIT_FAILED = 1
EXIT_USAGE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("--config", type=Path, required=True, help="server settings (TOML)")
    parser.add_argument(
        "--to",
        type=Path,
        required=True,
        metavar="FILE",
        help="the backup file (replaced if it exists)",
    )


def run(args: argparse.Namespace) -> int:
    """Copy, verify, report."""
    from server.config import load_settings
    from server.errors import BackupFailed, ConfigError
    from server.store.backup import backup_database

    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"odart backup: {error}", file=sys.stderr)
        return EXIT_USAGE
    database = settings.database
    if not database.is_file():
        print(f"odart backup: no database at {database}", file=sys.stderr)
        return EXIT_USAGE
    if not args.to.parent.is_dir():
        print(f"odart backup: no folder {args.to.parent} for the backup", file=sys.stderr)
        return EXIT_USAGE
    if args.to.resolve() == database.resolve():
        print("odart backup: --to is the database itself", file=sys.stderr)
        return EXIT_USAGE
    owner = database.stat().st_uid
    if os.geteuid() == 0 and owner != 0:
        # SQLite leaves -wal and -shm files beside a WAL database it opened; made by root, they
        # would stop the server (running as the owner) from opening its own database.
        print(
            f"odart backup: run it as the database's owner (uid {owner}), e.g. "
            "sudo -u odart odart backup ...",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # Read-only: the backup never migrates or writes the live database.
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        backup = backup_database(source, args.to)
    except BackupFailed as error:
        print(f"odart backup: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        source.close()
    schema = backup.migrations[-1] if backup.migrations else "none"
    print(
        f"backed up {database} to {backup.path}: {backup.size_bytes} bytes, "
        f"integrity ok, schema {schema}"
    )
    return 0
