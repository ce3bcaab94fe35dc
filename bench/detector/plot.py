"""One picture of a scenario: signal, detector state and events on one time axis (bench)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.detector.scenarios import Run
from edge.detector import EventKind
from edge.detector.const import (
    OSC_BREATHING_X,
    OSC_SEEN_X,
    OSC_STILL_X,
    SPECTRAL_TRUST,
)

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


def condition_png(
    title: str,
    t: np.ndarray,
    sig: np.ndarray,
    trace: list,  # list[TickView]
    events: list,  # list[DetectionEvent]
    truth: dict[str, list[tuple[float, float]]],
    path: Path,
) -> Path:
    """Signal, the detector's noise floor and breath amplitude, and its events, for one
    recording of a condition (made with ``Detector(trace=True)``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ticks = np.array([v.t_end for v in trace])
    chans = [v.channels[0] if v.channels else None for v in trace]

    def series(get: object) -> np.ndarray:
        out = []
        for c in chans:
            value = None if c is None else get(c)  # type: ignore[operator]
            out.append(np.nan if value is None else value)
        return np.array(out, dtype=float)

    osc = series(lambda c: c.breath.osc_ratio)
    rows = 4 if np.isfinite(osc).any() else 3
    fig, axes = plt.subplots(rows, 1, figsize=(14, 3 * rows), sharex=True)
    ax_sig, ax_amp, ax_q = axes[:3]
    if rows == 4:
        ax_osc = axes[3]
        ax_osc.semilogy(ticks, osc, lw=0.8, color="tab:blue", label="energy along / noise across")
        for level, what in (
            (OSC_STILL_X, "still"),
            (OSC_BREATHING_X, "breathing movement"),
            (OSC_SEEN_X, "clear movement"),
        ):
            ax_osc.axhline(level, color="tab:gray", ls=":", lw=1)
            ax_osc.annotate(what, (0.0, level), xycoords=("axes fraction", "data"), fontsize=6)
        ax_osc.set_ylabel("oscillation check\n(0.15-0.5 Hz, 10 s)")
        ax_osc.legend(loc="upper left", fontsize=7)
    ax_sig.plot(t, sig, lw=0.5, color="k")
    ax_sig.set_ylabel("respiration signal\n(belt a.u. / acc PC1 g)")
    ax_amp.semilogy(
        ticks, series(lambda c: c.breath.amplitude), label="breath amplitude (baseline)"
    )
    ax_amp.semilogy(ticks, series(lambda c: c.breath.floor), label="smallest believable breath")
    ax_amp.semilogy(ticks, series(lambda c: c.breath.noise), label="noise floor (in-band std)")
    ax_amp.semilogy(
        ticks, series(lambda c: c.breath.ripple), lw=0.8, label="fast (cardiac) ripple, p-p"
    )
    ax_amp.set_ylabel("signal units (log)")
    ax_amp.legend(loc="upper left", fontsize=7)
    quiet = np.array(
        [np.nan if c is None else c.quiet_s(v.t_end) for c, v in zip(chans, trace, strict=True)]
    )
    ax_q.plot(ticks, quiet, color="tab:blue", label="seconds without a breath")
    ax_q.plot(
        ticks, series(lambda c: c.breath.count_rate_bpm), color="tab:green", label="60 s rate"
    )

    def clear_peak(c: object) -> float | None:
        sp = c.spectrum  # type: ignore[attr-defined]
        return sp.rate_bpm if sp is not None and sp.concentration >= SPECTRAL_TRUST else None

    ax_q.plot(
        ticks,
        series(clear_peak),
        ".",
        ms=2,
        color="tab:purple",
        label="spectral rate (clear peak)",
    )
    ax_q.axhline(15, color="tab:red", ls=":", lw=1)
    ax_q.axhline(8, color="tab:orange", ls=":", lw=1)
    ax_q.set_ylim(0, 40)
    ax_q.set_ylabel("s / breaths per min")
    ax_q.legend(loc="upper left", fontsize=7)
    colours = {"apnoeas": "tab:red", "slowed": "tab:orange", "not_apnoea": "tab:gray"}
    for key, spans in truth.items():
        for a, b in spans:
            for ax in axes:
                ax.axvspan(a, b, color=colours[key], alpha=0.12)
    for e in events:
        colour = _COLOURS[e.kind]
        for ax in axes:
            ax.axvline(e.t_s, color=colour, lw=1.0, alpha=0.8)
        ax_sig.annotate(
            str(e.kind),
            (e.t_s, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=6,
            color=colour,
            rotation=90,
            va="top",
            ha="right",
        )
    axes[-1].set_xlabel(
        "time (s); shaded: true apnoea (red), slowed (orange), artefact + shallow (grey); "
        "lines: detector events"
    )
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
