"""Accounts and server-side sessions in the server database (shell: sqlite-utils).

Passwords are kept as Argon2id strings and session tokens as their SHA-256; neither the password
nor the cookie value is ever written. Every write commits on the caller's (event-loop) thread,
so the store keeps its single writer.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import sqlite_utils

from firmware_bridge.wire import format_utc, parse_utc
from server.auth.models import USERNAME_PATTERN, AccountError, Role, User
from server.auth.passwords import (
    DUMMY_HASH,
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from server.auth.sessions import SessionPolicy, token_digest

TOKEN_BYTES: Final = 32
"""256-bit session and CSRF tokens (ASVS 7.2.3 asks for at least 128 bits from a CSPRNG)."""
HASHING_AT_ONCE: Final = 2
"""Argon2 verifications in flight: each takes 64 MiB, and a Raspberry Pi has 1-8 GiB."""


@dataclass(frozen=True, slots=True)
class Session:
    """A live session, found by its cookie.

    Attributes:
        token_hash: the key it is stored under.
        user: whose it is.
        csrf: the token every state-changing request must echo.
        created_at: when its user logged in.
        seen_at: the last recorded request.
    """

    token_hash: str
    user: User
    csrf: str
    created_at: datetime
    seen_at: datetime


class Users:
    """Accounts and sessions over an open, migrated database.

    Args:
        db: the server database (see :class:`server.store.db.Store`).
        now: the wall clock.
        policy: session idle and absolute lifetimes.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        now: Callable[[], datetime],
        policy: SessionPolicy | None = None,
    ) -> None:
        self._db = db
        self._now = now
        self.policy = policy or SessionPolicy()
        self._hashing = asyncio.Semaphore(HASHING_AT_ONCE)

    # -- accounts -------------------------------------------------------------------------------

    def create(self, username: str, role: Role, password: str) -> User:
        """Make an account after checking the password policy.

        Raises:
            AccountError: the name is malformed or taken.
            PasswordRejected: the password breaks the policy.
        """
        if not USERNAME_PATTERN.fullmatch(username):
            raise AccountError(username, "must be 1-64 characters of a-z, 0-9, _ and -")
        check_policy(password)
        stamp = format_utc(self._now())
        with self._db.conn:
            if self._row(username) is not None:
                raise AccountError(username, "already exists")
            cursor = self._db.execute(
                "INSERT INTO users (username, role, password_hash, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [username, role.value, hash_password(password), stamp, stamp],
            )
        return User(int(cursor.lastrowid or 0), username, role)

    async def authenticate(self, username: str, password: str) -> User | None:
        """The account if the password matches and it is enabled; rehashes weak hashes.

        Argon2 runs on a worker thread (at most :data:`HASHING_AT_ONCE` at a time) so a burst
        of logins cannot stall the escalation loop; the database is touched only on this thread.
        """
        row = self._row(username) if USERNAME_PATTERN.fullmatch(username) else None
        stored = DUMMY_HASH if row is None else row["password_hash"]  # same cost either way
        async with self._hashing:
            matches = await asyncio.to_thread(verify_password, stored, password)
        if row is None or not matches or row["disabled"]:
            return None
        if needs_rehash(row["password_hash"]):
            with self._db.conn:
                self._db.execute(
                    "UPDATE users SET password_hash = ? WHERE id = ?",
                    [hash_password(password), row["id"]],
                )
        return User(row["id"], row["username"], Role(row["role"]), row["totp_secret"] is not None)

    def set_password(self, username: str, password: str) -> None:
        """Change a password (policy checked) and end the account's sessions."""
        check_policy(password)
        self._update(username, password_hash=hash_password(password))

    def set_role(self, username: str, role: Role) -> None:
        """Change an account's role and end its sessions (the new role starts at next login)."""
        self._update(username, role=role.value)

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable or enable an account; disabling ends its live sessions (ASVS 7.4.2)."""
        self._update(username, disabled=int(disabled))

    def accounts(self) -> list[dict[str, Any]]:
        """Every account without its hash, oldest first."""
        query = (
            "SELECT id, username, role, disabled, totp_secret IS NOT NULL AS mfa, created_at, "
            "updated_at FROM users ORDER BY id"
        )
        return [
            {**row, "disabled": bool(row["disabled"]), "mfa": bool(row["mfa"])}
            for row in self._db.query(query)
        ]

    def count(self, role: Role | None = None) -> int:
        """How many accounts (enabled ones of ``role`` when given)."""
        if role is None:
            return int(self._db.execute("SELECT COUNT(*) FROM users").fetchone()[0])
        query = "SELECT COUNT(*) FROM users WHERE role = ? AND disabled = 0"
        return int(self._db.execute(query, [role.value]).fetchone()[0])

    def get(self, username: str) -> dict[str, Any] | None:
        """One account without its hash."""
        row = self._row(username)
        if row is None:
            return None
        found = {key: row[key] for key in ("id", "username", "role", "disabled")}
        return {**found, "mfa": row["totp_secret"] is not None}

    def _row(self, username: str) -> dict[str, Any] | None:
        rows = list(self._db.query("SELECT * FROM users WHERE username = ?", [username]))
        return rows[0] if rows else None

    def _update(self, username: str, **columns: Any) -> None:
        sets = ", ".join(f"{name} = ?" for name in columns)
        with self._db.conn:
            cursor = self._db.execute(
                f"UPDATE users SET {sets}, updated_at = ? WHERE username = ?",
                [*columns.values(), format_utc(self._now()), username],
            )
            if cursor.rowcount != 1:
                raise AccountError(username, "no such account")
            self._db.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)",
                [username],
            )

    # -- sessions -------------------------------------------------------------------------------

    def start_session(self, user: User, address: str, replaces: str | None = None) -> str:
        """A new session for ``user``; returns the cookie value (shown once, never stored).

        ``replaces`` is the cookie of the session the browser had: it is ended, so a token
        planted before login is worthless after it (rotation, ASVS 7.2.4).
        """
        token = secrets.token_urlsafe(TOKEN_BYTES)
        stamp = format_utc(self._now())
        now = self._now()
        with self._db.conn:
            # Forget sessions past either limit: the table stays the size of the staff on shift.
            self._db.execute(
                "DELETE FROM sessions WHERE created_at < ? OR seen_at < ?",
                [
                    format_utc(now - timedelta(seconds=self.policy.absolute_s)),
                    format_utc(now - timedelta(seconds=self.policy.idle_s)),
                ],
            )
            if replaces:
                self._db.execute(
                    "DELETE FROM sessions WHERE token_hash = ?", [token_digest(replaces)]
                )
            self._db.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_at, seen_at, address) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    token_digest(token),
                    user.id,
                    secrets.token_urlsafe(TOKEN_BYTES),
                    stamp,
                    stamp,
                    address[:64],
                ],
            )
        return token

    def session(self, token: str) -> Session | None:
        """The live session for a cookie value; ends (and forgets) an expired one."""
        digest = token_digest(token)
        rows = list(
            self._db.query(
                "SELECT s.token_hash, s.csrf, s.created_at, s.seen_at, u.id, u.username, u.role, "
                "u.totp_secret IS NOT NULL AS mfa "
                "FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.token_hash = ? AND u.disabled = 0",
                [digest],
            )
        )
        if not rows:
            return None
        row = rows[0]
        created, seen, now = parse_utc(row["created_at"]), parse_utc(row["seen_at"]), self._now()
        if self.policy.expired(created, seen, now) is not None:
            self.end_session(token)
            return None
        if self.policy.should_touch(seen, now):
            with self._db.conn:
                self._db.execute(
                    "UPDATE sessions SET seen_at = ? WHERE token_hash = ?",
                    [format_utc(now), digest],
                )
            seen = now
        user = User(row["id"], row["username"], Role(row["role"]), bool(row["mfa"]))
        return Session(digest, user, row["csrf"], created, seen)

    def still_live(self, token_hash: str) -> bool:
        """Whether a session (by its stored key) still exists: long streams re-check this."""
        query = (
            "SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = ? AND u.disabled = 0"
        )
        return self._db.execute(query, [token_hash]).fetchone() is not None

    def end_session(self, token: str) -> None:
        """Log out: the session is gone from the server, whatever the browser keeps."""
        with self._db.conn:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", [token_digest(token)])
