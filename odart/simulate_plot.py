"""A picture of a scenario run: signals, detector alerts and each alert's hops (shell, matplotlib).

Four rows sharing the simulated time axis: the chest accelerometer's breathing axis, SpO2 and
heart rate, the radar's breathing waveform and presence, and the alert timeline (one line per
alert from onset to its last hop, with a mark per hop), over the scenario's timeline events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import matplotlib as mpl
import numpy as np

mpl.use("Agg")

import matplotlib.pyplot as plt  # after mpl.use: the backend must be chosen first

from odart.simulate_report import Report

HOP_MARKS: Final = {
    "onset": ("o", "tab:gray"),
    "detected": ("^", "tab:orange"),
    "stored": ("s", "tab:blue"),
    "notified": ("D", "tab:purple"),
    "acknowledged": ("P", "tab:green"),
    "en_route": (">", "tab:green"),
    "on_scene": ("*", "tab:green"),
    "resolved": ("X", "black"),
    "cancelled": ("x", "tab:red"),
}
"""Marker and colour of each hop on the alert row."""

BREATH_VIEW_PCT: Final = 2.0
"""The accelerometer row shows the 2nd-98th percentile (plus a margin): breathing moves it by
milli-g, a motion burst by a tenth of a g, and the bursts would flatten the breaths."""

DPI: Final = 110
"""Enough to read the labels on a laptop screen; keeps the PNG around 150 kB."""


def _series(report: Report, suffix: str) -> list[tuple[str, list[float], list[float]]]:
    found = []
    for name, points in sorted(report.signals.items()):
        if name.endswith(suffix) and points:
            found.append((name, [p[0] for p in points], [p[1] for p in points]))
    return found


def plot(report: Report, path: Path) -> Path:
    """Draw ``report`` into the PNG ``path`` and return it."""
    fig, axes = plt.subplots(4, 1, figsize=(12, 9), sharex=True, height_ratios=(2, 2, 2, 3))
    acc, vitals, radar, alerts = axes
    for name, t, v in _series(report, "/acc_z"):
        acc.plot(t, v, lw=0.6, label=name)
        low, high = np.nanpercentile(v, [BREATH_VIEW_PCT, 100 - BREATH_VIEW_PCT])
        margin = max(high - low, 0.002)
        acc.set_ylim(low - margin, high + margin)  # breathing tilt, not the motion bursts
    acc.set_ylabel("chest acc z (g)")
    for name, t, v in _series(report, "/spo2"):
        vitals.plot(t, v, lw=1.0, color="tab:blue", label=name)
    vitals.set_ylabel("SpO2 (%)")
    heart = vitals.twinx()
    for name, t, v in _series(report, "/hr"):
        heart.plot(t, v, lw=0.8, color="tab:red", label=name)
    heart.set_ylabel("HR (bpm)")
    for name, t, v in _series(report, "/resp"):
        radar.plot(t, v, lw=0.6, label=name)
    for name, t, v in _series(report, "/presence"):
        radar.fill_between(t, 0, v, step="post", alpha=0.15, label=name)
    radar.set_ylabel("radar")
    rows = report.observed.observation.alerts
    for row, alert in enumerate(rows):
        hops = report.hop_rows(alert)
        times = [h["t_s"] for h in hops]
        alerts.plot([min(times), max(times)], [row, row], color="lightgray", lw=2, zorder=1)
        for hop in hops:
            marker, colour = HOP_MARKS.get(hop["hop"], ("|", "tab:red"))
            alerts.scatter(hop["t_s"], row, marker=marker, color=colour, zorder=2, s=36)
    alerts.set_yticks(
        range(len(rows)),
        [f"{a.kind} ({a.severity}) {a.person or ''}" for a in rows],
        fontsize=8,
    )
    alerts.set_ylim(-1, max(len(rows), 1))
    alerts.set_xlabel("simulated time (s)")
    for marker_name, (marker, colour) in HOP_MARKS.items():
        alerts.scatter([], [], marker=marker, color=colour, label=marker_name)
    alerts.scatter([], [], marker="|", color="tab:red", label="escalated")
    alerts.legend(fontsize=7, ncol=5, loc="upper left")
    for ax in axes:
        for event in report.scenario.timeline:
            end = event.at_s + (event.duration_s or 0.0)
            ax.axvspan(event.at_s, max(end, event.at_s + 1), color="gold", alpha=0.15)
        ax.set_xlim(0, report.scenario.duration_s)
    for event in report.scenario.timeline:
        acc.annotate(
            event.event,
            (event.at_s, 1),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            va="top",
            rotation=90,
        )
    verdict = "PASS" if report.passed else "FAIL"
    fig.suptitle(f"{report.scenario.name}: {verdict}  (x{report.speed:g})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
