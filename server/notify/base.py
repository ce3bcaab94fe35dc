"""The Notifier seam: send one push to one responder over their channels in order (pure types)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from server.config import ResponderConfig
from server.domain.alerts import Push


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt on one channel.

    Attributes:
        responder_id: who it was for.
        channel: the URL scheme (``ntfy``, ``json``, ...); never the URL, which holds secrets.
        ok: whether the channel accepted it.
        detail: a short reason on failure.
    """

    responder_id: str
    channel: str
    ok: bool
    detail: str = ""


class Notifier(Protocol):
    """Delivers pushes; tries a responder's channels in order until one accepts."""

    async def send(self, responder: ResponderConfig, push: Push) -> list[Delivery]:
        """Send ``push`` to ``responder`` and report every attempt, in order."""
        ...
