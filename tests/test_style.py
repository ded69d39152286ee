"""The code passes the project's linter and formatter (ruff, configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(command):
    result = subprocess.run([*RUFF, *command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bandit_finds_nothing_left_unexplained():
    """Bandit over the application: every finding is fixed, or explained where it stands
    (`# nosec` with the reason) or in pyproject.toml's [tool.bandit] section."""
    command = [sys.executable, "-m", "bandit", "-c", "pyproject.toml", "-r", "crm", "-q"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
