"""Typed git tools: status, diff and log of the workspace's repository, read-only."""

from __future__ import annotations

from punie_lsp.exceptions import ToolError, WorkspaceError
from punie_lsp.tools._process import find_binary, run_process
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import (
    GitCommit,
    GitDiffFile,
    GitDiffResult,
    GitFileChange,
    GitLogResult,
    GitStatusResult,
)

__all__ = ("git_diff", "git_log", "git_status")

GIT_TIMEOUT = 30.0
DIFF_LIMIT = 200_000
"""Characters of diff text kept in a result; the counts always cover the whole diff."""

_STATUS = {
    "M": "modified",
    "A": "added",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type-changed",
    "U": "conflicted",
}


async def _git(ctx: ToolContext, *args: str) -> str:
    proc = await run_process(
        [find_binary("git"), "-c", "core.quotepath=off", "--no-pager", *args],
        cwd=ctx.workspace.root,
        timeout=GIT_TIMEOUT,
    )
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        if "not a git repository" in proc.stderr:
            raise ToolError(f"`{ctx.workspace.root}` is not inside a git repository")
        raise ToolError(f"`git {args[0]}` failed: {message[0]}")
    return proc.stdout


async def git_status(ctx: ToolContext) -> GitStatusResult:
    """Branch and every staged, unstaged and untracked change."""
    try:
        out = await _git(ctx, "status", "--porcelain=v1", "-z", "--branch", "--untracked-files=all")
    except ToolError as exc:
        return GitStatusResult(success=False, tool_error=str(exc))
    entries = out.split("\x00")
    branch: str | None = None
    changes: list[GitFileChange] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if not entry:
            continue
        if entry.startswith("## "):
            head = entry[3:].split("...")[0]
            branch = None if head.startswith("HEAD (no branch)") else head.removeprefix("No commits yet on ")
            continue
        code, path = entry[:2], entry[3:]
        original: str | None = None
        if "R" in code or "C" in code:
            original = entries[index]
            index += 1
        if code == "??":
            changes.append(GitFileChange(path=path, status="untracked", staged=False))
            continue
        if "U" in code or code in ("AA", "DD"):
            changes.append(GitFileChange(path=path, status="conflicted", staged=False))
            continue
        for staged, letter in ((True, code[0]), (False, code[1])):
            if letter in _STATUS:
                changes.append(
                    GitFileChange(
                        path=path,
                        status=_STATUS[letter],  # ty: ignore[invalid-argument-type]
                        staged=staged,
                        original_path=original,
                    )
                )
    return GitStatusResult(
        success=True, branch=branch, clean=not changes, changes=changes, change_count=len(changes)
    )


async def git_diff(ctx: ToolContext, path: str = ".", staged: bool = False) -> GitDiffResult:
    """Diff of the work tree (or of the index with `staged=True`)."""
    try:
        target = ctx.workspace.relative(path)
        extra = ["--cached"] if staged else []
        await _git(ctx, "rev-parse", "--git-dir")  # outside a repository, `git diff` means `--no-index`
        numstat = await _git(ctx, "diff", *extra, "--numstat", "-z", "--", target)
        text = await _git(ctx, "diff", *extra, "--no-color", "--", target)
    except (ToolError, WorkspaceError) as exc:
        return GitDiffResult(success=False, tool_error=str(exc))
    files: list[GitDiffFile] = []
    for record in numstat.split("\x00"):
        parts = record.split("\t")
        if len(parts) >= 3 and parts[2]:
            added, removed = (0 if v == "-" else int(v) for v in parts[:2])
            files.append(GitDiffFile(path=parts[2], additions=added, deletions=removed))
    return GitDiffResult(
        success=True,
        files=files,
        file_count=len(files),
        additions=sum(f.additions for f in files),
        deletions=sum(f.deletions for f in files),
        diff=text[:DIFF_LIMIT],
    )


async def git_log(ctx: ToolContext, limit: int = 10, path: str = ".") -> GitLogResult:
    """The newest `limit` commits (1 to 500), optionally for one path."""
    if not 1 <= limit <= 500:
        return GitLogResult(success=False, tool_error=f"limit must be between 1 and 500, got {limit}")
    try:
        target = ctx.workspace.relative(path)
        out = await _git(ctx, "log", f"-n{limit}", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e", "--", target)
    except ToolError as exc:
        if "does not have any commits" in str(exc):
            return GitLogResult(success=True)
        return GitLogResult(success=False, tool_error=str(exc))
    except WorkspaceError as exc:
        return GitLogResult(success=False, tool_error=str(exc))
    commits = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) == 5:
            sha, author, email, date, subject = fields
            commits.append(GitCommit(sha=sha, author=author, email=email, date=date, subject=subject))
    return GitLogResult(success=True, commits=commits, commit_count=len(commits))
