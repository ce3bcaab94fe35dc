"""``odart audit verify``: check the server's hash-chained audit log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "check the audit log's hash chain (exit 1 if it was altered)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", required=True)
    verify = sub.add_parser("verify", help="verify the hash chain")
    verify.add_argument("--config", type=Path, required=True, help="server settings (TOML)")


def run(args: argparse.Namespace) -> int:
    """Verify the chain and report."""
    from server.audit import AuditLog
    from server.config import load_settings
    from server.errors import ConfigError
    from server.store.db import Store

    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"odart audit: {error}", file=sys.stderr)
        return 2
    if not settings.database.exists():
        print(f"odart audit: no database at {settings.database}", file=sys.stderr)
        return 2
    store = Store(settings.database)
    try:
        check = AuditLog(store.db).verify()
    finally:
        store.close()
    if check.ok:
        print(f"audit log intact: {check.entries} entries, head {check.head[:16]}")
        return 0
    print(
        f"audit log ALTERED at entry {check.first_bad} (checked {check.entries})", file=sys.stderr
    )
    return 1
