"""How much CPU the physiology simulator costs per simulated second (benchmark, prints figures).

Run: ``.venv/bin/python bench/bench_physiology.py``

The live demo advances three wearables (and their rooms) one second at a time, so the figure
that matters is the cost of one ``advance(1.0)`` per wearable: it must stay far below 1 ms.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from simulators.library import LIBRARY
from simulators.physiology import PhysiologyStream, simulate

WARMUP_S = 30
"""Seconds advanced before timing, so first-call costs (imports, caches) are not counted."""


def _per_call_us(step: Callable[[], object], calls: int, repeats: int) -> float:
    """Best-of-``repeats`` mean wall time of ``step`` in microseconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def bench_stream(preset: str, seconds: int, repeats: int, *, room: bool, blocks: bool) -> float:
    """Microseconds per wearable-second for one-second advances of a preset."""
    params, episodes = LIBRARY[preset].build()
    stream = PhysiologyStream(params, episodes, np.random.default_rng(1))
    room_stream = stream.room() if room else None
    stream.advance(WARMUP_S)
    if room_stream is not None:
        room_stream.advance(WARMUP_S)

    def step() -> None:
        if blocks:
            stream.advance_blocks(1.0, "wearable")
        else:
            stream.advance(1.0)
        if room_stream is not None:
            chunk = room_stream.advance(1.0)
            if blocks:
                chunk.sample_blocks("radar")

    return _per_call_us(step, seconds // repeats, repeats)


def bench_simulate(preset: str, repeats: int) -> tuple[float, float]:
    """Whole-recording cost: (ms per recording, microseconds per simulated second)."""
    entry = LIBRARY[preset]
    params, episodes = entry.build()
    us = _per_call_us(lambda: simulate(params, episodes, entry.duration_s, seed=1), 1, repeats)
    return us / 1000.0, us / entry.duration_s


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3000, help="one-second steps to time")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    print(f"{'preset':<20} {'wearable':>10} {'+blocks':>10} {'+room':>10}  (us per second)")
    for preset in ("normal_rest", "gradual_overdose", "talking", "shower", "sensor_swapped"):
        figures = [
            bench_stream(preset, args.seconds, args.repeats, room=room, blocks=blocks)
            for room, blocks in ((False, False), (False, True), (True, True))
        ]
        print(f"{preset:<20} " + " ".join(f"{f:>10.1f}" for f in figures))
    demo = 3 * bench_stream("normal_rest", args.seconds, args.repeats, room=True, blocks=True)
    print(f"live demo, 3 wearables + rooms with blocks: {demo:.0f} us per second of wall time")
    print(f"{'whole recording':<20} {'ms':>10} {'us/sim-s':>10}")
    for preset in ("normal_rest", "gradual_overdose", "shower"):
        ms, us = bench_simulate(preset, args.repeats)
        print(f"{preset:<20} {ms:>10.1f} {us:>10.1f}")


if __name__ == "__main__":
    main()
