"""``odart bench detector``: the detector's figures against known truth and NeuroKit2 (bench).

Sections: the synthetic scenario set (simulator, known truth); the real belt recording with
injected apnoeas and slowed stretches, scored for the detector and for NeuroKit2's
``rsp_process`` + "no breath peak for 15 s"; the clean belt for false alarms and rate error; CPU
cost per wearable stream. Prints a table and writes a PNG of one scenario plus a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from bench.detector import baseline, belt, evaluate, scenarios
from bench.detector.plot import scenario_png
from edge.detector import Detector, EventKind, Source

TARGETS = {
    "apnoea_sensitivity_pct": ">= 99",
    "latency_median_s": "<= 15",
    "false_alarms_per_h": "<= 0.2",
    "rr_error_bpm": "<= 1",
    "cpu_x_realtime": ">= 5000",
}
QUICK_SCENARIOS = ("abrupt_apnoea", "breath_holds_and_sighs")
PLOT_SCENARIO = "wearable_and_radar_overdose"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="odart bench detector", description=__doc__)
    p.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    p.add_argument("--trials", type=int, default=15, help="belt trials (8 apnoeas, 4 slowed each)")
    p.add_argument("--seed", type=int, default=20261122, help="seed of the injections")
    p.add_argument("--out", type=Path, default=Path("artifacts/bench"), help="PNG/JSON folder")
    p.add_argument("--scenario", default=PLOT_SCENARIO, help="scenario to plot")
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


def _detector_alarms(x: np.ndarray, fs: float) -> tuple[list[float], list[float], Detector]:
    det = Detector(trace=True)
    events = det.detect({"resp": x}, np.arange(x.size) / fs)
    apnoea = [e.t_s for e in events if e.kind is EventKind.APNOEA]
    slowed = [e.t_s for e in events if e.kind is EventKind.RESPIRATORY_DEPRESSION]
    return apnoea, slowed, det


def _belt(quick: bool, trials: int, seed: int) -> dict[str, dict[str, float]]:
    b = belt.load(limit_s=1500.0 if quick else None)
    use_nk = baseline.available()
    seconds = np.arange(120.0, b.duration_s)
    reference = evaluate.reference_rate(b.peaks_s, seconds)
    # Clean recording: false alarms and rate error.
    apn, slo, det = _detector_alarms(b.x, belt.FS_HZ)
    rate = {v.t_end: v.channels[0].breath.rate_bpm for v in det.trace if v.channels}
    est = np.array([np.nan if rate.get(s) is None else rate[s] for s in seconds], dtype=float)
    mae, cov = evaluate.rate_error(est, reference)
    count = {v.t_end: v.channels[0].breath.count_rate_bpm for v in det.trace if v.channels}
    est60 = np.array([np.nan if count.get(s) is None else count[s] for s in seconds], dtype=float)
    ref60 = evaluate.window_rate(b.peaks_s, seconds)
    mae60, _ = evaluate.rate_error(est60, ref60)
    hours = b.duration_s / 3600.0
    out = {
        "detector": {
            "clean_false_alarms_per_h": evaluate.episodes(apn + slo) / hours,
            "rr_error_bpm": mae,
            "rr60_error_bpm": mae60,
            "rr_coverage_pct": cov,
        }
    }
    nk_alarms = None
    if use_nk:
        nk_alarms = baseline.run(b.x, belt.FS_HZ)
        idx = np.clip((seconds * belt.FS_HZ).astype(int), 0, b.x.size - 1)
        nk_mae, nk_cov = evaluate.rate_error(nk_alarms.rate_bpm[idx], reference)
        nk60, _ = evaluate.rate_error(evaluate.window_rate(nk_alarms.peaks_s, seconds), ref60)
        out["neurokit2"] = {
            "clean_false_alarms_per_h": evaluate.episodes(
                [a for a, _ in nk_alarms.apnoea] + nk_alarms.slowed
            )
            / hours,
            "rr_error_bpm": nk_mae,
            "rr60_error_bpm": nk60,
            "rr_coverage_pct": nk_cov,
        }
    # Injected trials.
    rng = np.random.default_rng(seed)
    scores = {"detector": evaluate.Score(), "neurokit2": evaluate.Score()}
    n_trials = 1 if quick else trials
    for k in range(n_trials):
        trial = belt.inject(b, rng, n_apnoea=2 if quick else 8, n_slowed=1 if quick else 4)
        dur = trial.x.size / belt.FS_HZ
        apn, slo, _ = _detector_alarms(trial.x, belt.FS_HZ)
        scores["detector"].add(k, apn, slo, trial.apnoeas, trial.slowed, dur)
        if use_nk:
            nk = baseline.run(trial.x, belt.FS_HZ)
            scores["neurokit2"].add(
                k, [a for a, _ in nk.apnoea], nk.slowed, trial.apnoeas, trial.slowed, dur
            )
    for name, score in scores.items():
        if name in out:
            out[name].update(score.row())
            out[name]["missed"] = json.dumps(score.missed[:5])  # type: ignore[assignment]
    return out


def _cpu(quick: bool) -> dict[str, float]:
    from firmware_bridge.samples import Channel
    from simulators.physiology import PhysiologyStream, SubjectParams

    total = 300.0 if quick else 1800.0
    stream = PhysiologyStream(SubjectParams(), [], np.random.default_rng(1))
    blocks = [b for _ in range(int(total)) for b in stream.advance_blocks(1.0, "w")]
    acc = [b for b in blocks if b.channel in (Channel.ACC_X, Channel.ACC_Y, Channel.ACC_Z)]
    out: dict[str, float] = {}
    for name, chosen in (("wearable_acc_x_realtime", acc), ("wearable_full_x_realtime", blocks)):
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


def _table(belt_rows: dict[str, dict[str, float]], cpu: dict[str, float]) -> list[str]:
    det, nk = belt_rows.get("detector", {}), belt_rows.get("neurokit2", {})
    metrics = [
        ("apnoea sensitivity (%)", "apnoea_sensitivity_pct", ">= 99"),
        ("injected apnoeas (n)", "apnoeas", ""),
        ("latency from onset, median (s)", "latency_median_s", "<= 15"),
        ("latency from onset, p90 (s)", "latency_p90_s", ""),
        ("latency from onset, max (s)", "latency_max_s", ""),
        ("slowed breathing flagged (%)", "slowed_sensitivity_pct", ""),
        ("  of which by the slowed-rate rule (%)", "slowed_by_rate_pct", ""),
        ("slowed stretches (n)", "slowed", ""),
        ("false alarms/h, injected trials", "false_alarms_per_h", ""),
        ("false alarms/h, clean belt", "clean_false_alarms_per_h", "<= 0.2"),
        ("rate error, breath-by-breath (bpm)", "rr_error_bpm", "<= 1"),
        ("rate error, 60 s count (bpm)", "rr60_error_bpm", "<= 1"),
        ("breathing-rate coverage (%)", "rr_coverage_pct", ""),
    ]
    lines = [f"{'metric':38} {'target':>8} {'ODART detector':>15} {'NeuroKit2':>12}"]
    for label, key, target in metrics:
        a = det.get(key)
        b = nk.get(key)
        fa = f"{a:.2f}" if isinstance(a, float) else "-"
        fb = f"{b:.2f}" if isinstance(b, float) else "-"
        lines.append(f"{label:38} {target:>8} {fa:>15} {fb:>12}")
    for label, key, target in (
        ("CPU, chest-acc wearable (x real time)", "wearable_acc_x_realtime", ">= 5000"),
        ("CPU, acc+resp+SpO2+HR (x real time)", "wearable_full_x_realtime", ""),
    ):
        lines.append(f"{label:38} {target:>8} {cpu[key]:>15.0f} {'offline':>12}")
    return lines


def run(argv: list[str]) -> int:
    """Entry point used by ``odart bench detector``."""
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    rows, png = _scenarios(args.quick, args.scenario, args.out)
    print("== synthetic scenarios (simulators.physiology, seed 0) ==")
    for row in rows:
        mark = "PASS" if row["pass"] else "FAIL"
        print(
            f"{mark} {row['scenario']:30} latency={row['apnoea_latency_s']!s:>5}  {row['events']}"
        )
    passed = sum(bool(r["pass"]) for r in rows)
    print(f"scenarios passed: {passed}/{len(rows)}")
    try:
        belt_rows = _belt(args.quick, args.trials, args.seed)
    except FileNotFoundError as exc:
        print(f"belt section skipped: {exc}")
        belt_rows = {}
    cpu = _cpu(args.quick)
    print("== real belt (biopeaks OSmontage0J, 25 Hz) with injected events; CPU ==")
    for line in _table(belt_rows, cpu):
        print(line)
    print(f"plot: {png}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "scenarios": rows,
        "belt": belt_rows,
        "cpu": cpu,
        "plot": str(png),
        "args": vars(args) | {"out": str(args.out)},
    }
    (args.out / "detector.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"summary: {args.out / 'detector.json'}  ({time.perf_counter() - started:.0f} s)")
    return 0
