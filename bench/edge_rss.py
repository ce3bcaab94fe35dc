"""``odart bench edge-rss``: the resident memory of a real ``odart edge`` process (bench).

Starts Mosquitto on a free loopback port, writes an edge config with N virtual wearables, runs
``odart edge --config`` as its own process, lets it settle, and samples ``/proc/PID/status``:
steady RSS (median of the last samples), peak (``VmHWM``) and PSS. The target is issue 15's:
at most 80 MB with 20 wearables.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from odart.broker import MosquittoBroker

TARGET_RSS_MB: Final = 80.0
"""Issue 15: the edge agent for 20 wearables fits a small Pi's memory with room to spare."""

KIB_PER_MB: Final = 1024.0


def edge_toml(wearables: int, port: int, outbox: Path) -> str:
    """An edge config with ``wearables`` virtual wearables, one per resident and room."""
    parts = [
        'site = "bench-site"\nedge = "bench-edge"\n',
        f'outbox = "{outbox}"\n\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n',
    ]
    for i in range(1, wearables + 1):
        parts.append(
            f'\n[[people]]\nparticipant = "p-{i:04d}"\nroom = "room-{i}"\n'
            f'devices = ["wearable-{i}"]\n'
            f'\n[[devices]]\nid = "wearable-{i}"\nrole = "wearable"\nlink = "virtual"\n'
            f"[devices.virtual]\nseed = {i}\n"
        )
    return "".join(parts)


def _status_kib(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            fields["Pss"] = int(line.split()[1])
    return fields


def measure(wearables: int, settle_s: float, samples: int) -> dict[str, float]:
    """Run the edge and return its memory figures in MB."""
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "edge.toml"
        config.write_text(edge_toml(wearables, broker.port, Path(tmp) / "outbox.db"))
        edge = subprocess.Popen(
            [sys.executable, "-m", "odart.cli", "edge", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            time.sleep(settle_s)
            rss: list[int] = []
            fields: dict[str, int] = {}
            for _ in range(samples):
                if edge.poll() is not None:
                    err = edge.stderr.read().decode(errors="replace") if edge.stderr else ""
                    message = f"odart edge exited {edge.returncode}: {err[-600:]}"
                    raise RuntimeError(message)
                fields = _status_kib(edge.pid)
                rss.append(fields["VmRSS"])
                time.sleep(1.0)
        finally:
            edge.terminate()
            edge.wait(timeout=30)
    return {
        "wearables": wearables,
        "rss_mb": round(statistics.median(rss) / KIB_PER_MB, 1),
        "peak_rss_mb": round(fields["VmHWM"] / KIB_PER_MB, 1),
        "pss_mb": round(fields["Pss"] / KIB_PER_MB, 1),
        "target_rss_mb": TARGET_RSS_MB,
    }


def run(argv: list[str]) -> int:
    """Entry point for ``odart bench edge-rss``."""
    p = argparse.ArgumentParser(prog="odart bench edge-rss", description=__doc__)
    p.add_argument("--wearables", type=int, default=20, help="virtual wearables (default 20)")
    p.add_argument("--settle", type=float, default=20.0, help="seconds before sampling")
    p.add_argument("--samples", type=int, default=10, help="one-second RSS samples")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    figures = measure(args.wearables, args.settle, args.samples)
    if args.json:
        print(json.dumps(figures))
    else:
        verdict = "PASS" if figures["rss_mb"] <= TARGET_RSS_MB else "FAIL"
        print(f"odart edge with {args.wearables} virtual wearables")
        print(f"  RSS (median of {args.samples} samples) {figures['rss_mb']:7.1f} MB  {verdict}")
        print(f"  target                         <= {TARGET_RSS_MB:7.1f} MB")
        print(f"  peak RSS (VmHWM)               {figures['peak_rss_mb']:7.1f} MB")
        print(f"  PSS                            {figures['pss_mb']:7.1f} MB")
    return 0
