"""`PUNIE_HOME` as a git repository: initialised on first use, one readable commit per finished session.

Git is a convenience on top of the traces, never a condition for them: when git is missing, the folder's
`.git` is broken, or the repository has unresolved conflicts, `HomeRepo` reports the problem once (through
the `on_problem` callback, default: a log warning) and every later call quietly does nothing but try.
Commands run as `git -C PUNIE_HOME` with a local identity, hooks and signing off, and a scrubbed
environment (a `GIT_DIR` inherited from a hook must not redirect them), under a file lock so two Punie
processes never race for git's index lock.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ("HomeRepo",)

logger = logging.getLogger("punie_lsp.flywheel")

_IDENTITY = (("user.name", "Punie"), ("user.email", "punie@localhost"))
_GITIGNORE = """\
# Managed by Punie: traces, datasets and the trained ledger are versioned; model weights are not.
*.safetensors
*.gguf
*.npz
*.bin
.punie-git.lock
"""
_SCRUB = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


_REPORTED: set[str] = set()
"""Homes whose git problem this process already reported (a server says it once, not per session)."""


class GitProblem(Exception):
    """A git command failed; the message is fit to show to the user."""


class HomeRepo:
    """The git repository at `PUNIE_HOME`.

    Args:
        home: `PUNIE_HOME`.
        on_problem: told about the first failure, once per process and home (default: a warning on the
            `punie_lsp.flywheel` logger).
    """

    def __init__(self, home: Path, *, on_problem: Callable[[str], None] | None = None) -> None:
        self.home = home
        self._on_problem = on_problem
        self.problem: str | None = None
        """The first problem met, if any."""

    def _report(self, message: str) -> None:
        self.problem = self.problem or message
        key = str(self.home.resolve())
        if key in _REPORTED:
            return
        _REPORTED.add(key)
        text = f"PUNIE_HOME git: {message}; traces are still written, but not committed"
        if self._on_problem is not None:
            self._on_problem(text)
        else:
            logger.warning(text)

    def _git(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        env["GIT_TERMINAL_PROMPT"] = "0"
        try:
            proc = subprocess.run(
                [
                    *("git", "-C", str(self.home)),
                    *("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false"),
                    *args,
                ],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as exc:
            raise GitProblem("git is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise GitProblem(f"`git {args[0]}` timed out") from exc
        except OSError as exc:
            raise GitProblem(f"cannot run git: {exc.strerror}") from exc
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise GitProblem(f"`git {args[0]}` failed: {detail[-1] if detail else proc.returncode}")
        return proc

    def _ensure(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if not (self.home / ".git").exists():
            self._git("init", "-q")
            for key, value in _IDENTITY:
                self._git("config", key, value)
            gitignore = self.home / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text(_GITIGNORE, encoding="utf-8")
            self._git("add", "--", ".gitignore")
            self._git("commit", "-q", "-m", "Initialise PUNIE_HOME")
            return
        self._git("rev-parse", "--git-dir")  # a broken `.git` fails here, with git's own words
        unmerged = self._git("diff", "--name-only", "--diff-filter=U").stdout.strip()
        if unmerged:
            raise GitProblem(f"unresolved conflicts in {', '.join(unmerged.splitlines()[:3])}")
        for key, value in _IDENTITY:
            if self._git_ok("config", "--local", "--get", key) is None:
                self._git("config", key, value)

    def _git_ok(self, *args: str) -> str | None:
        try:
            return self._git(*args).stdout
        except GitProblem:
            return None

    def ensure(self) -> bool:
        """Initialise the repository if needed; False (reported once) when it cannot be used."""
        try:
            with self._locked():
                self._ensure()
        except (GitProblem, OSError) as exc:
            self._report(str(exc))
            return False
        return True

    def commit(self, paths: Sequence[Path], message: str) -> bool:
        """Stage `paths` (inside `PUNIE_HOME`) and commit them with `message`.

        Returns:
            True when a commit was made or there was nothing new to commit; False after a problem
            (reported once).
        """
        try:
            with self._locked():
                self._ensure()
                relative = [str(p.resolve().relative_to(self.home.resolve())) for p in paths if p.exists()]
                if not relative:
                    return True
                self._git("add", "--", *relative)
                staged = self._git("diff", "--cached", "--name-only", "--", *relative).stdout.strip()
                if not staged:
                    return True
                self._git("commit", "-q", "-m", message, "--", *relative)
        except (GitProblem, OSError, ValueError) as exc:
            self._report(str(exc))
            return False
        return True

    def _locked(self) -> _FileLock:
        return _FileLock(self.home / ".punie-git.lock")


class _FileLock:
    """An exclusive `flock` on a file, as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
