"""``odart bench detector``: the detector's figures against known truth and NeuroKit2 (bench).

Sections: the synthetic scenario set (simulator, known truth); the widened development set
(``conditions.py``: real belts with injected apnoeas, slowed breathing and artefacts followed by
shallow breathing; simulated chest accelerometers over a wide range of tilt, noise, quantisation
and posture), scored per condition for the detector and for NeuroKit2's ``rsp_process`` + "no
breath peak for 15 s"; CPU cost per wearable stream. Prints the table, writes a PNG per condition
(signal, noise floor, breath amplitude, events) and one of a scenario, plus a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from bench.detector import (
    acc_real,
    baseline,
    belt,
    conditions,
    evaluate,
    recordings,
    scenarios,
    separability,
)
from bench.detector.plot import condition_png, scenario_png
from edge.detector import DetectionEvent, Detector, EventKind, Source

QUICK_SCENARIOS = ("abrupt_apnoea", "breath_holds_and_sighs")
PLOT_SCENARIO = "wearable_and_radar_overdose"
GROUP_SEP = " | "
"""Joins a condition and its sub-row (the accelerometer's noise band) in the table's keys."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="odart bench detector", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    p.add_argument("--split", choices=conditions.SPLITS, default="dev", help="recording pool")
    p.add_argument("--trials", type=int, default=4, help="biopeaks trials per belt condition")
    p.add_argument("--pyphysio-trials", type=int, default=10, help="pyphysio apnoea trials")
    p.add_argument("--systole-trials", type=int, default=4, help="systole belt trials")
    p.add_argument(
        "--scanphyslog-trials", type=int, default=8, help="trials per scanphyslog2bids belt"
    )
    p.add_argument("--acc-per-belt", type=int, default=3, help="sensors per real-belt trial")
    p.add_argument("--acc", type=int, default=20, help="simulated recordings per tilt band")
    p.add_argument("--only", default="", help="run only conditions whose name contains this")
    p.add_argument("--seed", type=int, default=20261122, help="seed of the injections")
    p.add_argument("--out", type=Path, default=Path("artifacts/bench"), help="PNG/JSON folder")
    p.add_argument("--scenario", default=PLOT_SCENARIO, help="scenario to plot")
    p.add_argument(
        "--separability",
        action="store_true",
        help="only the accelerometer study: shallow breathing after movement against apnoea "
        "on the oscillation check (table and PNG; see separability.py)",
    )
    return p


def _scenarios(quick: bool, plot_name: str, out: Path) -> tuple[list[dict[str, object]], Path]:
    names = QUICK_SCENARIOS if quick else None
    rows: list[dict[str, object]] = []
    for sc in scenarios.scenarios():
        if names is not None and sc.name not in names:
            continue
        r = scenarios.run(sc)
        onsets = [on for on, _, cause in r.apnoeas if cause == "apnoea"]
        apnoea_t = [e.t_s for e in r.events if e.kind is EventKind.APNOEA]
        latency = None
        if onsets and apnoea_t:
            # The simulator's onset is the end of its last breath, however shallow; an alarm up
            # to 20 s before it means the detector already counted those last breaths as absent.
            after = [t for t in apnoea_t if t >= onsets[0] - 20.0]
            latency = round(after[0] - onsets[0], 1) if after else None
        rows.append(
            {
                "scenario": sc.name,
                "pass": r.passed,
                "events": ",".join(f"{e.kind}/{e.severity[0]}" for e in r.events) or "-",
                "apnoea_latency_s": latency,
            }
        )
    chosen = next(
        s for s in scenarios.scenarios() if s.name == (QUICK_SCENARIOS[0] if quick else plot_name)
    )
    png = scenario_png(scenarios.run(chosen, trace=True), out / f"detector_{chosen.name}.png")
    return rows, png


def _events_to_alarms(
    events: list[DetectionEvent],
) -> tuple[list[float], list[float], list[float], list[tuple[float, float]]]:
    """Apnoea alarms, slowed-breathing alarms, other events and no-signal warning intervals."""
    apnoea = [e.t_s for e in events if e.kind is EventKind.APNOEA]
    slowed = [e.t_s for e in events if e.kind is EventKind.RESPIRATORY_DEPRESSION]
    other = [e.t_s for e in events if e.kind not in (EventKind.APNOEA, EventKind.STILLNESS)]
    warnings: list[tuple[float, float]] = []
    start: float | None = None
    for e in events:
        if e.kind is EventKind.NO_SIGNAL and start is None:
            start = e.t_s
        elif e.kind is EventKind.RECOVERED and e.evidence.get("cleared") == "no_signal":
            if start is not None:
                # Until the signal became usable again, not until the warning was cleared.
                warnings.append((start, e.onset_s))
            start = None
    if start is not None:
        warnings.append((start, float("inf")))
    return apnoea, slowed, other, warnings


def _conditions(
    args: argparse.Namespace,
) -> Iterator[tuple[str, Iterator[conditions.Case]]]:
    quick = args.quick
    acc_n = 1 if quick else args.acc
    biopeaks = ("belt_biopeaks", "belt_biopeaks_artefacts")
    if not quick and any(args.only in name for name in biopeaks):
        try:
            full = belt.load()
        except FileNotFoundError as exc:
            print(f"biopeaks conditions skipped: {exc}")
        else:
            for artefacts, name in zip((False, True), biopeaks, strict=True):
                yield (
                    name,
                    conditions.belt_cases(
                        args.split, full, args.trials, args.seed, artefacts=artefacts
                    ),
                )
    if args.split == "dev":
        try:
            recordings.pyphysio_path()
        except FileNotFoundError as exc:
            print(f"pyphysio condition skipped: {exc}")
        else:
            n = 1 if quick else args.pyphysio_trials
            yield "belt_pyphysio", conditions.pyphysio_cases(n, args.seed)
        # Fetched on first use (about 20 s): only when asked for, never in the quick run.
        if not quick and args.only in "belt_systole" and _found("systole", recordings.systole_path):
            yield "belt_systole", conditions.systole_cases(args.systole_trials, args.seed)
        if (
            not quick
            and args.only in "belt_scanphyslog"
            and _found("scanphyslog2bids", recordings.scanphyslog_path)
        ):
            yield (
                "belt_scanphyslog",
                conditions.scanphyslog_cases(args.scanphyslog_trials, args.seed),
            )
    for band in conditions.TILT_BANDS_G:
        yield band, conditions.acc_cases(args.split, band, acc_n)
    if not quick and args.only in "acc_real_breathing":
        yield "acc_real_breathing", _acc_real(args)


def _found(what: str, probe: Callable[[], object]) -> bool:
    """Whether a recording is available; if not, say why it is skipped."""
    try:
        probe()
    except FileNotFoundError as exc:
        print(f"{what} skipped: {exc}")
        return False
    return True


def _acc_real(args: argparse.Namespace) -> Iterator[conditions.Case]:
    """Chest accelerometers breathing the real belts' breaths (``acc_real.py``): each belt
    trial on ``--acc-per-belt`` random sensors."""
    sources: list[Iterator[conditions.Case]] = []
    try:
        full = belt.load()
    except FileNotFoundError as exc:
        print(f"acc_real_breathing: biopeaks belt skipped: {exc}")
    else:
        sources.append(
            conditions.belt_cases(args.split, full, args.trials, args.seed, artefacts=True)
        )
    if args.split == "dev" and _found("acc_real_breathing: systole", recordings.systole_path):
        sources.append(conditions.systole_cases(args.systole_trials, args.seed))
    if args.split == "dev" and _found(
        "acc_real_breathing: scanphyslog2bids", recordings.scanphyslog_path
    ):
        sources.append(conditions.scanphyslog_cases(args.scanphyslog_trials, args.seed))
    rng = np.random.default_rng([args.seed, 13, conditions.SPLITS.index(args.split)])
    for cases in sources:
        for case in cases:
            if not case.apnoeas:
                continue  # the clean recordings are scored as belts
            for k in range(args.acc_per_belt):
                yield acc_real.to_acc(case, rng, k)


def _evaluate(
    args: argparse.Namespace,
) -> tuple[dict[str, dict[str, dict[str, float]]], list[Path]]:
    use_nk = baseline.available()
    table: dict[str, dict[str, dict[str, float]]] = {}
    pngs: list[Path] = []
    for name, cases in _conditions(args):
        if args.only not in name:
            continue
        print(f"   running {name} ...", file=sys.stderr, flush=True)
        det_score, nk_score = evaluate.ConditionScore(), evaluate.ConditionScore()
        groups: dict[str, evaluate.ConditionScore] = {}
        plotted = False
        for case in cases:
            # The picture shows the first recording with a true apnoea (pyphysio's first is
            # the clean recording).
            plot = not plotted and bool(case.apnoeas)
            det = Detector(trace=plot)
            t = np.arange(next(iter(case.columns.values())).size) / case.fs
            events = det.detect(case.columns, t)
            apn, slo, other, warns = _events_to_alarms(events)
            scores = [det_score]
            scores += [groups.setdefault(g, evaluate.ConditionScore()) for g in case.groups]
            for score in scores:
                score.add(
                    case.name,
                    case.duration_s,
                    case.apnoeas,
                    case.slowed,
                    apn,
                    slo,
                    other,
                    warns,
                    case.native_slow,
                    case.not_apnoea,
                )
            if plot:
                plotted = True
                truth = {
                    "apnoeas": case.apnoeas,
                    "slowed": [(a, b) for a, b, _ in case.slowed],
                    "not_apnoea": case.not_apnoea,
                }
                title = f"ODART detector, condition {name} ({args.split} split): {case.name}"
                pngs.append(
                    condition_png(
                        title,
                        t,
                        case.baseline_signal(),
                        det.trace,
                        events,
                        truth,
                        args.out / f"detector_{name}.png",
                    )
                )
            if use_nk:
                nk = baseline.run(case.baseline_signal(), case.fs)
                nk_score.add(
                    case.name,
                    case.duration_s,
                    case.apnoeas,
                    case.slowed,
                    [a for a, _ in nk.apnoea],
                    nk.slowed,
                    native_slow=case.native_slow,
                    not_apnoea=case.not_apnoea,
                )
        table[name] = {"detector": det_score.row()}
        table[name]["detector"]["missed"] = json.dumps(det_score.missed[:5])  # type: ignore[assignment]
        if use_nk:
            table[name]["neurokit2"] = nk_score.row()
        for group in sorted(groups):
            table[f"{name}{GROUP_SEP}{group}"] = {"detector": groups[group].row()}
    return table, pngs


def _cpu(quick: bool) -> dict[str, float]:
    from firmware_bridge.samples import Channel
    from simulators.physiology import PhysiologyStream, SubjectParams

    total = 300.0 if quick else 1800.0
    stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(1))
    blocks = [b for _ in range(int(total)) for b in stream.advance_blocks(1.0, "w")]
    acc = [b for b in blocks if b.channel in (Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z)]
    resp = [b for b in blocks if b.channel is Channel.RESP]
    out: dict[str, float] = {}
    for name, chosen in (
        ("wearable_acc_x_realtime", acc),
        ("belt_x_realtime", resp),
        ("wearable_full_x_realtime", blocks),
    ):
        best = np.inf
        for _ in range(2 if quick else 3):
            det = Detector()
            t0 = time.process_time()
            for b in chosen:
                det.update(b, source=Source.WEARABLE)
            det.flush()
            best = min(best, time.process_time() - t0)
        out[name] = total / max(best, 1e-9)
    return out


_METRICS = (
    # label, key, target, format
    ("apnoea sensitivity, 20-60 s", "sensitivity", ">= 0.97", "{:.2f}"),
    ("latency from onset, median (s)", "latency_median_s", "<= 16", "{:.1f}"),
    ("false apnoea pages per hour", "false_apnoea_per_h", "<= 0.3", "{:.2f}"),
    ("  ...in shallow breathing after movement", "false_in_shallow_per_h", "", "{:.2f}"),
    ("  ...while 'not measurable' stands", "false_warned_per_h", "", "{:.2f}"),
    ("slowed breathing flagged (%)", "slowed_flagged_pct", ">= 90", "{:.0f}"),
    ("recordings: apnoea with no event", "silent_recordings", "0", "{:.0f}"),
    ("false slowed-breathing alerts/h", "false_slowed_per_h", "", "{:.2f}"),
    ("  ...where it breathes <= 8/min itself", "native_slowed_per_h", "", "{:.2f}"),
    ("recordings warned not measurable", "warned_recordings", "", "{:.0f}"),
    ("  not-measurable warnings per hour", "warnings_per_h", "", "{:.1f}"),
    ("  time not measurable (%)", "not_measurable_pct", "", "{:.0f}"),
)
_ODART_ONLY = frozenset(
    {"warned_recordings", "warnings_per_h", "not_measurable_pct", "false_warned_per_h"}
)
"""Figures NeuroKit2 has no counterpart for: it never says it cannot see breathing."""


def _table(table: dict[str, dict[str, dict[str, float]]], cpu: dict[str, float]) -> list[str]:
    lines: list[str] = []
    for name, methods in table.items():
        if GROUP_SEP in name:
            continue
        det, nk = methods["detector"], methods.get("neurokit2", {})
        lines.append(
            f"-- {name}: {det['recordings']:.0f} recordings, {det['hours']:.1f} h, "
            f"{det['apnoeas']:.0f} apnoeas, {det['slowed']:.0f} slowed stretches"
        )
        lines.append(f"   {'metric':42} {'target':>8} {'ODART':>8} {'NeuroKit2':>10}")
        for label, key, target, fmt in _METRICS:
            a, b = det.get(key), nk.get(key)
            fa = fmt.format(a) if isinstance(a, float) and a == a else "-"
            fb = fmt.format(b) if isinstance(b, float) and b == b else "-"
            if key in _ODART_ONLY:
                fb = "n/a"
            lines.append(f"   {label:42} {target:>8} {fa:>8} {fb:>10}")
    lines += _group_table(table)
    lines.append("-- CPU, one core (x real time; NeuroKit2 is offline)")
    for label, key, target in (
        ("chest accelerometer (3 axes, 25 Hz)", "wearable_acc_x_realtime", ">= 5000"),
        ("respiration belt (25 Hz)", "belt_x_realtime", ">= 5000"),
        ("acc + belt + SpO2 + HR", "wearable_full_x_realtime", ""),
    ):
        lines.append(f"   {label:42} {target:>8} {cpu[key]:>8.0f}")
    return lines


_GROUP_METRICS = (
    # header, key, format
    ("sens", "sensitivity", "{:.2f}"),
    ("lat s", "latency_median_s", "{:.1f}"),
    ("FA/h", "false_apnoea_per_h", "{:.2f}"),
    ("slow %", "slowed_flagged_pct", "{:.0f}"),
    ("silent", "silent_recordings", "{:.0f}"),
    ("FS/h", "false_slowed_per_h", "{:.2f}"),
    ("warned", "warned_recordings", "{:.0f}"),
    ("NM/h", "warnings_per_h", "{:.1f}"),
    ("NM %", "not_measurable_pct", "{:.0f}"),
)


def _group_table(table: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """ODART's figures per condition and sub-row (sensor noise, tilt, source), one line each."""
    rows = [
        (name.split(GROUP_SEP), m["detector"]) for name, m in table.items() if GROUP_SEP in name
    ]
    if not rows:
        return []
    lines = [
        "-- by sub-row: sensor noise, breathing tilt or source belt (ODART; targets: sens >= 0.97, "
        "lat <= 16 s, FA <= 0.3/h, slow >= 90 %, silent 0; FS = false slowed-breathing alerts; "
        "NM = not-measurable warnings per hour and % of time)",
        f"   {'condition':18} {'sub-row':12} {'n':>3} {'h':>5}"
        + "".join(f" {head:>6}" for head, _, _ in _GROUP_METRICS),
    ]
    for (name, group), det in rows:
        cells = []
        for _, key, fmt in _GROUP_METRICS:
            v = det.get(key)
            cells.append(fmt.format(v) if isinstance(v, float) and v == v else "-")
        lines.append(
            f"   {name:18} {group:12} {det['recordings']:>3.0f} {det['hours']:>5.1f}"
            + "".join(f" {c:>6}" for c in cells)
        )
    return lines


def run(argv: list[str]) -> int:
    """Entry point used by ``odart bench detector``."""
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    if args.separability:
        return _separability(args, started)
    rows, png = _scenarios(args.quick, args.scenario, args.out)
    print("== synthetic scenarios (simulators.physiology, seed 0) ==")
    for row in rows:
        mark = "PASS" if row["pass"] else "FAIL"
        print(
            f"{mark} {row['scenario']:30} latency={row['apnoea_latency_s']!s:>5}  {row['events']}"
        )
    passed = sum(bool(r["pass"]) for r in rows)
    print(f"scenarios passed: {passed}/{len(rows)}")
    print(f"== widened development set, per condition ({args.split} split; see conditions.py) ==")
    table, pngs = _evaluate(args)
    cpu = _cpu(args.quick)
    for line in _table(table, cpu):
        print(line)
    print(f"plots: {png} and {len(pngs)} per condition in {args.out}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "scenarios": rows,
        "conditions": table,
        "cpu": cpu,
        "plots": [str(png), *map(str, pngs)],
        "args": vars(args) | {"out": str(args.out)},
    }
    (args.out / "detector.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"summary: {args.out / 'detector.json'}  ({time.perf_counter() - started:.0f} s)")
    return 0


def _separability(args: argparse.Namespace, started: float) -> int:
    """``--separability``: the oscillation check's evidence in shallow breathing against true
    apnoeas, per group of accelerometer recordings."""
    args.only = args.only or "acc"
    chosen = ((name, cases) for name, cases in _conditions(args) if args.only in name)
    groups = separability.study(chosen)
    for line in separability.table(groups):
        print(line)
    png = separability.png(groups, args.out / "detector_separability.png")
    print(f"plot: {png}  ({args.split} split, {time.perf_counter() - started:.0f} s)")
    return 0
