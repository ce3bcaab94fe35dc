"""Notifier over apprise: a responder's URLs in order, falling back on failure (shell)."""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Final

import apprise

from server.config import ResponderConfig
from server.domain.alerts import Push
from server.notify.base import Delivery

_LOGGER = logging.getLogger(__name__)

SEND_TIMEOUT_S: Final = 15.0
"""Whole-call limit per channel, so a hung provider moves us on to the next channel quickly."""


def with_buttons(url: str, push: Push) -> str:
    """``url`` with the push's buttons and click-through for channels that show them (ntfy)."""
    if channel_of(url) not in {"ntfy", "ntfys"} or not (push.actions or push.click_url):
        return url
    params = {}
    if push.actions:
        # ntfy allows three buttons: "http" POSTs to our link, "view" opens it.
        params["actions"] = "; ".join(
            f"{'http' if a.post else 'view'}, {a.label}, {a.url}"
            + (", method=POST, clear=true" if a.post else "")
            for a in push.actions[:3]
        )
    if push.click_url:
        params["click"] = push.click_url
    joiner = "&" if "?" in url else "?"
    return url + joiner + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def channel_of(url: str) -> str:
    """The scheme of an apprise URL, which is all we log or store of it (the rest is secret)."""
    return url.split("://", 1)[0].lower() if "://" in url else "invalid"


class AppriseNotifier:
    """Sends through apprise; never logs a URL, since apprise URLs carry tokens."""

    async def send(self, responder: ResponderConfig, push: Push) -> list[Delivery]:
        """Try each of the responder's URLs in order; stop at the first that accepts."""
        deliveries: list[Delivery] = []
        for url in responder.urls:
            channel = channel_of(url)
            sender = apprise.Apprise(asset=apprise.AppriseAsset(service_timeout=SEND_TIMEOUT_S))
            if not sender.add(with_buttons(url, push)):
                deliveries.append(Delivery(responder.id, channel, ok=False, detail="invalid URL"))
                continue
            try:
                async with asyncio.timeout(SEND_TIMEOUT_S + 1):
                    result = await sender.async_notify(
                        body=push.body,
                        title=push.title,
                        notify_type=apprise.NotifyType.FAILURE,
                        body_format=apprise.NotifyFormat.TEXT,
                    )
            except TimeoutError:
                ok, detail = False, "timed out"
            else:
                ok = bool(result)
                detail = "" if ok else "channel refused or unreachable"
            deliveries.append(Delivery(responder.id, channel, ok=ok, detail=detail))
            if ok:
                break
            _LOGGER.warning("delivery to %s via %s failed; trying next", responder.id, channel)
        return deliveries
