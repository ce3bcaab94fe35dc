"""Secrets at rest and who the server believes a client is: file modes, the key file, proxies."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.errors import ConfigError
from server.secret_file import read_key_file
from server.store.db import Store


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_database_is_created_private_and_a_loose_one_is_tightened(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        store = Store(tmp_path / "var" / "odart.db")
        store.db.execute("CREATE TABLE t (x)")
        store.close()
        assert _mode(tmp_path / "var" / "odart.db") == 0o600
        assert _mode(tmp_path / "var") == 0o700
        loose = tmp_path / "loose.db"
        sqlite3.connect(loose).close()
        loose.chmod(0o644)
        Store(loose).close()
        assert _mode(loose) == 0o600
    finally:
        os.umask(old)


def test_secrets_key_file_is_made_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "action-link.key"
    first = read_key_file(path)
    assert len(first) == 64
    assert _mode(path) == 0o600
    assert read_key_file(path) == first  # kept across restarts: links sent stay valid


def test_secrets_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "action-link.key"
    path.write_text("k" * 64)
    path.chmod(0o640)
    with pytest.raises(ConfigError) as raised:
        read_key_file(path)
    assert raised.value.key == "secret_key_file"
    assert "chmod 600" in raised.value.reason


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(tmp_path: Path, trusted: list[str]) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    database = tmp_path / "odart.db"
    config = tmp_path / "server.toml"
    proxies = ", ".join(f'"{p}"' for p in trusted)
    config.write_text(
        f'database = "{database}"\nsecret_key_file = "{tmp_path / "link.key"}"\n'
        f"[mqtt]\nport = 1\n"
        f'[http]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        f"trusted_proxies = [{proxies}]\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "odart.cli", "server", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise AssertionError(error) from None
                time.sleep(0.2)
        yield base, database
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()


def _failed_login_address(base: str, database: Path) -> str:
    with httpx.Client(base_url=base) as client:
        token = client.get("/login").cookies["odart_login_csrf"]
        answer = client.post(
            "/login",
            data={"username": "nobody", "password": "not it at all", "csrf_token": token},
            headers={"x-forwarded-for": "203.0.113.9"},
        )
        assert answer.status_code == 401
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT detail FROM audit_log WHERE action = 'auth.login_failed' ORDER BY seq DESC"
        ).fetchone()
    return str(row[0])


@pytest.mark.slow
def test_secrets_forwarded_for_is_believed_only_from_a_configured_proxy(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with _server(tmp_path / "a", []) as (base, database):
        detail = _failed_login_address(base, database)
        assert "127.0.0.1" in detail
        assert "203.0.113.9" not in detail
    with _server(tmp_path / "b", ["127.0.0.1"]) as (base, database):
        assert "203.0.113.9" in _failed_login_address(base, database)


def test_secrets_server_refuses_a_readable_key_file_naming_the_key(tmp_path: Path) -> None:
    key = tmp_path / "link.key"
    key.write_text("k" * 64)
    key.chmod(0o644)
    config = tmp_path / "server.toml"
    config.write_text(f'database = "{tmp_path / "odart.db"}"\nsecret_key_file = "{key}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "odart.cli", "server", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "secret_key_file" in done.stderr
