"""Second factors in the server database: offer, confirm, check and reset TOTP (shell).

A secret is offered first (``totp_pending``) and takes effect only once the person types a code
from it, so a half-finished set-up never locks anyone out. Confirming, checking and resetting
commit on the caller's thread, like every other account write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlite_utils

from firmware_bridge.wire import format_utc
from server.auth.models import AccountError
from server.auth.totp import check_code, new_secret


class SecondFactors:
    """TOTP second factors over the accounts table.

    Args:
        db: the server database (migrated).
        now: the wall clock.
    """

    def __init__(self, db: sqlite_utils.Database, now: Callable[[], datetime]) -> None:
        self._db = db
        self._now = now

    def offer(self, username: str) -> str:
        """A secret to set up (kept until confirmed); the same one until it is confirmed.

        Raises:
            AccountError: no such account, or one already has a second factor.
        """
        row = self._row(username)
        if row["totp_secret"] is not None:
            raise AccountError(username, "already has a second factor; reset it first")
        if row["totp_pending"]:
            return str(row["totp_pending"])
        secret = new_secret()
        self._set(username, totp_pending=secret)
        return secret

    def confirm(self, username: str, code: str) -> bool:
        """Turn the offered secret on if ``code`` matches it; False (nothing changes) if not."""
        row = self._row(username)
        pending = row["totp_pending"]
        if not pending:
            return False
        verdict = check_code(pending, code, self._now(), None)
        if not verdict.ok:
            return False
        self._set(username, totp_secret=pending, totp_pending=None, totp_last_step=verdict.step)
        return True

    def check(self, username: str, code: str) -> bool:
        """Whether ``code`` is right for the account's second factor, and unused (no replay)."""
        row = self._row(username)
        if row["totp_secret"] is None:
            return False
        verdict = check_code(row["totp_secret"], code, self._now(), row["totp_last_step"])
        if not verdict.ok:
            return False
        self._set(username, totp_last_step=verdict.step)
        return True

    def reset(self, username: str) -> None:
        """Remove an account's second factor (a lost phone) and end its sessions."""
        self._row(username)
        self._set(username, totp_secret=None, totp_pending=None, totp_last_step=None)
        with self._db.conn:
            self._db.execute(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)",
                [username],
            )

    def _row(self, username: str) -> dict[str, Any]:
        rows = list(
            self._db.query(
                "SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE username = ?",
                [username],
            )
        )
        if not rows:
            raise AccountError(username, "no such account")
        return rows[0]

    def _set(self, username: str, **columns: object) -> None:
        sets = ", ".join(f"{name} = ?" for name in columns)
        with self._db.conn:
            self._db.execute(
                f"UPDATE users SET {sets}, updated_at = ? WHERE username = ?",
                [*columns.values(), format_utc(self._now()), username],
            )
