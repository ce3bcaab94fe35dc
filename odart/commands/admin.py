"""``odart admin``: manage panel accounts from the shell (create, passwd, disable, mfa-reset)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

HELP = "manage panel accounts (create the first admin, reset a password or second factor, disable)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create an account")
    create.add_argument("--role", choices=["admin", "staff", "responder"], default="admin")
    passwd = sub.add_parser("passwd", help="set a new password (ends the account's sessions)")
    disable = sub.add_parser("disable", help="disable an account (ends its sessions)")
    enable = sub.add_parser("enable", help="enable a disabled account")
    reset = sub.add_parser(
        "mfa-reset", help="remove an account's second factor (a lost phone); it sets one up again"
    )
    for child in (create, passwd, disable, enable, reset):
        child.add_argument("--config", type=Path, required=True, help="server settings (TOML)")
        child.add_argument("--username", required=True, help="a-z, 0-9, _ and -")
    for child in (create, passwd):
        child.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input instead of prompting",
        )


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        print("odart admin: the passwords differ", file=sys.stderr)
        return None
    return first


def run(args: argparse.Namespace) -> int:
    """Carry out the action; every change is written to the audit log as ``cli``."""
    from datetime import UTC, datetime

    from server.audit import AuditLog
    from server.auth.models import AuthError, Role
    from server.config import load_settings
    from server.errors import ConfigError
    from server.store.db import Store
    from server.store.mfa import SecondFactors
    from server.store.users import Users

    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"odart admin: {error}", file=sys.stderr)
        return 2
    password = _password(args) if args.action in {"create", "passwd"} else None
    if args.action in {"create", "passwd"} and password is None:
        return 1
    store = Store(settings.database)
    try:
        users = Users(store.db, lambda: datetime.now(UTC))
        audit = AuditLog(store.db)
        username = args.username.strip().lower()
        if args.action == "create":
            assert password is not None
            user = users.create(username, Role(args.role), password)
            audit.record("cli", "admin", "account.create", user.username, {"role": args.role})
            print(f"created {user.role.value} account {user.username!r}")
        elif args.action == "passwd":
            assert password is not None
            users.set_password(username, password)
            audit.record("cli", "admin", "account.password", username)
            print(f"password changed for {username!r}; their sessions have ended")
        elif args.action == "mfa-reset":
            SecondFactors(store.db, lambda: datetime.now(UTC)).reset(username)
            audit.record("cli", "admin", "account.mfa_reset", username)
            print(f"second factor removed for {username!r}; they set one up at next login")
        else:
            users.set_disabled(username, args.action == "disable")
            audit.record("cli", "admin", f"account.{args.action}", username)
            print(f"{args.action}d {username!r}")
    except AuthError as error:
        print(f"odart admin: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0
