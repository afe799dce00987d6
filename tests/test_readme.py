"""The README's two commands stay true: CI runs the test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```console\n(.+?)\n```", readme, flags=re.S)


def test_readme_has_two_commands_and_ci_runs_the_test_command() -> None:
    """README holds the main-job and test commands; `.ci/run` contains the test command verbatim."""
    commands = _commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert "punie" in main_job
    assert "scripts/test" in tests
    assert "pytest" in (ROOT / "scripts" / "test").read_text()
    assert tests in (ROOT / ".ci" / "run").read_text()
