"""`pytest_run`: the target project's tests, run with the target project's interpreter.

The interpreter is the project's own: its `.venv`, else `uv run` for a uv project (a `uv.lock`), else
the interpreter Punie runs on. Results come from pytest's JUnit XML, never from console text.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from punie_lsp.exceptions import ToolError, WorkspaceError
from punie_lsp.tools._process import ToolTimeout, run_process
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import TestCase, TestResult

__all__ = ("parse_junit", "project_interpreter", "pytest_command", "pytest_run")

_MESSAGE_LIMIT = 2000


def project_interpreter(root: Path) -> list[str]:
    """The command prefix that runs Python in the project at `root`.

    Order: `.venv/` or `venv/` in the root, then `uv run` when the root holds a `uv.lock`, then the
    interpreter Punie itself runs on.
    """
    for name in (".venv", "venv"):
        for exe in ("bin/python", "Scripts/python.exe"):
            candidate = root / name / exe
            if candidate.is_file():
                return [str(candidate)]
    if (root / "uv.lock").is_file() and (uv := shutil.which("uv")) is not None:
        return [uv, "run", "--frozen", "--project", str(root), "python"]
    return [sys.executable]


def _node_id(case: ET.Element) -> tuple[str, str | None, int | None]:
    name = case.get("name", "?")
    classname = case.get("classname", "")
    file = case.get("file")
    line = case.get("line")
    if file:
        module = file.removesuffix(".py").replace("/", ".").replace("\\", ".")
        rest = classname[len(module) + 1 :] if classname.startswith(module + ".") else ""
        parts = [file.replace("\\", "/"), *([*rest.split(".")] if rest else []), name]
        return "::".join(parts), file.replace("\\", "/"), int(line) + 1 if line and line.isdigit() else None
    return f"{classname}::{name}" if classname else name, None, None


def parse_junit(xml_text: str) -> TestResult:
    """Every test of a pytest JUnit XML report (xunit1), with the counts."""
    root = ET.fromstring(xml_text)
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests: list[TestCase] = []
    duration = 0.0
    for suite in suites:
        duration += float(suite.get("time", "0") or 0)
        for case in suite.iter("testcase"):
            node_id, file, line = _node_id(case)
            outcome = "passed"
            message: str | None = None
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                    text = child.get("message") or ""
                    body = (child.text or "").strip()
                    message = (f"{text}\n{body}" if body and body != text else text)[:_MESSAGE_LIMIT] or None
                    if outcome != "skipped":
                        break
            tests.append(
                TestCase(
                    node_id=node_id,
                    outcome=outcome,
                    duration=float(case.get("time", "0") or 0),
                    message=message,
                    file=file,
                    line=line,
                )
            )
    count = {
        outcome: sum(t.outcome == outcome for t in tests)
        for outcome in ("passed", "failed", "error", "skipped")
    }
    return TestResult(
        success=count["failed"] == 0 and count["error"] == 0,
        passed=count["passed"],
        failed=count["failed"],
        errors=count["error"],
        skipped=count["skipped"],
        duration=round(duration, 3),
        tests=tests,
    )


def pytest_command(ctx: ToolContext, path: str, *, select: str | None, report: Path) -> list[str]:
    """The command line `pytest_run` runs: the project's interpreter, pytest, a JUnit report to `report`.

    Raises:
        WorkspaceError: `path` is outside the workspace or does not exist.
    """
    file_part, node_sep, node_rest = path.partition("::")
    target = ctx.workspace.resolve(file_part)
    if not target.exists():
        raise WorkspaceError(f"`{file_part}` does not exist", path=path)
    args = [*project_interpreter(ctx.workspace.root), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    args += [f"--junitxml={report}", "-o", "junit_family=xunit1", "-o", "junit_logging=no"]
    args += ["--continue-on-collection-errors"]
    selectors = [ctx.workspace.relative(target) + (node_sep + node_rest if node_sep else "")]
    if select:
        if "::" in select or select.endswith(".py"):
            selectors = [select]
        else:
            args += ["-k", select]
    return [*args, *selectors]


async def pytest_run(
    ctx: ToolContext,
    path: str = ".",
    select: str | None = None,
    timeout: float | None = None,
) -> TestResult:
    """Run pytest with the project's interpreter; every test's outcome.

    `path` is a directory, a file or a node id (`tests/test_app.py::test_home`). `select` narrows the
    run: a node id or a `-k` expression (`"home and not slow"`). `timeout` defaults to the project's
    `test_timeout` setting.
    """
    limit = timeout if timeout is not None else ctx.settings.test_timeout
    root = ctx.workspace.root
    interpreter = project_interpreter(root)
    shown = " ".join(interpreter)
    try:
        with tempfile.TemporaryDirectory(prefix="punie-pytest-") as tmp:
            report = Path(tmp) / "junit.xml"
            args = pytest_command(ctx, path, select=select, report=report)
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            env.pop("PYTEST_ADDOPTS", None)
            env.pop("PYTEST_CURRENT_TEST", None)
            proc = await run_process(args, cwd=root, timeout=limit, env=env)
            if "No module named pytest" in proc.stderr:
                raise ToolError(f"pytest is not installed in the project's interpreter `{shown}`")
            if proc.returncode in (3, 4) or not report.is_file():
                detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-3:]
                raise ToolError(f"pytest could not run (exit {proc.returncode}): {' | '.join(detail)[:500]}")
            result = parse_junit(report.read_text(encoding="utf-8", errors="replace"))
    except ToolTimeout as exc:
        return TestResult(success=False, timed_out=True, interpreter=shown, tool_error=str(exc))
    except (ToolError, WorkspaceError) as exc:
        return TestResult(success=False, interpreter=shown, tool_error=str(exc))
    except ET.ParseError as exc:
        return TestResult(
            success=False, interpreter=shown, tool_error=f"pytest's JUnit report is malformed: {exc}"
        )
    return result.model_copy(update={"interpreter": shown, "exit_code": proc.returncode})
