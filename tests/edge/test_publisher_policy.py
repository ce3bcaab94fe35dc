"""The publisher's connection policy: backoff that resets after a healthy connection, and
refused credentials told apart from passing faults."""

from __future__ import annotations

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge.publisher import RECONNECT_POLICY, failures_after, reconnect_delay_s, refusal_code


def test_publisher_backoff_grows_to_the_cap_and_resets_after_a_healthy_connection() -> None:
    failures = 0
    for _ in range(7):  # seven drops in a row, none of them after a healthy connection
        failures = failures_after(failures, up_s=1.0)
    assert reconnect_delay_s(failures, jitter=0.999) <= RECONNECT_POLICY.cap_s
    assert reconnect_delay_s(failures, jitter=0.0) >= RECONNECT_POLICY.cap_s / 2
    # The next drop comes after a connection that stayed up: quick again.
    failures = failures_after(failures, up_s=RECONNECT_POLICY.healthy_after_s)
    assert failures == 1
    assert reconnect_delay_s(failures, jitter=0.999) <= RECONNECT_POLICY.base_s
    assert failures_after(3, up_s=None) == 4  # never connected: keep backing off


def test_publisher_tells_refused_credentials_from_passing_faults() -> None:
    bad_password = ReasonCode(PacketTypes.CONNACK, "Bad user name or password")
    not_authorised = ReasonCode(PacketTypes.CONNACK, "Not authorized")
    unavailable = ReasonCode(PacketTypes.CONNACK, "Server unavailable")
    assert refusal_code(MqttConnectError(bad_password)) == 134
    assert refusal_code(MqttConnectError(not_authorised)) == 135
    assert refusal_code(MqttConnectError(5)) == 5  # MQTT 3.1.1 "not authorised"
    assert refusal_code(MqttConnectError(unavailable)) is None
    assert refusal_code(aiomqtt.MqttCodeError(4, "dropped")) is None  # not a CONNACK
    assert refusal_code(aiomqtt.MqttError("connection lost")) is None
