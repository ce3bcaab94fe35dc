"""Notifications through real apprise to a local HTTP receiver, with channel fallback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from firmware_bridge.wire import AlertKind, Severity
from odart.broker import free_port
from server.config import ResponderConfig
from server.domain.alerts import Alert, Push, compose_push
from server.notify import AppriseNotifier
from simulators.receiver import NotificationReceiver

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_apprise_notifier_falls_back_to_the_next_channel(receiver: NotificationReceiver) -> None:
    dead = f"json://127.0.0.1:{free_port()}/nobody-home"
    responder = ResponderConfig(id="sam", name="Sam", urls=[dead, receiver.url("/sam")])
    deliveries = asyncio.run(AppriseNotifier().send(responder, Push("Title", "Body")))
    assert [(d.channel, d.ok) for d in deliveries] == [("json", False), ("json", True)]
    assert [push.path for push in receiver.wait_for(1, 5)] == ["/sam"]


def test_apprise_notifier_stops_at_first_channel_that_accepts(
    receiver: NotificationReceiver,
) -> None:
    responder = ResponderConfig(id="sam", name="Sam", urls=[receiver.url("/a"), receiver.url("/b")])
    deliveries = asyncio.run(AppriseNotifier().send(responder, Push("T", "B")))
    assert [d.ok for d in deliveries] == [True]
    assert [push.path for push in receiver.wait_for(1, 5)] == ["/a"]


def test_apprise_notifier_records_an_invalid_url_and_moves_on(
    receiver: NotificationReceiver,
) -> None:
    responder = ResponderConfig(id="sam", name="Sam", urls=["nonsense", receiver.url("/ok")])
    deliveries = asyncio.run(AppriseNotifier().send(responder, Push("T", "B")))
    first = deliveries[0]
    assert (first.channel, first.ok, first.detail) == ("invalid", False, "invalid URL")
    assert deliveries[-1].ok


def test_push_text_names_room_and_kind_but_no_person_or_value() -> None:
    alert = Alert(
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "s",
        "e",
        AlertKind.DESATURATION,
        Severity.CRITICAL,
        NOW,
        NOW,
        NOW,
        participant_id="p-77",
        evidence={"spo2_pct": 84.0},
    )
    push = compose_push(alert, "Room 12", "https://panel/alerts/01ARZ3NDEKTSV4RRFFQ69G5FAV")
    text = push.title + push.body
    assert "Room 12" in text
    assert "low oxygen" in text
    assert "84" not in text
    assert "p-77" not in text
    assert push.title.startswith("URGENT")
