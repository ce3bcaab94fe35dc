"""``odart bench fuzz``: a million random and mutated frames per decoder, and the crash count.

Every decoder of hostile bytes is fed frames that are either random, or valid frames (the golden
vectors in ``tests/vectors/`` and valid wire envelopes) after one to four mutations: bit flips,
interesting byte values, truncation, extension, splices of two frames, deleted or duplicated
runs, and hostile tokens (``1e400``, deep nesting, out-of-range times...). A decoder may accept a
frame or raise its package's error (``FrameError`` for device codecs, ``WireError`` for the wire
contract); anything else is a **crash**. The run prints per-decoder counts and the total number
of crashes, which must be 0 (exit status 1 otherwise), and the first few crashes to reproduce.
The same idea runs as Hypothesis tests in ``tests/firmware_bridge/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from firmware_bridge import (
    CODECS,
    LD2410_SPEC,
    MR60BHA1_SPEC,
    FrameBuffer,
    FrameError,
    FrameSpec,
    decode_contact,
    decode_message,
    wire,
)
from firmware_bridge.errors import FirmwareBridgeError, WireError

VECTORS: Final = Path(__file__).resolve().parents[1] / "tests" / "vectors"

TOKENS: Final = (
    b"1e400",
    b"-1e400",
    b"NaN",
    b"Infinity",
    b"[" * 2000,
    b"{" * 64,
    b"9" * 30,
    b'"0001-01-01T00:00:00+14:00"',
    b'"999-06-01T00:00:00.000Z"',
    b'"9999-12-31T23:59:59-14:00"',
    b'"\\ud800"',
    b'"\\u0000"',
    b"null",
    b"[]",
    b"{}",
    b'""',
    b"\xff\xfe",
)
"""Hostile tokens spliced into frames, like a fuzzer's dictionary."""

INTERESTING: Final = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
"""Byte values at the edges of signed and unsigned ranges, where length and flag bugs hide."""

RANDOM_SHARE: Final = 0.2
"""The share of purely random frames; the rest are mutated valid frames, which get deeper."""

CRASHES_SHOWN: Final = 5
"""Crashes printed with their input, per decoder: enough to reproduce, not a flood."""


@dataclass
class Target:
    """One decoder under test: its seeds and the error it may raise."""

    name: str
    decode: Callable[[bytes], object]
    allowed: type[FirmwareBridgeError]
    seeds: list[bytes]
    frames: int = 0
    accepted: int = 0
    rejected: int = 0
    crashed: int = 0
    crashes: list[tuple[str, bytes]] = field(default_factory=list)
    """The first few crashes: what was raised where, and the input."""
    seconds: float = 0.0


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """A random frame, or a valid seed after one to four fuzzer mutations."""
    longest = max(len(seed) for seed in seeds)
    if rng.random() < RANDOM_SHARE:
        return rng.randbytes(rng.randrange(2 * longest + 2))
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) + 1)
        op = rng.randrange(8)
        if op == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[min(at, len(data) - 1)] = rng.choice(INTERESTING)
        elif op == 2:
            del data[at:]
        elif op == 3:
            data += rng.randbytes(rng.randint(1, 16))
        elif op == 4:
            other = rng.choice(seeds)
            data = data[:at] + other[rng.randrange(len(other) + 1) :]
        elif op == 5:
            data[at:at] = rng.choice(TOKENS)
        elif op == 6:
            del data[at : at + rng.randint(1, 8)]
        else:
            data[at:at] = data[at : at + rng.randint(1, 8)]
    return bytes(data)


def _vector_seeds(kind: str) -> list[bytes]:
    table = json.loads((VECTORS / f"{kind}.json").read_text(encoding="utf-8"))
    return [bytes.fromhex(v["hex"].replace(" ", "")) for v in table["vectors"] if "hex" in v]


def _envelopes() -> list[wire.Envelope]:
    now = datetime(2026, 11, 22, 16, 35, 59, 123000, tzinfo=UTC)
    ids = iter(range(1, 100))

    def envelope(kind: wire.MessageKind, body: wire.Body) -> wire.Envelope:
        ulid = wire.encode_ulid(int(now.timestamp() * 1000), next(ids))
        return wire.Envelope(ulid, kind, "hostel-1", "pi-1", now, body, "wearable-3", "p-7f3a")

    alert = wire.AlertBody(
        wire.AlertKind.APNOEA,
        wire.Severity.WARNING,
        now,
        now - timedelta(seconds=15),
        {"seconds_since_breath": 15.2, "quality": "good", "spo2_pct": None},
        room_id="room-12",
        checkin_s=20.0,
    )
    entry = wire.DeviceEntry(
        "wearable-3", wire.DeviceModel.POLAR_H10, "p-7f3a", "room-12", "A0:9E:1A:12:34:56"
    )
    return [
        envelope(wire.MessageKind.ALERT, alert),
        envelope(
            wire.MessageKind.UPDATE,
            wire.UpdateBody(wire.encode_ulid(1, 1), wire.AlertUpdate.CHECKIN_EXPIRED, now),
        ),
        envelope(wire.MessageKind.DEVICE, wire.DeviceBody("connected", 87.0, -61.0)),
        envelope(wire.MessageKind.STATUS, wire.StatusBody(wire.EdgeState.ONLINE, "c-1")),
        envelope(wire.MessageKind.ACK, wire.AckBody(wire.encode_ulid(1, 1), now)),
        envelope(wire.MessageKind.CMD, wire.CommandBody("consent", {"p-7f3a": "active"})),
        envelope(wire.MessageKind.CMD, wire.CommandBody("devices", {}, (entry,))),
    ]


_TYPE: Final = re.compile(rb'"type":"([a-z]+)"')


def _wire_target() -> Target:
    envelopes = _envelopes()
    topics = {e.kind.value.encode(): str(e.topic) for e in envelopes}

    def decode(payload: bytes) -> object:
        # The topic the frame would arrive on, from its type if that survived the mutations.
        found = _TYPE.search(payload)
        topic = topics.get(found.group(1) if found else b"", str(envelopes[0].topic))
        return wire.decode_message(topic, payload)

    return Target("wire", decode, WireError, [wire.encode_envelope(e) for e in envelopes])


def _framer(spec: FrameSpec, kind: str) -> Callable[[bytes], object]:
    def decode(stream: bytes) -> object:
        framer = FrameBuffer(spec)
        decoded = []
        for start in range(0, len(stream), 7):  # arrives in small chunks, as from a UART
            for frame in framer.feed(stream[start : start + 7]):
                try:
                    decoded.append(decode_message(kind, frame))
                except FrameError:
                    continue
        return decoded

    return decode


def targets() -> list[Target]:
    """Every decoder that reads bytes from a device or the network."""
    found = [_wire_target()]
    for kind in sorted(CODECS):
        codec = CODECS[kind]
        found.append(Target(kind, codec.decode, FrameError, _vector_seeds(kind)))
    contact = [
        b'{"contact":true,"battery":91,"linkquality":120,"tamper":false}',
        b'{"contact":false}',
    ]
    found.append(Target("zigbee2mqtt_contact", decode_contact, FrameError, contact))
    for spec, kind in ((MR60BHA1_SPEC, "mr60bha1"), (LD2410_SPEC, "ld2410")):
        streams = [seed * 3 for seed in _vector_seeds(kind)]
        found.append(Target(f"{kind}_uart_stream", _framer(spec, kind), FrameError, streams))
    return found


def fuzz(target: Target, frames: int, rng: random.Random, progress: Callable[[int], None]) -> None:
    """Feed ``frames`` frames to ``target`` and record what happened."""
    step = max(frames // 10, 1)
    started = time.perf_counter()
    for n in range(1, frames + 1):
        data = mutate(rng, target.seeds)
        try:
            target.decode(data)
        except target.allowed:
            target.rejected += 1
        except Exception as error:
            where = traceback.extract_tb(error.__traceback__)[-1]
            label = f"{type(error).__name__} at {Path(where.filename).name}:{where.lineno}"
            target.crashed += 1
            if len(target.crashes) < CRASHES_SHOWN:
                target.crashes.append((label, data))
        else:
            target.accepted += 1
        if n % step == 0:
            progress(n)
    target.frames = frames
    target.seconds = time.perf_counter() - started


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="odart bench fuzz", description=__doc__)
    parser.add_argument("--frames", type=int, default=10**6, help="frames per decoder (10^6)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the random generator")
    parser.add_argument(
        "--only", action="append", default=[], metavar="DECODER", help="fuzz only these"
    )
    return parser


def run(argv: list[str]) -> int:
    """Fuzz every decoder; print counts, timings and crashes; exit 1 on any crash."""
    args = _parser().parse_args(argv)
    chosen = [t for t in targets() if not args.only or t.name in args.only]
    if not chosen:
        names = ", ".join(t.name for t in targets())
        print(f"odart bench fuzz: no decoder of that name; there are: {names}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    print(f"fuzzing {len(chosen)} decoders, {args.frames:,} frames each, seed {args.seed}")
    for target in chosen:
        started = time.perf_counter()

        def progress(done: int, name: str = target.name, since: float = started) -> None:
            elapsed = time.perf_counter() - since
            print(
                f"  {name}: {done:,}/{args.frames:,} frames, {elapsed:.1f} s",
                file=sys.stderr,
                flush=True,
            )

        fuzz(target, args.frames, rng, progress)
    _report(chosen)
    return 1 if any(t.crashed for t in chosen) else 0


def _report(done: list[Target]) -> None:
    print()
    header = f"{'decoder':<24}{'frames':>11}{'accepted':>10}{'rejected':>11}{'crashes':>9}"
    print(f"{header}{'seconds':>9}{'frames/s':>11}")
    for t in done:
        rate = t.frames / t.seconds if t.seconds else 0.0
        print(
            f"{t.name:<24}{t.frames:>11,}{t.accepted:>10,}{t.rejected:>11,}{t.crashed:>9,}"
            f"{t.seconds:>9.1f}{rate:>11,.0f}"
        )
    total = sum(t.crashed for t in done)
    frames = sum(t.frames for t in done)
    seconds = sum(t.seconds for t in done)
    print(f"\n{frames:,} frames in {seconds:.0f} s; crashes: {total}")
    for t in done:
        for label, data in t.crashes:
            print(f"  crash in {t.name}: {label}; input {data[:64].hex()}")


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
