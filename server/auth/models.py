"""Accounts as the server sees them: roles, users and the auth exception tree (pure).

::

    AuthError                 anything the auth layer refuses on purpose
    ├── PasswordRejected      a new password breaks the policy (``.reason``)
    └── AccountError          a username is taken, malformed, or unknown (``.username``)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from server.errors import ServerError

USERNAME_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""The same shape as every other id on the wire, so a username can double as a responder id
and is safe in URLs, logs and the audit log (no CR/LF: ASVS 16.4.1 log injection)."""


class Role(StrEnum):
    """What an account may do; see ``docs``-style matrix in :mod:`server.web.deps`."""

    ADMIN = "admin"
    """Everything staff can, plus accounts, settings views and the audit log."""
    STAFF = "staff"
    """Hostel staff: the board, alerts, history, reports, devices and enrolment."""
    RESPONDER = "responder"
    """A responder from a push: the board and alerts (no pseudonyms), and acting on them."""


@dataclass(frozen=True, slots=True)
class User:
    """A logged-in account, as route handlers receive it from ``require_role``.

    Attributes:
        id: the database row id.
        username: the login name; also the actor recorded on alerts and in the audit log.
        role: what the account may do.
        mfa: whether the account has a second factor (an authenticator app) set up.
    """

    id: int
    username: str
    role: Role
    mfa: bool = False

    def __post_init__(self) -> None:
        if not USERNAME_PATTERN.fullmatch(self.username):
            raise AccountError(self.username, "must be 1-64 characters of a-z, 0-9, _ and -")


class AuthError(ServerError):
    """Root of every error the auth layer raises on purpose."""


class PasswordRejected(AuthError):
    """A new password breaks the policy.

    Attributes:
        reason: what is wrong, in words a person can act on.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"password rejected: {reason}")


class AccountError(AuthError):
    """A username is malformed, already taken, or unknown.

    Attributes:
        username: the name at fault.
        reason: why.
    """

    def __init__(self, username: str, reason: str) -> None:
        self.username = username
        self.reason = reason
        super().__init__(f"account {username!r}: {reason}")
