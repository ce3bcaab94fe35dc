"""docs/install.md: every command, file and extra it names exists, and what can run here runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from odart.cli import build_parser
from server.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "install.md").read_text()
VENV_BIN = "/opt/odart/venv/bin/"


def _shell_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC, flags=re.DOTALL)
    lines = []
    for block in blocks:
        for raw in block.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _odart_commands() -> list[list[str]]:
    """The arguments of every ``odart`` the doc runs from the venv."""
    found = []
    for line in _shell_lines():
        words = shlex.split(line)
        for i, word in enumerate(words):
            if word == VENV_BIN + "odart":
                found.append(words[i + 1 :])
    return found


def test_install_doc_runs_odart_commands_that_exist() -> None:
    commands = _odart_commands()
    assert {c[0] for c in commands} >= {"--version", "edge", "admin", "backup"}
    for argv in commands:
        if argv == ["--version"]:
            continue
        try:
            build_parser(only=argv[0]).parse_args(argv)
        except SystemExit as stopped:  # argparse's way of refusing a command line
            pytest.fail(f"docs/install.md: `odart {' '.join(argv)}` does not parse ({stopped})")


def test_install_doc_names_files_that_exist_and_extras_that_exist() -> None:
    for path in set(re.findall(r"\b((?:packaging|examples|docs)/[\w./-]+\w)", DOC)):
        assert (ROOT / path).exists(), path
    for link in re.findall(r"\]\(([\w.-]+\.md)\)", DOC):
        assert (ROOT / "docs" / link).exists(), link
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    named = set(re.findall(r"odart\[(\w+)\]", DOC))
    assert named >= {"edge", "server"}
    assert named <= set(extras)
    assert "docs/install.md" in (ROOT / "README.md").read_text()


def test_install_doc_units_and_config_agree_on_paths() -> None:
    units = ROOT / "packaging" / "systemd"
    for line in _shell_lines():
        for unit in re.findall(r"packaging/systemd/([\w.-]+)", line):
            assert (units / unit).exists(), unit
    edge_unit = (units / "odart-edge.service").read_text()
    assert "/etc/odart/edge.toml" in edge_unit
    assert "/etc/odart/edge.toml" in DOC
    assert "StateDirectory=odart\n" in edge_unit
    assert 'outbox = "/var/lib/odart/' in DOC
    assert "RuntimeDirectory=odart\n" in edge_unit
    assert 'file = "/run/odart/' in DOC
    server_unit = (units / "odart-server.service").read_text()
    assert "/etc/odart/server.toml" in server_unit
    assert 'database = "/var/lib/odart/' in DOC


def test_install_doc_backup_and_restore_steps_work_here(tmp_path: Path) -> None:
    """The doc's backup and restore, with /var/lib/odart and /etc/odart moved under tmp_path."""
    data, etc = tmp_path / "var/lib/odart", tmp_path / "etc/odart"
    (data / "backups").mkdir(parents=True)
    etc.mkdir(parents=True)
    (etc / "server.toml").write_text(
        f'database = "{data / "odart.db"}"\n[[sites]]\nid = "site-1"\nname = "Site"\n'
    )
    store = Store(data / "odart.db")
    store.db.execute("CREATE TABLE marker (x)")
    store.db.execute("INSERT INTO marker VALUES ('before the backup')")
    store.db.conn.commit()
    backup = next(c for c in _odart_commands() if c[0] == "backup")
    argv = [a.replace("/var/lib/odart", str(data)).replace("/etc/odart", str(etc)) for a in backup]
    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    store.db.execute("DELETE FROM marker")  # what the restore must undo
    store.db.conn.commit()
    store.close()
    # Restore as the doc says: the WAL files go, the copy takes the database's place.
    for suffix in ("-wal", "-shm"):
        Path(f"{data / 'odart.db'}{suffix}").unlink(missing_ok=True)
    (data / "odart.db").write_bytes((data / "backups" / "odart.db").read_bytes())
    restored = Store(data / "odart.db")
    try:
        rows = list(restored.db.query("SELECT x FROM marker"))
    finally:
        restored.close()
    assert rows == [{"x": "before the backup"}]
