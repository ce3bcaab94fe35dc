"""The ``odart`` command line: every sub-command is listed and answers --help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from odart.cli import COMMANDS, build_parser, main


def test_cli_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_each_command_answers_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([name, "--help"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: odart " + name)


def test_cli_registry_is_sorted_and_builds() -> None:
    assert list(COMMANDS) == sorted(COMMANDS)
    assert build_parser().prog == "odart"


def test_cli_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "demo" in result.stdout


def test_cli_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = subprocess.run(
        [sys.executable, "-m", "odart.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"odart {version('odart')}"


def test_cli_runs_a_command_without_loading_the_others() -> None:
    probe = (
        "import sys\n"
        "from odart.cli import main\n"
        "try:\n"
        "    main(['-v', 'decode', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('odart.commands.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "['odart.commands.decode']"
