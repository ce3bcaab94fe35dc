"""Fuzzing with Hypothesis: hostile bytes raise only the package's own errors, never a crash.

Valid messages are built, then mutated the way a fuzzer does (bit flips, truncation, extension,
splices, hostile JSON tokens), and fed to the wire decoder and to every device codec. The long
run of the same idea is ``odart bench fuzz``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import (
    KINDS,
    LD2410_SPEC,
    MR60BHA1_SPEC,
    FrameBuffer,
    FrameError,
    decode_contact,
    decode_message,
    encode_message,
    wire,
)
from firmware_bridge.errors import WireError
from tests.firmware_bridge import strategies as fbs

NOW = datetime(2026, 11, 22, 16, 35, 59, 123000, tzinfo=UTC)

HOSTILE_TOKENS = (
    b"1e400",
    b"-1e400",
    b"NaN",
    b"Infinity",
    b"[" * 64,
    b"{" * 64,
    b"9" * 30,
    b'"0001-01-01T00:00:00+14:00"',
    b'"0999-06-01T00:00:00Z"',
    b'"9999-12-31T23:59:59-14:00"',
    b'"\\ud800"',
    b'"\\u0000"',
    b"null",
    b"true",
    b"[]",
    b"{}",
    b'""',
    b"-0",
    b"\xff",
)
"""What a hostile peer tries first, spliced into valid payloads (like a fuzzer's dictionary)."""

MIN_ALERT_MS = int(NOW.timestamp() * 1000)
DEVICE = wire.DeviceEntry(
    "wearable-1", wire.DeviceModel.POLAR_H10, "p-0001", "room-3", "A0:9E:1A:12:34:56"
)


@st.composite
def envelopes(draw: st.DrawFn) -> wire.Envelope:
    """A valid envelope of any kind the edge or server sends."""
    at = NOW + timedelta(milliseconds=draw(st.integers(0, 10**9)))
    ulid = wire.encode_ulid(MIN_ALERT_MS, draw(st.integers(0, 2**80 - 1)))
    body: wire.Body = draw(
        st.one_of(
            st.builds(
                wire.AlertBody,
                st.sampled_from(wire.AlertKind),
                st.sampled_from(wire.Severity),
                st.just(at),
                st.just(at - timedelta(seconds=15)),
                st.dictionaries(
                    st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True),
                    st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.booleans(),
                    max_size=4,
                ),
                st.none() | st.just("room-3"),
                st.none() | st.floats(1, wire.MAX_CHECKIN_S),
            ),
            st.builds(wire.DeviceBody, st.just("connected"), st.none() | st.floats(0, 100)),
            st.builds(wire.StatusBody, st.sampled_from(wire.EdgeState), st.just("c1")),
            st.builds(wire.CommandBody, st.just("consent"), st.just({"p-0001": "active"})),
            st.builds(wire.CommandBody, st.just("devices"), st.just({}), st.just((DEVICE,))),
            st.builds(
                wire.UpdateBody, st.just(ulid), st.sampled_from(wire.AlertUpdate), st.just(at)
            ),
        )
    )
    kind = {
        wire.AlertBody: wire.MessageKind.ALERT,
        wire.DeviceBody: wire.MessageKind.DEVICE,
        wire.StatusBody: wire.MessageKind.STATUS,
        wire.UpdateBody: wire.MessageKind.UPDATE,
        wire.CommandBody: wire.MessageKind.CMD,
    }[type(body)]
    return wire.Envelope(ulid, kind, "hostel-1", "pi-1", at, body, "wearable-1", "p-0001", at)


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    """``valid`` after one to four fuzzer mutations."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["flip", "truncate", "extend", "splice", "token", "delete"])):
            case "flip" if data:
                index = min(at, len(data) - 1)
                data[index] ^= 1 << draw(st.integers(0, 7))
            case "truncate":
                del data[at:]
            case "extend":
                data += draw(st.binary(min_size=1, max_size=16))
            case "splice":
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
            case "token":
                data[at:at] = draw(st.sampled_from(HOSTILE_TOKENS))
            case _:
                del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def _topic(envelope: wire.Envelope) -> str:
    return str(envelope.topic)


@given(st.data())
def test_fuzz_wire_decoder_raises_only_wire_error(data: st.DataObject) -> None:
    envelope = data.draw(envelopes())
    payload = data.draw(mutated(wire.encode_envelope(envelope)))
    try:
        decoded = wire.decode_message(_topic(envelope), payload)
    except WireError:
        return
    assert wire.decode_message(_topic(decoded), wire.encode_envelope(decoded)) == decoded


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["0001-01-01T00:00:00+14:00", "2026-11-22T16:35:59Z", "apnoea", "pi-1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@given(st.data())
def test_fuzz_wire_decoder_survives_any_value_in_any_field(data: st.DataObject) -> None:
    envelope = data.draw(envelopes())
    document = json.loads(wire.encode_envelope(envelope))
    where = data.draw(st.sampled_from([document, document["body"]]))
    where[data.draw(st.sampled_from(sorted(where)))] = data.draw(JSON_VALUES)
    try:
        payload = json.dumps(document).encode()
    except ValueError:  # pragma: no cover - json.dumps allows NaN by default
        return
    try:
        wire.decode_message(_topic(envelope), payload)
    except WireError:
        return


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_fuzz_codec_mutated_frames_raise_only_frame_error(kind: str, data: st.DataObject) -> None:
    message = data.draw(fbs.messages_of(kind))
    frame = data.draw(mutated(encode_message(message)))
    try:
        decoded = decode_message(kind, frame)
    except FrameError:
        return
    assert decode_message(kind, encode_message(decoded)) == decoded


@given(st.data())
def test_fuzz_uart_framers_never_raise(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from([MR60BHA1_SPEC, LD2410_SPEC]))
    kind = "mr60bha1" if spec is MR60BHA1_SPEC else "ld2410"
    message = data.draw(fbs.messages_of(kind))
    stream = data.draw(mutated(encode_message(message) * 3))
    framer = FrameBuffer(spec)
    frames = []
    for start in range(0, len(stream), 7):
        frames += framer.feed(stream[start : start + 7])
    for frame in frames:
        try:
            decode_message(kind, frame)
        except FrameError:
            continue


@given(st.data())
def test_fuzz_contact_decoder_raises_only_frame_error(data: st.DataObject) -> None:
    valid = b'{"contact":true,"battery":91,"linkquality":120,"tamper":false}'
    try:
        decode_contact(data.draw(mutated(valid)))
    except FrameError:
        return


def test_bench_fuzz_runs_through_odart_and_reports_zero_crashes() -> None:
    only = ["--only", "wire", "--only", "polar_pmd", "--only", "mr60bha1_uart_stream"]
    done = subprocess.run(
        [sys.executable, "-m", "odart.cli", "bench", "fuzz", "--frames", "2000", *only],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "crashes: 0" in done.stdout
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line}
    assert rows["wire"][1] == rows["polar_pmd"][1] == "2,000"
    assert "wire: 2,000/2,000 frames" in done.stderr  # progress


def test_bench_fuzz_counts_an_escaping_exception_as_a_crash() -> None:
    from bench.fuzz import Target, fuzz

    def fragile(data: bytes) -> object:
        if len(data) > 3:
            raise FrameError("test", "too long")
        return data[0] / (data[0] - data[0])  # ZeroDivisionError, or IndexError when empty

    target = Target("fragile", fragile, FrameError, [b"\x01\x02"])
    fuzz(target, 500, random.Random(1), lambda done: None)
    assert target.crashed > 0
    assert target.crashed + target.rejected + target.accepted == 500
    assert target.crashes[0][0].startswith(("ZeroDivisionError", "IndexError"))
