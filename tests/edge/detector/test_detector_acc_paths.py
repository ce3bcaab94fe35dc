"""The accelerometer's per-second fast paths give what the plain definitions give."""

from __future__ import annotations

import numpy as np

from edge.detector import Detector, EventKind, Source
from edge.detector.accel import _movement
from firmware_bridge.samples import Channel, SampleBlock

from .signals import FS_HZ, chest_acc


def test_acc_axes_sent_in_different_block_sizes_give_the_events_of_one_batch() -> None:
    # Each axis in its own block size, so the three never line up: the detector must join
    # them sample by sample, as a device that sends axes separately would.
    rec = chest_acc(180.0, stop_s=100.0, seed=13)
    batch = Detector().detect(rec.columns, rec.t)
    sizes = {"acc_x": 10, "acc_y": 25, "acc_z": 63}
    pieces = []
    for name, n in sizes.items():
        col = rec.columns[name]
        for lo in range(0, col.size, n):
            values = tuple(col[lo : lo + n].tolist())
            pieces.append(
                (
                    float(rec.t[lo]),
                    SampleBlock("dev", Channel(name), float(rec.t[lo]), FS_HZ, values),
                )
            )
    pieces.sort(key=lambda p: p[0])
    det = Detector()
    events = [e for _, b in pieces for e in det.update(b, source=Source.WEARABLE)] + det.flush()
    assert [e.kind for e in batch][:1] == [EventKind.APNOEA]
    # Equal up to the float rounding of the block start times (t0 + n / fs per piece).
    assert [(e.kind, e.t_s, dict(e.evidence)) for e in events] == [
        (e.kind, e.t_s, dict(e.evidence)) for e in batch
    ]
    assert np.allclose([e.onset_s for e in events], [e.onset_s for e in batch], atol=1e-9)


def test_movement_summaries_equal_their_plain_definitions() -> None:
    rng = np.random.default_rng(5)
    n = round(FS_HZ)
    idx = np.arange(n)
    for _ in range(50):
        gravity = rng.normal(size=(3, 1))
        gravity /= np.linalg.norm(gravity)
        drift = rng.normal(0.0, 0.01, size=(3, 1)) * idx / n
        x = gravity + drift + rng.normal(0.0, rng.uniform(1e-4, 0.05), size=(3, n))
        motion, movement, mean = _movement(x)
        # std of |a|; std of the vector about each axis's least-squares line; the mean vector
        residual = [row - np.polyval(np.polyfit(idx, row, 1), idx) for row in x]
        expected = np.sqrt(sum(float(r @ r) for r in residual) / n)
        assert np.isclose(motion, np.std(np.linalg.norm(x, axis=0)), rtol=1e-6, atol=1e-9)
        assert np.isclose(movement, expected, rtol=1e-6, atol=1e-9)
        assert np.allclose(mean, x.mean(axis=1), rtol=1e-12, atol=1e-15)
