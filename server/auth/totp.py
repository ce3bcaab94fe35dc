"""Time-based one-time passwords (RFC 6238) for the second login factor (pure: pyotp computes).

ASVS 6.3.3 (L2) asks for multi-factor authentication. Admin and staff accounts see personal
data, so they need a code from an authenticator app as well as the password; responders may
add one. A code is accepted in the 30 s step it belongs to and one step either side (phones'
clocks drift), and never twice: the last accepted step is kept so a code seen over a shoulder
cannot be replayed within its window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import pyotp

STEP_S: Final = 30
"""RFC 6238's default time step; every authenticator app uses it."""
DIGITS: Final = 6
"""Six digits, what authenticator apps show by default."""
DRIFT_STEPS: Final = 1
"""Accept the previous and next step too: a phone's clock may be up to ~30 s off."""
ISSUER: Final = "ODART"
"""Shown by the authenticator app next to the account name."""
_CODE: Final = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """A fresh 160-bit base32 secret (RFC 4226 recommends at least 128 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (used by tests and scripted set-ups)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).at(at)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one code.

    Attributes:
        ok: the code is right and has not been used before.
        step: the time step it matched (keep it to refuse a replay); None when not ok.
    """

    ok: bool
    step: int | None = None


def check_code(secret: str, code: str, at: datetime, last_step: int | None) -> Verdict:
    """Check ``code`` against ``secret`` at ``at``, refusing steps at or before ``last_step``."""
    code = code.strip().replace(" ", "")
    if not _CODE.match(code):
        return Verdict(False)
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    now_step = int(at.timestamp()) // STEP_S
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return Verdict(True, step)
    return Verdict(False)
