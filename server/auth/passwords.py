"""Password policy and Argon2id hashing (pure: argon2-cffi computes, nothing is stored here).

Policy from OWASP ASVS 5.0 §6.2: at least 8 characters (6.2.1; 15 recommended and said so),
no composition rules (6.2.5), at least 64 allowed (6.2.9), and common passwords refused (6.2.12,
checked against a small local list: the panel works with no internet).
"""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.auth.models import PasswordRejected

MIN_LENGTH: Final = 8
"""ASVS 6.2.1 (L1) minimum."""
RECOMMENDED_LENGTH: Final = 15
"""ASVS 6.2.1 recommends 15; the form says so but does not force it."""
MAX_LENGTH: Final = 128
"""ASVS 6.2.9 wants at least 64 allowed; a cap stops megabyte passwords costing CPU."""

COMMON: Final = frozenset(
    {
        "password",
        "password1",
        "password1!",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "letmein1",
        "welcome1",
        "admin123",
        "administrator",
        "changeme",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "trustno1",
        "11111111",
        "00000000",
        "abc12345",
        "odart-admin",
        "odartodart",
    }
)
"""The most common breached passwords of 8+ characters (a tiny local stand-in for HIBP)."""

_HASHER: Final = PasswordHasher()
"""argon2-cffi 25 defaults: Argon2id, t=3, m=64 MiB, p=4 — above OWASP's m=19 MiB, t=2, p=1."""


def check_policy(password: str) -> None:
    """Refuse a new password that breaks the policy.

    Raises:
        PasswordRejected: with the reason.
    """
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(
            f"use at least {MIN_LENGTH} characters ({RECOMMENDED_LENGTH} or more is better)"
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"use at most {MAX_LENGTH} characters")
    if password.lower() in COMMON:
        raise PasswordRejected("this password is on the list of common breached passwords")


def hash_password(password: str) -> str:
    """An Argon2id hash string (``$argon2id$...``) with its salt and parameters."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``; a malformed stored hash never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's (rehash at login)."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


DUMMY_HASH: Final = _HASHER.hash("a password nobody has: equalises login timing")
"""Verified against when the username is unknown, so timing does not reveal which names exist."""
