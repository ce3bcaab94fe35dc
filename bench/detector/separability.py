"""How far shallow breathing after movement stands from a true apnoea on the chest
accelerometer's oscillation check (bench).

The accelerometer's remaining false pages fall in shallow breathing (20-30 % of before) after a
movement, whose breaths sit under the one-swing breath floor. The only evidence of that
breathing is the oscillation check's ratio (energy along the breathing axis over the noise
across it). This study runs the detector over the accelerometer conditions and collects that
ratio at every second it is measured: in shallow breathing (from 20 s after the stretch's
movement starts, when the movement is over) and in true apnoeas (13-25 s after onset, when a
page is decided). The rank AUC says how often a shallow second reads above an apnoea second: 1.0
would separate them, 0.5 not at all. Grouped by simulated or real breathing and sensor noise;
a table and a PNG of the two distributions per group.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from bench.detector.conditions import Case
from edge.detector import Detector
from edge.detector.const import OSC_BREATHING_X, OSC_STILL_X

APNOEA_FROM_S = 13.0
"""First second after an apnoea's onset sampled: the ratio needs five seconds that start 8 s
after the last breath, and the page is due at 15 s."""
APNOEA_TO_S = 25.0
SHALLOW_FROM_S = 20.0
"""A shallow stretch starts with 5-15 s of movement; sampling starts after it."""


@dataclass
class Samples:
    """Oscillation ratios of one group."""

    apnoea: list[float] = field(default_factory=list)
    shallow: list[float] = field(default_factory=list)
    recordings: int = 0

    def auc(self) -> float | None:
        """P(shallow second > apnoea second), ties counted half; None without both."""
        if not self.apnoea or not self.shallow:
            return None
        u = stats.mannwhitneyu(self.shallow, self.apnoea, alternative="greater").statistic
        return float(u) / (len(self.shallow) * len(self.apnoea))


def group_of(condition: str, case: Case) -> str:
    """``simulated`` or ``real breathing``, and the sensor's noise band."""
    kind = "real breathing" if condition == "acc_real_breathing" else "simulated"
    noise = next((g for g in case.groups if g.startswith("noise")), "noise?")
    return f"{kind}, {noise}"


def collect(case: Case, into: Samples) -> None:
    """Run the detector over ``case`` and add its ratios at the sampled seconds."""
    det = Detector(trace=True)
    t = np.arange(next(iter(case.columns.values())).size) / case.fs
    det.detect(case.columns, t)
    into.recordings += 1
    for view in det.trace:
        ratio = next(
            (c.breath.osc_ratio for c in view.channels if c.key[1] == "acc" and c.breath), None
        )
        if ratio is None:
            continue
        te = view.t_end
        if any(on + APNOEA_FROM_S <= te <= min(end, on + APNOEA_TO_S) for on, end in case.apnoeas):
            into.apnoea.append(ratio)
        elif any(start + SHALLOW_FROM_S <= te <= end for start, end in case.not_apnoea):
            into.shallow.append(ratio)


def study(conditions: Iterable[tuple[str, Iterable[Case]]]) -> dict[str, Samples]:
    """Samples per group over the accelerometer conditions given."""
    groups: dict[str, Samples] = {}
    for name, cases in conditions:
        if not name.startswith("acc"):
            continue
        for case in cases:
            collect(case, groups.setdefault(group_of(name, case), Samples()))
    return groups


def table(groups: dict[str, Samples]) -> list[str]:
    """One line per group: counts, quantiles of each side, the share of shallow seconds under
    the veto's ``OSC_BREATHING_X`` (where a page can fall), and the AUC."""

    def q(values: list[float]) -> str:
        if not values:
            return "-"
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        return f"{p5:5.2f} {p50:5.2f} {p95:6.2f}"

    lines = [
        "== accelerometer: shallow breathing after movement against apnoea, oscillation ratio ==",
        f"   {'group':30} {'rec':>4} {'apnoea s':>8} {'5/50/95 %':>18} {'shallow s':>9}"
        f" {'5/50/95 %':>18} {'shallow < 3x':>12} {'AUC':>5}",
    ]
    for name in sorted(groups):
        g = groups[name]
        under = f"{np.mean(np.array(g.shallow) < OSC_BREATHING_X):12.0%}" if g.shallow else "-"
        auc = g.auc()
        lines.append(
            f"   {name:30} {g.recordings:>4} {len(g.apnoea):>8} {q(g.apnoea):>18}"
            f" {len(g.shallow):>9} {q(g.shallow):>18} {under:>12}"
            f" {'-' if auc is None else f'{auc:.2f}':>5}"
        )
    return lines


def png(groups: dict[str, Samples], path: Path) -> Path:
    """Histograms of log10 ratio, apnoea against shallow, one panel per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(groups)
    cols = 2
    rows = max(1, (len(names) + cols - 1) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3.6 * rows), squeeze=False)
    bins = np.linspace(-1.0, 2.5, 50)
    for ax, name in zip(axes.flat, names, strict=False):
        g = groups[name]
        for values, label, colour in (
            (g.apnoea, "true apnoea, 13-25 s", "tab:red"),
            (g.shallow, "shallow breathing after movement", "tab:blue"),
        ):
            if values:
                ax.hist(
                    np.log10(np.maximum(values, 0.1)),
                    bins=bins,
                    density=True,
                    alpha=0.5,
                    color=colour,
                    label=f"{label} (n={len(values)})",
                )
        for x, text in ((OSC_STILL_X, "still"), (OSC_BREATHING_X, "veto")):
            ax.axvline(np.log10(x), color="k", ls="--", lw=0.8)
            ax.text(
                np.log10(x),
                0.5,
                f"{text} {x:g}x ",
                rotation=90,
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                ha="right",
                va="center",
            )
        auc = g.auc()
        ax.set_title(f"{name}: AUC {'-' if auc is None else f'{auc:.2f}'}", fontsize=10)
        ax.set_xlabel("log10 oscillation ratio (along-axis energy / noise across)")
        ax.legend(fontsize=7, loc="upper right")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
