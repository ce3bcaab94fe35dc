"""Signed, expiring, single-use action links for pushes (pure: HMAC over values passed in).

A token is ``base64url(json payload) "." base64url(HMAC-SHA256)``. The payload names the alert,
the responder, the action, an expiry (Unix seconds) and a random nonce; the shell records used
nonces so that each link works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

from server.domain.lifecycle import Action

_SEPARATOR: Final = "."
MAX_TOKEN_CHARS: Final = 600
"""Far above a real token (~200 characters); longer input is refused before any decoding."""


class TokenError(ValueError):
    """A link that is malformed, forged or expired; ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, slots=True)
class ActionClaim:
    """What a valid token allows: ``responder_id`` may take ``action`` on ``alert_id``."""

    alert_id: str
    responder_id: str
    action: Action
    expires_s: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claim: ActionClaim, key: bytes) -> str:
    """The token for ``claim``."""
    payload = json.dumps(
        {
            "a": claim.alert_id,
            "r": claim.responder_id,
            "x": claim.action.value,
            "e": claim.expires_s,
            "n": claim.nonce,
        },
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}{_SEPARATOR}{_b64(mac)}"


def verify(token: str, key: bytes, now_s: float) -> ActionClaim:
    """The claim inside ``token`` if its signature holds and it has not expired."""
    if len(token) > MAX_TOKEN_CHARS or token.count(_SEPARATOR) != 1:
        raise TokenError("this link is not valid")
    body, mac = token.split(_SEPARATOR)
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, TypeError):
        raise TokenError("this link is not valid") from None
    if not hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).digest(), given):
        raise TokenError("this link is not valid")
    try:
        data = json.loads(payload)
        claim = ActionClaim(
            str(data["a"]), str(data["r"]), Action(data["x"]), int(data["e"]), str(data["n"])
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("this link is not valid") from None
    if now_s >= claim.expires_s:
        raise TokenError("this link has expired; open the alert in the panel instead")
    return claim
