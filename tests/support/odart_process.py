"""Run ``odart`` commands as real processes: start, log, stop (test support, shell).

Shared by :mod:`tests.support.server_process`, :mod:`tests.support.edge_process` and any test
or benchmark that runs ``python -m odart.cli`` the way an operator runs ``odart``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Final

__all__ = ["LOG_TAIL_CHARS", "log_tail", "run_odart", "spawn_odart", "stop"]

ODART: Final = (sys.executable, "-m", "odart.cli")
"""The command line of ``odart`` in this interpreter (the venv's, with the project installed)."""

STOP_WAIT_S: Final = 15.0
"""How long a stopped process may take to exit before it is killed: a clean stop drains the
outbox and closes SQLite, well under a second unless the machine is loaded."""

LOG_TAIL_CHARS: Final = 4000
"""How much of a process's log a failed assertion shows: the last lines, where the cause is."""


def spawn_odart(*words: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``odart *words``; its stderr goes to ``log`` (appended) or nowhere, stdout nowhere."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if log is None:
        return subprocess.Popen(
            [*ODART, *words], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
    with log.open("ab") as sink:  # the child keeps its own descriptor
        return subprocess.Popen([*ODART, *words], stdout=subprocess.DEVNULL, stderr=sink, env=env)


def run_odart(
    *words: str, stdin: str | None = None, timeout_s: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run ``odart *words`` to the end, feeding it ``stdin``; its output is captured as text."""
    return subprocess.run(
        [*ODART, *words],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_s: float = STOP_WAIT_S
) -> int:
    """Send ``sig`` and reap the process; its exit code.

    One that outlives ``timeout_s`` is killed and reaped, then ``AssertionError``: a service
    that ignores SIGTERM would be killed by systemd too, with whatever it had not written lost.
    """
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout_s)
    message = f"{' '.join(map(str, process.args))} did not stop within {timeout_s:g} s of {sig}"
    raise AssertionError(message)


def log_tail(log: Path | None) -> str:
    """The end of ``log``, for an assertion message ("" when there is none)."""
    if log is None or not log.exists():
        return ""
    return log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
