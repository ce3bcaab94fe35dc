"""Frames decoded per second on one core, per device codec and for the UART framers (benchmark).

Run: ``.venv/bin/python bench/bench_codecs.py`` (``--seconds`` per figure, default 0.5).

A figure, not a test: it prints one line per codec. A site's edge decodes a few hundred frames
a second at most (a wearable at 10 Hz, a Polar H10 ECG at ~10 frames/s, two radars at ~10 Hz),
so anything above ~10^4 frames/s/core leaves the Pi's CPU to the detector.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from firmware_bridge import (
    LD2410_SPEC,
    MR60BHA1_SPEC,
    AccelSamples,
    FrameBuffer,
    HeartRateMeasurement,
    Mr60Frame,
    PlxContinuous,
    PmdDataFrame,
    PmdMeasurementType,
    SFloat,
    SpO2PulseRate,
    compress_blocks,
    decode_message,
    encode_message,
)

LD2410_REPORT = bytes.fromhex("F4F3F2F10D0002AA025100000000003B005500F8F7F6F5")


def _frames() -> dict[str, bytes]:
    """One representative, realistically sized frame per codec kind."""
    acc = tuple((i % 7, -i % 5, 1000 + i) for i in range(36))
    ecg = tuple((i * 3 % 200 - 100,) for i in range(73))
    return {
        "heart_rate": encode_message(
            HeartRateMeasurement(72, False, True, True, None, (853, 860, 847))
        ),
        "plx_continuous": encode_message(PlxContinuous(SpO2PulseRate(SFloat(98), SFloat(72)))),
        "plx_spot_check": bytes.fromhex("0F62004800E8070B16102705002000080032F0"),
        "battery_level": bytes([87]),
        "alert_level": bytes([2]),
        "polar_pmd (ECG raw, 73 samples)": encode_message(
            PmdDataFrame(PmdMeasurementType.ECG, 10**17, 0, ecg)
        ),
        "polar_pmd (ACC delta, 36 samples)": encode_message(
            PmdDataFrame(PmdMeasurementType.ACC, 10**17, 1, acc, True, 16, compress_blocks(acc, 12))
        ),
        "polar_pmd_control": bytes.fromhex("020200 01C8000101100002010800".replace(" ", "")),
        "odart_wearable (13 samples)": encode_message(
            AccelSamples(1, 1000, 25, tuple((0, -12, 1000 + i) for i in range(13)))
        ),
        "mr60bha1": encode_message(Mr60Frame(0x85, 0x02, bytes([72]))),
        "ld2410": LD2410_REPORT,
    }


def _rate(step: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``step`` over about ``seconds`` of wall time."""
    calls, start = 0, time.perf_counter()
    batch = 100
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            step()
        calls += batch
    return calls / elapsed


def main() -> None:
    """Print frames decoded per second per core for every codec and both framers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per figure")
    args = parser.parse_args()
    print(f"{'codec':<36} {'bytes':>5} {'frames/s/core':>14}")
    for label, frame in _frames().items():
        kind = label.split(" ")[0]
        decode_message(kind, frame)  # warm up, and prove the frame is valid
        rate = _rate(lambda k=kind, f=frame: decode_message(k, f), args.seconds)
        print(f"{label:<36} {len(frame):>5} {rate:>14,.0f}")
    for name, spec, frame in (
        ("framer mr60bha1 (noisy stream)", MR60BHA1_SPEC, _frames()["mr60bha1"]),
        ("framer ld2410 (noisy stream)", LD2410_SPEC, LD2410_REPORT),
    ):
        stream = (b"\x00junk" + frame) * 200
        framer = FrameBuffer(spec)
        start = time.perf_counter()
        found = 0
        while time.perf_counter() - start < args.seconds:
            found += len(framer.feed(stream))
        rate = found / (time.perf_counter() - start)
        print(f"{name:<36} {len(frame):>5} {rate:>14,.0f}")


if __name__ == "__main__":
    main()
