"""The wire contract: topics, envelopes, ids, and rejection of anything malformed."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import wire
from firmware_bridge.errors import FirmwareBridgeError, WireError

NOW = datetime(2026, 11, 22, 16, 35, 59, 123000, tzinfo=UTC)
ID_A = wire.encode_ulid(1_763_829_359_123, 42)
MAC = "A0:9E:1A:12:34:56"


def _alert(**changes: object) -> wire.Envelope:
    fields: dict[str, object] = {
        "msg_id": ID_A,
        "kind": wire.MessageKind.ALERT,
        "site_id": "hostel-1",
        "edge_id": "pi-1",
        "created_at": NOW,
        "device_id": "wearable-3",
        "participant_id": "p-7f3a",
        "body": wire.AlertBody(
            alert_kind=wire.AlertKind.APNOEA,
            severity=wire.Severity.CRITICAL,
            detected_at=NOW,
            onset_at=NOW - timedelta(seconds=15),
            evidence={"seconds_since_breath": 15.2, "quality": "good", "spo2_pct": None},
            room_id="room-12",
        ),
    }
    fields.update(changes)
    return wire.Envelope(**fields)  # type: ignore[arg-type]


def test_envelope_round_trips_through_json() -> None:
    envelope = _alert(sent_at=NOW + timedelta(seconds=1))
    payload = wire.encode_envelope(envelope)
    assert wire.decode_message("odart/v1/hostel-1/pi-1/alert", payload) == envelope
    document = json.loads(payload)
    assert document["schema"] == wire.SCHEMA_VERSION
    assert document["created_at"] == "2026-11-22T16:35:59.123Z"


def test_envelope_topic_follows_kind() -> None:
    assert str(_alert().topic) == "odart/v1/hostel-1/pi-1/alert"
    ack = wire.Envelope(
        msg_id=wire.encode_ulid(1, 2),
        kind=wire.MessageKind.ACK,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=NOW,
        body=wire.AckBody(of=ID_A, stored_at=NOW),
    )
    assert str(ack.topic) == "odart/v1/hostel-1/pi-1/ack"


def test_parse_topic_rejects_foreign_and_wildcard_topics() -> None:
    assert wire.parse_topic("odart/v1/s/e/status") == wire.Topic("s", "e", wire.TopicKind.STATUS)
    for bad in [
        "odart/v2/s/e/event",
        "odart/v1/s/e",
        "odart/v1/s/+/event",
        "odart/v1/s/e/raw",
        "odart/v1/S/e/event",
        "x/odart/v1/s/e/event",
    ]:
        with pytest.raises(WireError) as caught:
            wire.parse_topic(bad)
        assert caught.value.field == "topic"


def test_topic_filter_uses_wildcards_only_when_asked() -> None:
    assert wire.topic_filter(wire.TopicKind.EVENT) == "odart/v1/+/+/event"
    assert wire.topic_filter(wire.TopicKind.ACK, "s1", "e1") == "odart/v1/s1/e1/ack"
    with pytest.raises(WireError):
        wire.topic_filter(wire.TopicKind.ACK, "s/1")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(schema=wire.SCHEMA_VERSION + 1), "schema"),
        (lambda d: d.update(schema=True), "schema"),
        (lambda d: d.update(schema=float(wire.SCHEMA_VERSION)), "schema"),
        (lambda d: d.update(id="not-a-ulid"), "id"),
        (lambda d: d.update(type="gossip"), "type"),
        (lambda d: d.update(participant="Jane Doe"), "participant"),
        (lambda d: d.update(created_at="2026-11-22T16:35:59"), "created_at"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["body"].update(severity="apocalyptic"), "body.severity"),
        (lambda d: d["body"].update(onset_at="2026-11-23T00:00:00Z"), "onset_at"),
        (lambda d: d["body"].update(waveform=[1, 2, 3]), "body.waveform"),
        (lambda d: d["body"]["evidence"].update(raw=[0.1, 0.2]), "evidence.raw"),
        (lambda d: d.update(body=[]), "body"),
    ],
)
def test_decode_names_the_offending_field(mutate: object, field: str) -> None:
    document = json.loads(wire.encode_envelope(_alert()))
    mutate(document)  # type: ignore[operator]
    with pytest.raises(WireError) as caught:
        wire.decode_envelope(json.dumps(document).encode())
    assert caught.value.field == field


def test_decode_rejects_message_on_wrong_topic() -> None:
    payload = wire.encode_envelope(_alert())
    with pytest.raises(WireError, match="differs from the topic"):
        wire.decode_message("odart/v1/hostel-2/pi-1/event", payload)
    with pytest.raises(WireError, match="does not belong"):
        wire.decode_message("odart/v1/hostel-1/pi-1/status", payload)


def test_payload_limit_is_enforced_both_ways() -> None:
    big = {f"k{i}": "x" * 64 for i in range(wire.MAX_EVIDENCE_ITEMS)}
    with pytest.raises(WireError):
        _alert(
            body=wire.AlertBody(
                wire.AlertKind.APNOEA, wire.Severity.CRITICAL, NOW, NOW, {**big, "one_more": 1}
            )
        )
    with pytest.raises(WireError) as caught:
        wire.decode_envelope(b" " * (wire.MAX_PAYLOAD_BYTES + 1))
    assert caught.value.field == "payload"


def test_decode_refuses_a_key_given_twice() -> None:
    """Two values for one key are refused, not settled by whichever comes last: another
    parser (a broker plugin, a log shipper) could read the other one."""
    payload = wire.encode_envelope(_alert())
    assert payload.startswith(b"{")
    twice = b'{"participant": "p-other",' + payload[1:]
    with pytest.raises(WireError, match="repeats") as caught:
        wire.decode_envelope(twice)
    assert caught.value.field == "payload"
    nested = payload.replace(b'"evidence":{', b'"evidence":{"spo2_pct":80,', 1)
    assert nested != payload
    with pytest.raises(WireError, match="repeats"):
        wire.decode_envelope(nested)


def test_evidence_rejects_non_finite_numbers() -> None:
    with pytest.raises(WireError, match="finite"):
        wire.AlertBody(
            wire.AlertKind.APNOEA, wire.Severity.CRITICAL, NOW, NOW, {"spo2_pct": float("nan")}
        )
    with pytest.raises(WireError):
        wire.decode_envelope(wire.encode_envelope(_alert()).replace(b'"good"', b"NaN"))


@given(st.binary(max_size=600))
def test_decode_arbitrary_bytes_raises_only_wire_error(payload: bytes) -> None:
    with contextlib.suppress(FirmwareBridgeError):
        wire.decode_message("odart/v1/s/e/event", payload)


@given(
    st.dictionaries(
        st.sampled_from(["schema", "id", "type", "site", "edge", "body", "created_at", "device"]),
        st.none()
        | st.integers()
        | st.text(max_size=30)
        | st.lists(st.integers())
        | st.dictionaries(st.text(max_size=10), st.text(max_size=10)),
    )
)
def test_decode_arbitrary_json_raises_only_wire_error(document: dict[str, object]) -> None:
    with contextlib.suppress(WireError):
        wire.decode_envelope(json.dumps(document).encode())


def test_id_minter_ids_are_unique_and_increasing_even_when_clock_stalls() -> None:
    minter = wire.IdMinter()
    times = [1000, 1000, 1000, 999, 1001, 1001]
    ids = [minter.mint(t, bytes(10)) for t in times]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert wire.ulid_time_ms(ids[-1]) == 1001


@given(st.integers(0, 2**48 - 1), st.integers(0, 2**80 - 1))
def test_ulid_keeps_its_timestamp(time_ms: int, randomness: int) -> None:
    assert wire.ulid_time_ms(wire.encode_ulid(time_ms, randomness)) == time_ms


def test_format_utc_converts_offsets_to_z() -> None:
    from datetime import timezone

    moment = datetime(2026, 1, 1, 12, 0, 0, 5000, tzinfo=timezone(timedelta(hours=2)))
    assert wire.format_utc(moment) == "2026-01-01T10:00:00.005Z"
    assert wire.parse_utc("2026-01-01T10:00:00.005Z") == moment


def test_update_message_round_trips_on_the_alert_topic() -> None:
    update = wire.Envelope(
        msg_id=wire.encode_ulid(5, 5),
        kind=wire.MessageKind.UPDATE,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=NOW,
        body=wire.UpdateBody(of=ID_A, update=wire.AlertUpdate.CANCELLED_BY_WEARER, at=NOW),
    )
    payload = wire.encode_envelope(update)
    assert wire.decode_message("odart/v1/hostel-1/pi-1/alert", payload) == update
    with pytest.raises(wire.WireError, match="does not belong"):
        wire.decode_message("odart/v1/hostel-1/pi-1/event", payload)  # alerts have their own


def _device(state: wire.DeviceState) -> wire.Envelope:
    return wire.Envelope(
        msg_id=wire.encode_ulid(6, 6),
        kind=wire.MessageKind.DEVICE,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=NOW,
        device_id="wearable-3",
        body=wire.DeviceBody(state, battery_pct=80.0, rssi_dbm=-60.0, checkin_possible=True),
    )


@pytest.mark.parametrize("state", list(wire.DeviceState))
def test_each_device_state_round_trips_on_the_event_topic(state: wire.DeviceState) -> None:
    payload = wire.encode_envelope(_device(state))
    assert json.loads(payload)["body"]["state"] == state.value
    decoded = wire.decode_message("odart/v1/hostel-1/pi-1/event", payload)
    assert decoded == _device(state)
    assert isinstance(decoded.body, wire.DeviceBody)
    assert decoded.body.state is state


def test_an_unknown_device_state_is_refused_at_decode_and_construction() -> None:
    document = json.loads(wire.encode_envelope(_device(wire.DeviceState.CONNECTED)))
    document["body"]["state"] = "exploded"
    with pytest.raises(WireError) as caught:
        wire.decode_message("odart/v1/hostel-1/pi-1/event", json.dumps(document).encode())
    assert caught.value.field == "body.state"
    assert "exploded" not in str(caught.value)  # the reason never echoes a payload value
    with pytest.raises(WireError) as caught:
        wire.DeviceBody("exploded")  # type: ignore[arg-type]
    assert caught.value.field == "state"
    assert wire.DeviceBody("no_data").state is wire.DeviceState.NO_DATA  # type: ignore[arg-type]


def test_alert_checkin_window_is_bounded() -> None:
    body = wire.AlertBody(wire.AlertKind.STILLNESS, wire.Severity.WARNING, NOW, NOW, checkin_s=20)
    assert body.checkin_s == 20
    for bad in (0.0, -1.0, wire.MAX_CHECKIN_S + 1):
        with pytest.raises(WireError) as caught:
            wire.AlertBody(wire.AlertKind.APNOEA, wire.Severity.WARNING, NOW, NOW, checkin_s=bad)
        assert caught.value.field == "checkin_s"


def test_detector_event_kinds_all_exist_on_the_wire() -> None:
    from edge.detector import EventKind, Severity

    assert {kind.value for kind in EventKind} <= {kind.value for kind in wire.AlertKind}
    assert {s.value for s in Severity} <= {s.value for s in wire.Severity}


def _device_list(*entries: wire.DeviceEntry) -> wire.Envelope:
    return wire.Envelope(
        msg_id=ID_A,
        kind=wire.MessageKind.CMD,
        site_id="hostel-1",
        edge_id="pi-1",
        created_at=NOW,
        body=wire.CommandBody(wire.Command.DEVICES, devices=entries),
    )


def test_device_list_round_trips_on_the_cmd_topic() -> None:
    envelope = _device_list(
        wire.DeviceEntry("wearable-12", wire.DeviceModel.POLAR_H10, "p-7f3a", "room-12", MAC),
        wire.DeviceEntry("door-12", wire.DeviceModel.Z2M_DOOR, "p-7f3a", "room-12", "Door 12"),
        wire.DeviceEntry("sim-1", wire.DeviceModel.VIRTUAL, "p-0001"),
    )
    payload = wire.encode_envelope(envelope)
    assert wire.decode_message("odart/v1/hostel-1/pi-1/cmd", payload) == envelope
    document = json.loads(payload)
    assert document["body"]["devices"][2] == {
        "id": "sim-1",
        "model": "virtual",
        "participant": "p-0001",
    }
    empty = _device_list()
    assert wire.decode_message("odart/v1/hostel-1/pi-1/cmd", wire.encode_envelope(empty)) == empty


@pytest.mark.parametrize(
    ("model", "address", "reason"),
    [
        (wire.DeviceModel.POLAR_H10, None, "needs an address"),
        (wire.DeviceModel.BLE_HR, "/dev/ttyAMA0", "Bluetooth address"),
        (wire.DeviceModel.VIRTUAL, MAC, "no address"),
        (wire.DeviceModel.MR60BHA1, "x" * 65, "printable"),
        (wire.DeviceModel.Z2M_DOOR, " door", "printable"),
    ],
)
def test_device_entry_refuses_an_address_its_model_cannot_use(
    model: wire.DeviceModel, address: str | None, reason: str
) -> None:
    with pytest.raises(WireError, match=reason) as caught:
        wire.DeviceEntry("d-1", model, "p-1", None, address)
    assert caught.value.field == "address"


def test_device_list_decode_names_the_bad_entry() -> None:
    document = json.loads(wire.encode_envelope(_device_list()))
    document["body"]["devices"] = [
        {"id": "d-1", "model": "virtual", "participant": "p-1"},
        {"id": "d-2", "model": "toaster", "participant": "p-1"},
    ]
    with pytest.raises(WireError) as caught:
        wire.decode_envelope(json.dumps(document).encode())
    assert caught.value.field == "body.devices.1.model"
    document["body"]["devices"] = [
        {"id": "d-1", "model": "virtual", "participant": "p-1", "name": "x"}
    ]
    with pytest.raises(WireError) as caught:
        wire.decode_envelope(json.dumps(document).encode())
    assert caught.value.field == "body.devices.0.name"


def test_device_list_only_on_a_devices_command_and_each_device_once() -> None:
    entry = wire.DeviceEntry("d-1", wire.DeviceModel.VIRTUAL, "p-1")
    with pytest.raises(WireError, match="only a devices command"):
        wire.CommandBody(wire.Command.CONSENT, devices=(entry,))
    with pytest.raises(WireError, match="twice"):
        wire.CommandBody(wire.Command.DEVICES, devices=(entry, entry))


def test_device_list_of_thirty_ble_wearables_fits_the_payload_cap() -> None:
    entries = tuple(
        wire.DeviceEntry(
            f"wearable-{n:02}", wire.DeviceModel.POLAR_H10, f"p-{n:04x}", f"room-{n:02}", MAC
        )
        for n in range(30)
    )
    assert len(wire.encode_envelope(_device_list(*entries))) <= wire.MAX_PAYLOAD_BYTES


def test_check_in_is_possible_only_where_the_device_has_a_buzzer_and_button() -> None:
    h10 = wire.DeviceEntry("d-1", wire.DeviceModel.POLAR_H10, "p-1", None, MAC)
    own = wire.DeviceEntry("d-2", wire.DeviceModel.ODART_WEARABLE, "p-1", None, MAC)
    assert (h10.can_check_in, own.can_check_in) == (False, True)
    assert {wire.DeviceModel.ODART_WEARABLE, wire.DeviceModel.VIRTUAL} == wire.CHECKIN_MODELS
    assert h10.role is own.role is wire.DeviceRole.WEARABLE


def _alert_payload(**changes: object) -> bytes:
    document = json.loads(wire.encode_envelope(_alert()))
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"[" * 2000, "payload"),
        (b'{"body":' * 600 + b"{}" + b"}" * 600, "payload"),
        (wire.encode_envelope(_alert()).replace(b"15.2", b"1e400"), "payload"),
        (wire.encode_envelope(_alert()).replace(b"15.2", b"-Infinity"), "payload"),
        (wire.encode_envelope(_alert()).replace(b"15.2", b"9" * 40), "payload"),
        (_alert_payload(created_at="0001-01-01T00:00:00+14:00"), "created_at"),
        (_alert_payload(created_at="9999-12-31T23:59:59-14:00"), "created_at"),
        (_alert_payload(created_at="0999-06-01T00:00:00Z"), "created_at"),
        (_alert_payload(sent_at="1969-12-31T23:59:59Z"), "sent_at"),
        (_alert_payload(created_at="3000-01-01T00:00:00Z"), "created_at"),
        (_alert_payload(site="hostel-1\n"), "site"),
        (_alert_payload(**{"x\ny": 1}), "?"),
        ("{}".encode("utf-16"), "payload"),
    ],
)
def test_decode_refuses_hostile_payloads_with_a_wire_error(payload: bytes, field: str) -> None:
    with pytest.raises(WireError) as caught:
        wire.decode_envelope(payload)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_decode_accepts_nesting_and_numbers_an_envelope_uses() -> None:
    envelope = _alert()
    payload = wire.encode_envelope(envelope).replace(b"15.2", b"9007199254740992")
    decoded = wire.decode_envelope(payload)
    assert isinstance(decoded.body, wire.AlertBody)
    assert decoded.body.evidence["seconds_since_breath"] == 2**53


def test_evidence_text_must_be_printable() -> None:
    with pytest.raises(WireError, match="control or unpaired"):
        wire.decode_envelope(wire.encode_envelope(_alert()).replace(b'"good"', b'"\\ud800"'))


def test_format_utc_writes_four_digit_years_and_refuses_out_of_range_times() -> None:
    assert wire.format_utc(wire.EARLIEST_UTC) == "1970-01-01T00:00:00.000Z"
    assert wire.parse_utc(wire.format_utc(wire.EARLIEST_UTC)) == wire.EARLIEST_UTC
    for bad in (datetime(999, 6, 1, tzinfo=UTC), wire.LATEST_UTC, datetime(1, 1, 1, tzinfo=UTC)):
        with pytest.raises(WireError):
            wire.format_utc(bad)
    with pytest.raises(WireError):
        _alert(created_at=datetime(999, 6, 1, tzinfo=UTC))


@given(st.datetimes(timezones=st.timezones()))
def test_parse_utc_of_any_iso_time_is_in_range_or_a_wire_error(moment: datetime) -> None:
    try:
        parsed = wire.parse_utc(moment.isoformat())
    except WireError:
        return
    assert wire.EARLIEST_UTC <= parsed < wire.LATEST_UTC
    assert wire.parse_utc(wire.format_utc(parsed)) == parsed.replace(
        microsecond=parsed.microsecond // 1000 * 1000
    )
