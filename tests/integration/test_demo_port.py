"""``odart demo --port``: the panel listens on the port asked for, or the demo says why not."""

from __future__ import annotations

import json
import socket
import subprocess

import httpx
import pytest

from odart.broker import find_mosquitto, free_port
from tests.conftest import require
from tests.mqtt_probe import wait_until
from tests.support.odart_process import ODART, run_odart

pytestmark = pytest.mark.integration


def _panel_answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_demo_port_sets_the_panel_port() -> None:
    require("mosquitto", find_mosquitto() is not None, "apt-get install mosquitto")
    port = free_port()
    demo = subprocess.Popen(
        [*ODART, "demo", "--headless", "--json", "--duration", "8", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # While it runs, the panel's login page answers on that very port.
        assert wait_until(lambda: _panel_answers(port) or demo.poll() is not None, timeout_s=60)
        assert demo.poll() is None, demo.communicate()[1][-2000:]
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 0, err[-2000:]
    assert json.loads(out)["panel_url"] == f"http://127.0.0.1:{port}/"
    assert f"staff panel   http://127.0.0.1:{port}/" in err


def test_demo_port_in_use_or_out_of_range_stops_with_a_reason() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        taken = run_odart("demo", "--headless", "--duration", "5", "--port", str(port))
    assert taken.returncode == 2
    assert f"odart demo: --port {port}: the panel cannot listen there" in taken.stderr
    assert "Traceback" not in taken.stderr
    assert "ODART demo: broker" not in taken.stderr  # refused before anything started

    wrong = run_odart("demo", "--headless", "--port", "70000")
    assert wrong.returncode == 2
    assert "not a TCP port (1-65535): '70000'" in wrong.stderr
