"""Start and stop the MQTT broker the project runs: Mosquitto with a generated config (shell).

The config is rendered by a pure function so that its safety settings are reviewable and
tested; the process handling is a thin wrapper. When no ``mosquitto`` binary exists, the demo
can fall back to an embedded pure-Python broker (amqtt), announced as demo-only: it never fires
a Last Will for a silently dead client and does not persist its queue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol

from odart.mosquitto_conf import ListenerTls, MosquittoConfig, render_acl, render_mosquitto_conf

_LOGGER = logging.getLogger(__name__)

START_TIMEOUT_S: Final = 30.0
"""How long a broker may take to accept connections before start-up is called failed (generous:
a loaded two-core CI machine can take seconds to start a process)."""

PORT_ATTEMPTS: Final = 3
"""A port found free can be taken by another process before mosquitto binds it; try again."""

_SEARCH_PATH: Final = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class BrokerError(RuntimeError):
    """The broker could not be started (missing binary, port taken, bad config)."""


def find_mosquitto() -> str | None:
    """Path of the ``mosquitto`` binary (Debian installs it in /usr/sbin), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for folder in _SEARCH_PATH:
        candidate = Path(folder) / "mosquitto"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_until_listening(
    host: str,
    port: int,
    timeout_s: float = START_TIMEOUT_S,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until ``host:port`` accepts a TCP connection, or raise :class:`BrokerError`.

    With ``process``, give up as soon as it exits (a taken port, a bad config).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            message = f"the broker exited with code {process.returncode}"
            raise BrokerError(message)
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    message = f"nothing is listening on {host}:{port} after {timeout_s:.0f} s"
    raise BrokerError(message)


class Broker(Protocol):
    """A running broker the project started."""

    host: str
    port: int
    name: str

    def stop(self) -> None:
        """Stop it cleanly."""


class MosquittoBroker:
    """A Mosquitto process with a generated config in its own data directory.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`kill` sends SIGKILL
    (for tests of what survives a crash); :meth:`start` again reuses the same data directory.
    """

    name = "mosquitto"

    def __init__(
        self,
        port: int | None = None,
        *,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        tls: ListenerTls | None = None,
        binary: str | None = None,
    ) -> None:
        found = binary or find_mosquitto()
        if found is None:
            message = "mosquitto is not installed (Debian: apt-get install mosquitto)"
            raise BrokerError(message)
        self.binary = found
        self.host = host
        self._pick_port = port is None
        self.port = port or free_port(host)
        self._owned_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="odart-mosquitto-"))
        # The persistence file holds queued alerts: only this user may read it. Mosquitto keeps
        # running as this user (``user`` below) instead of dropping to 'mosquitto' when root.
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        acl_file = None
        if tls is not None:
            acl_file = self.data_dir / "acl"
            acl_file.write_text(render_acl())
            acl_file.chmod(0o600)
        self.config = MosquittoConfig(
            port=self.port,
            data_dir=self.data_dir,
            bind=host,
            allow_anonymous=tls is None,
            tls=tls,
            acl_file=acl_file,
            user=pwd.getpwuid(os.geteuid()).pw_name,
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """The broker's log file."""
        return self.data_dir / "mosquitto.log"

    def start(self) -> MosquittoBroker:
        """Write the config, start the process, and wait until it accepts connections."""
        attempts = PORT_ATTEMPTS if self._pick_port else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._start_once()
            except BrokerError:
                if attempt == attempts:
                    raise
                self.port = free_port(self.host)
                self.config = dataclasses.replace(self.config, port=self.port)
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _start_once(self) -> MosquittoBroker:
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text(render_mosquitto_conf(self.config))
        conf.chmod(0o600)
        self._process = subprocess.Popen(
            [self.binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_until_listening(self.host, self.port, process=self._process)
        except BrokerError:
            self._process.kill()
            _, err = self._process.communicate()
            message = f"mosquitto did not start: {err.decode(errors='replace').strip()[-400:]}"
            raise BrokerError(message) from None
        _LOGGER.info("mosquitto listening on %s:%d", self.host, self.port)
        return self

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL the broker, as a crash or power cut would."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    def stop(self) -> None:
        """Terminate the broker (it saves its persistence file) and wait for it."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None

    def cleanup(self) -> None:
        """Stop and remove the data directory if this object created it."""
        self.stop()
        if self._owned_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


class EmbeddedBroker:
    """amqtt in a background thread: a demo-only stand-in when Mosquitto is not installed."""

    name = "amqtt (embedded, demo only)"

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._thread: threading.Thread | None = None
        self._stop: threading.Event = threading.Event()

    def start(self) -> EmbeddedBroker:
        """Start amqtt on its own event loop in a thread; raise :class:`BrokerError` if absent."""
        try:
            from amqtt.broker import Broker as AmqttBroker
        except ImportError:
            message = "no mosquitto and no amqtt: apt-get install mosquitto, or pip install amqtt"
            raise BrokerError(message) from None
        import asyncio

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }

        def serve() -> None:
            async def main() -> None:
                broker = AmqttBroker(config)
                await broker.start()
                await asyncio.get_running_loop().run_in_executor(None, self._stop.wait)
                await broker.shutdown()

            asyncio.run(main())

        self._thread = threading.Thread(target=serve, name="amqtt", daemon=True)
        self._thread.start()
        wait_until_listening(self.host, self.port)
        _LOGGER.warning(
            "embedded amqtt broker: demo only (no Last Will on silent death, no persistence)"
        )
        return self

    def stop(self) -> None:
        """Stop the broker thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_demo_broker(port: int | None = None) -> MosquittoBroker | EmbeddedBroker:
    """Mosquitto when installed, else the embedded demo-only broker."""
    if find_mosquitto() is not None:
        return MosquittoBroker(port).start()
    return EmbeddedBroker(port).start()
