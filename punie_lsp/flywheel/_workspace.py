"""Fixture projects as workspaces: a copy with a small, deterministic git history, and its tool context.

The seed builder and the evaluation run Punie's tools against *copies* of the projects under
`fixtures/`, never the originals. Every copy gets the same history (two commits by a fixed author at
fixed dates, so commit hashes are reproducible) and the same kind of work in progress (a staged change,
an unstaged change and an untracked file), so git questions have real, stable answers. Domain cases lose
their `expected.json` and golden `fixed/` tree, exactly as the domain tests copy them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from punie_lsp.config import load_settings
from punie_lsp.tools.context import ToolContext
from punie_lsp.workspace import Workspace

__all__ = (
    "FIXTURES_DIR",
    "FixtureCopy",
    "copy_fixture",
    "display_root",
    "fixture_context",
    "python_files",
)

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"
"""`fixtures/` of a source checkout (the projects are not part of the wheel)."""

_IGNORED = shutil.ignore_patterns(
    "fixed", "expected.json", "__pycache__", ".ruff_cache", ".venv", ".pytest_cache"
)

_AUTHOR = ("Ada Lovelace", "ada@example.com")
_COMMITS = (
    ("Initial commit", "2026-01-05T10:00:00+00:00"),
    ("Add a changelog", "2026-01-06T15:30:00+00:00"),
)
_CHANGELOG = "# Changelog\n\n- Start the project.\n"
_CHANGELOG_STAGED = "- Document the services.\n"
_TODO_COMMENT = "# TODO: add request logging\n"
_UNTRACKED = ("notes.txt", "Ideas: caching, a health page.\n")


@dataclass(frozen=True, kw_only=True)
class FixtureCopy:
    """A fixture project copied into a scratch directory."""

    name: str
    """The fixture's name under `fixtures/` (`webapp_planted`, `domain/svc_registration_bugs`)."""
    root: Path
    """The copy's root directory."""
    modified: str | None
    """The Python file given an unstaged change (a TODO comment appended), if git was set up."""


def python_files(root: Path) -> list[str]:
    """The project's Python files, relative and sorted (caches, VCS data and `fixed/` skipped)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") or part in ("__pycache__", "fixed") for part in parts):
            continue
        found.append(path.relative_to(root).as_posix())
    return found


def _git(root: Path, *args: str, date: str = _COMMITS[0][1]) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": _AUTHOR[0],
        "GIT_AUTHOR_EMAIL": _AUTHOR[1],
        "GIT_COMMITTER_NAME": _AUTHOR[0],
        "GIT_COMMITTER_EMAIL": _AUTHOR[1],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )


def _setup_git(root: Path) -> str | None:
    """Two commits, then a staged, an unstaged and an untracked change; returns the unstaged file."""
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", _COMMITS[0][0], date=_COMMITS[0][1])
    (root / "CHANGELOG.md").write_text(_CHANGELOG, encoding="utf-8")
    _git(root, "add", "CHANGELOG.md")
    _git(root, "commit", "-q", "-m", _COMMITS[1][0], date=_COMMITS[1][1])
    with (root / "CHANGELOG.md").open("a", encoding="utf-8") as changelog:
        changelog.write(_CHANGELOG_STAGED)
    _git(root, "add", "CHANGELOG.md")
    candidates = [p for p in python_files(root) if not p.endswith("__init__.py")]
    candidates.sort(key=lambda p: (p.startswith("tests/"), p))
    modified = candidates[0] if candidates else None
    if modified is not None:
        with (root / modified).open("a", encoding="utf-8") as source:
            source.write(_TODO_COMMENT)
    (root / _UNTRACKED[0]).write_text(_UNTRACKED[1], encoding="utf-8")
    return modified


def copy_fixture(
    name: str, into: Path, *, git: bool = True, fixtures_dir: Path = FIXTURES_DIR, label: str | None = None
) -> FixtureCopy:
    """Copy `fixtures/<name>` to `into/<label or its last component>`, optionally with a git history.

    Args:
        name: the fixture's path under `fixtures_dir`.
        into: the scratch directory that receives the copy.
        git: give the copy the standard history and work in progress (needs the `git` binary).
        fixtures_dir: where the fixtures live.
        label: the copy's directory name (default: the fixture's last path component).

    Returns:
        The copy.
    """
    source = fixtures_dir / name
    if not source.is_dir():
        raise FileNotFoundError(f"no fixture project {name!r} under `{fixtures_dir}`")
    root = into / (label or Path(name).name)
    shutil.copytree(source, root, ignore=_IGNORED)
    modified = _setup_git(root) if git else None
    return FixtureCopy(name=name, root=root, modified=modified)


def fixture_context(root: Path, *, punie_home: Path) -> ToolContext:
    """The tool context of a copy, with `punie_home` replaced so only shipped skills are found.

    Training and evaluation must not depend on the organisation skills of whoever runs them.
    """
    settings = load_settings(root).model_copy(update={"punie_home": punie_home})
    return ToolContext(workspace=Workspace(root), settings=settings)


_USERS = ("ada", "sam", "lee", "noor", "dev")
_PARENTS = (
    "/home/{user}/projects",
    "/home/{user}/code",
    "/Users/{user}/src",
    "/Users/{user}/work",
    "/srv/{user}",
)


def display_root(name: str, index: int) -> str:
    """A plausible project path for prompts (the real copy lives in a temporary directory).

    `index` picks among a few user names and parent directories, so prompts vary deterministically.
    """
    user = _USERS[index % len(_USERS)]
    parent = _PARENTS[(index // len(_USERS)) % len(_PARENTS)].format(user=user)
    return f"{parent}/{Path(name).name.replace('_', '-')}"
