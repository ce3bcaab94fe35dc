"""Accounts, passwords, sessions and login throttling for the staff panel (pure core).

The FastAPI side (``require_role``, CSRF) is :mod:`server.web.deps`; storage is
:mod:`server.store.users`.
"""

from server.auth.models import (
    USERNAME_PATTERN,
    AccountError,
    AuthError,
    PasswordRejected,
    Role,
    User,
)
from server.auth.passwords import check_policy, hash_password, verify_password
from server.auth.ratelimit import LoginLimiter
from server.auth.sessions import SessionPolicy

__all__ = [
    "USERNAME_PATTERN",
    "AccountError",
    "AuthError",
    "LoginLimiter",
    "PasswordRejected",
    "Role",
    "SessionPolicy",
    "User",
    "check_policy",
    "hash_password",
    "verify_password",
]
