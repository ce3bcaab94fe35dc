"""One picture of a scenario: signal, detector state and events on one time axis (bench)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.detector.scenarios import Run
from edge.detector import EventKind

_COLOURS = {
    EventKind.APNOEA: "tab:red",
    EventKind.RESPIRATORY_DEPRESSION: "tab:orange",
    EventKind.DESATURATION: "tab:purple",
    EventKind.STILLNESS: "tab:brown",
    EventKind.PROLONGED_OCCUPANCY: "tab:olive",
    EventKind.NO_SIGNAL: "tab:gray",
    EventKind.RECOVERED: "tab:green",
}


def scenario_png(run: Run, path: Path) -> Path:
    """Draw ``run`` (made with ``trace=True``) into ``path`` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = run.trace
    ticks = np.array([v.t_end for v in trace])
    keys = sorted({c.key for v in trace for c in v.channels})
    fig, axes = plt.subplots(4, 1, figsize=(13, 10), sharex=True)
    ax_sig, ax_quiet, ax_rate, ax_ctx = axes
    ax_sig.plot(run.t, run.signal, lw=0.6, color="k")
    ax_sig.set_ylabel("wearable resp\n(a.u.)" if run.scenario.wearable else "radar resp (mm)")
    for key in keys:
        quiet = [
            next((c.quiet_s(v.t_end) for c in v.channels if c.key == key), np.nan) for v in trace
        ]
        ax_quiet.plot(ticks, quiet, label=f"{key[0]}.{key[1]}")
        rate = [next((c.breath.rate_bpm for c in v.channels if c.key == key), None) for v in trace]
        ax_rate.plot(
            ticks, [np.nan if r is None else r for r in rate], label=f"{key[0]}.{key[1]} b-b"
        )
        count = [
            next((c.breath.count_rate_bpm for c in v.channels if c.key == key), None) for v in trace
        ]
        ax_rate.plot(
            ticks,
            [np.nan if r is None else r for r in count],
            ls="--",
            label=f"{key[0]}.{key[1]} 60 s",
        )
    ax_quiet.axhline(15, color="tab:red", ls=":", lw=1)
    ax_quiet.axhline(20, color="tab:red", ls=":", lw=0.7)
    ax_quiet.set_ylabel("seconds without\na breath (good signal)")
    ax_quiet.legend(loc="upper left", fontsize=7)
    ax_rate.axhline(8, color="tab:orange", ls=":", lw=1)
    ax_rate.axhline(6, color="tab:orange", ls=":", lw=0.7)
    ax_rate.set_ylabel("breaths/min")
    ax_rate.set_ylim(0, 35)
    ax_rate.legend(loc="upper left", fontsize=7, ncol=2)
    spo2 = [np.nan if v.spo2_pct is None else v.spo2_pct for v in trace]
    ax_ctx.plot(ticks, spo2, color="tab:purple", label="SpO2 %")
    ax_ctx.set_ylabel("SpO2 %")
    ax_ctx.set_ylim(40, 101)
    ax_m = ax_ctx.twinx()
    motion = [np.nan if v.motion_g is None else v.motion_g for v in trace]
    ax_m.plot(ticks, motion, color="tab:cyan", lw=0.7)
    ax_m.set_ylabel("motion, std |a| (g)")
    for onset, end, _cause in run.apnoeas:
        for ax in axes:
            ax.axvspan(onset, end if end is not None else ticks[-1], color="tab:red", alpha=0.08)
    for e in run.events:
        colour = _COLOURS[e.kind]
        for ax in axes:
            ax.axvline(e.t_s, color=colour, lw=1.2, alpha=0.8)
        ax_sig.annotate(
            f"{e.kind}\n{e.severity}",
            (e.t_s, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color=colour,
            rotation=90,
            va="top",
            ha="right",
        )
    ax_ctx.set_xlabel("time (s); red band: true pause >= 10 s; vertical lines: detector events")
    fig.suptitle(f"ODART detector on scenario '{run.scenario.name}'")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
