"""Hostile and careless blocks: each ends in a clear structured error and the host stays untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from punie_lsp.sandbox import BlockResult, CodeSandbox, ErrorKind, allow_all
from punie_lsp.tools import ToolContext

from .conftest import FAST_LIMITS

pytestmark = pytest.mark.timeout(60)

SECRET = "TOP-SECRET-HOST-DATA"


def _host_file_exists(path: str) -> bool:
    return Path(path).exists()


def _assert_failed(result: BlockResult, kind: ErrorKind, *needles: str) -> None:
    assert not result.ok
    assert result.error is not None, result
    assert result.error.kind == kind, result.error
    for needle in needles:
        assert needle in result.error.message, result.error.message
    _assert_no_leak(result)


def _assert_no_leak(result: BlockResult) -> None:
    shown = f"{result.value!r} {result.stdout} {result.error.for_model() if result.error else ''}"
    shown += " ".join(repr(call.result) for call in result.tool_calls)
    assert SECRET not in shown
    assert os.environ.get("HOME", "/root") not in shown.replace("/root/", "") or "HOME" not in os.environ


@pytest.mark.parametrize(
    ("code", "kind", "needle"),
    [
        ("open('/etc/passwd').read()", "type", "`open` used when not defined"),
        (
            "from pathlib import Path\nPath('/etc/passwd').read_text()",
            "permission",
            "no access to host files",
        ),
        (
            "from pathlib import Path\nPath('../outside/secret.txt').read_text()",
            "permission",
            "Path.read_text",
        ),
        ("import os\nos.listdir('/')", "permission", "no access to host files"),
    ],
)
async def test_host_files_are_out_of_reach(
    sandbox: CodeSandbox, code: str, kind: ErrorKind, needle: str
) -> None:
    """Reading host files directly fails before or at the call, naming the problem."""
    _assert_failed(await sandbox.run(code), kind, needle)


@pytest.mark.parametrize(
    "code",
    ["import os\nos.getenv('HOME')", "import os\nos.environ['PATH']", "import os\nos.environ.get('SECRET')"],
)
async def test_environment_variables_are_out_of_reach(sandbox: CodeSandbox, code: str) -> None:
    """The host environment is never visible: each access is a permission error."""
    _assert_failed(await sandbox.run(code), "permission", "no access to host")


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ("import subprocess\nsubprocess.run(['ls'])", "subprocess"),
        ("import os\nos.system('touch /tmp/pwned')", "system"),
        ("import socket\nsocket.socket()", "socket"),
        ("import urllib.request\nurllib.request.urlopen('http://example.com')", "urllib"),
        ("import shutil\nshutil.rmtree('/')", "shutil"),
    ],
)
async def test_subprocesses_and_sockets_do_not_exist(sandbox: CodeSandbox, code: str, needle: str) -> None:
    """Process and network modules are unknown to the checker, so nothing runs."""
    _assert_failed(await sandbox.run(code), "type", needle)
    assert not _host_file_exists("/tmp/pwned")


async def test_subprocess_is_missing_at_run_time_too(ctx: ToolContext) -> None:
    """Without the type checker, importing `subprocess` fails at run time: the module does not exist."""
    async with CodeSandbox(ctx, limits=FAST_LIMITS, type_check=False) as box:
        result = await box.run("import subprocess\nsubprocess.run(['ls'])")
    _assert_failed(result, "runtime", "ModuleNotFoundError")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("().__class__.__subclasses__()", "runtime"),
        ("type(1).__subclasses__()", "runtime"),
        ("__import__('os').getenv('HOME')", "type"),
        ("eval(\"__import__('os')\")", "runtime"),
        ("globals()", "type"),
        ("r = file_read('README.md')\neval('r.model_dump()')", "runtime"),
        ("r = file_read('README.md')\neval('r.__class__.__mro__')", "runtime"),
        ("r = file_read('README.md')\neval('r.__dict__')", "runtime"),
    ],
)
async def test_introspection_tricks_find_nothing(sandbox: CodeSandbox, code: str, kind: ErrorKind) -> None:
    """Reaching for classes, imports or a result's host methods ends in a clear error."""
    _assert_failed(await sandbox.run(code), kind)


@pytest.mark.parametrize(
    "code",
    [
        "file_read('../outside/secret.txt')",
        "file_read('/etc/passwd')",
        "file_read('app/../../outside/secret.txt')",
        "file_read('leak/secret.txt')",
        "file_list('leak')",
        "file_search('SECRET', path='..', glob='*.txt')",
    ],
)
async def test_file_tools_refuse_paths_outside_the_workspace(
    sandbox: CodeSandbox, project: Path, code: str
) -> None:
    """`..`, absolute and symlinked paths come back as a `tool_error`; nothing outside is read."""
    (project / "leak").symlink_to(project.parent / "outside")
    result = await sandbox.run(f"r = {code}\n(r.success, r.tool_error)")
    assert result.ok, result.error
    assert isinstance(result.value, list)
    assert result.value[0] is False
    assert "outside the workspace" in str(result.value[1])
    _assert_no_leak(result)


async def test_writes_through_symlinks_and_dots_never_leave_the_workspace(
    ctx: ToolContext, project: Path
) -> None:
    """Even with writes allowed, `..` and symlink escapes are refused and the outside stays unchanged."""
    outside = project.parent / "outside"
    (project / "leak").symlink_to(outside)
    code = """
results = []
for path in ['../outside/secret.txt', 'leak/secret.txt', 'leak/new.txt', '/tmp/punie-escape.txt']:
    w = file_write(path, 'PWNED')
    results.append(w.tool_error is not None)
e = file_edit('leak/secret.txt', old='TOP', new='PWNED')
results.append(e.tool_error is not None)
results
"""
    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=allow_all) as box:
        result = await box.run(code)
    assert result.ok, result.error
    assert result.value == [True, True, True, True, True]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == f"{SECRET}\n"
    assert not _host_file_exists("/tmp/punie-escape.txt")


async def test_infinite_loop_hits_the_time_limit_and_the_session_is_replaced(sandbox: CodeSandbox) -> None:
    """`while True` stops at the CPU limit (fatal: a new session); the next block runs normally."""
    assert (await sandbox.run("kept = 1")).ok
    result = await sandbox.run("n = 0\nwhile True:\n    n = n + 1")
    _assert_failed(result, "limit", "time limit")
    assert result.error is not None and result.error.fatal
    assert "restarted" in result.error.for_model()
    after = await sandbox.run("x = 2\nx * 21")
    assert after.ok, after.error
    assert after.value == 42
    gone = await sandbox.run("kept")
    assert gone.error is not None and gone.error.kind == "type"


@pytest.mark.parametrize(
    "code",
    [
        "x = 'a' * (10 ** 9)",
        "blocks = []\nwhile True:\n    blocks.append('x' * 100000)",
        "d = {}\nfor i in range(10 ** 8):\n    d[i] = [i] * 10",
    ],
)
async def test_memory_bombs_hit_the_memory_limit(sandbox: CodeSandbox, code: str) -> None:
    """Huge allocations stop at the heap limit; the session is replaced and still works."""
    result = await sandbox.run(code)
    _assert_failed(result, "limit")
    assert result.error is not None and result.error.fatal
    assert "MemoryError" in result.error.message or "TimeoutError" in result.error.message
    assert (await sandbox.run("1 + 1")).value == 2


async def test_deep_recursion_hits_the_recursion_limit(sandbox: CodeSandbox) -> None:
    """Unbounded recursion is a `limit` error with the recursive line; the session keeps its variables."""
    assert (await sandbox.run("kept = 'still here'")).ok
    result = await sandbox.run("def down(n: int) -> int:\n    return down(n + 1)\n\ndown(0)")
    _assert_failed(result, "limit", "RecursionError")
    assert result.error is not None and result.error.line == 2 and not result.error.fatal
    assert (await sandbox.run("kept")).value == "still here"


async def test_output_flood_is_truncated_with_a_note(sandbox: CodeSandbox) -> None:
    """A block printing far more than the cap keeps the first part and says how much was dropped."""
    result = await sandbox.run("for i in range(20000):\n    print('spam spam spam spam')\n'done'")
    assert result.ok, result.error
    assert result.value == "done"
    assert result.stdout_truncated
    assert result.stdout.startswith("spam spam spam spam\n")
    assert "[output truncated: " in result.stdout
    assert len(result.stdout) < FAST_LIMITS.max_output_chars + 200


async def test_endless_output_flood_ends_at_the_time_limit(sandbox: CodeSandbox) -> None:
    """Printing forever ends as a `limit` error and the kept output stays capped."""
    result = await sandbox.run("while True:\n    print('flood' * 100)")
    _assert_failed(result, "limit", "time limit")
    assert len(result.stdout) < FAST_LIMITS.max_output_chars + 200


async def test_giant_result_value_is_truncated(sandbox: CodeSandbox) -> None:
    """A huge last expression comes back as a capped preview string."""
    result = await sandbox.run("'x' * 1_000_000")
    assert result.ok, result.error
    assert result.value_truncated
    assert isinstance(result.value, str)
    assert len(result.value) < FAST_LIMITS.max_result_chars + 200


async def test_giant_tool_arguments_are_refused_before_the_tool_runs(ctx: ToolContext, project: Path) -> None:
    """An argument over the size limit raises `ValueError` in the block; the file is not written."""
    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=allow_all) as box:
        result = await box.run("file_write('big.txt', 'x' * 1_000_000)")
    _assert_failed(result, "runtime", "ValueError", "over 100,000 characters")
    assert not (project / "big.txt").exists()
    assert [(c.name, c.ok) for c in result.tool_calls] == [("file_write", False)]


async def test_wrongly_typed_arguments_that_slip_past_the_checker_raise_in_the_block(
    sandbox: CodeSandbox,
) -> None:
    """Arguments typed `Any` (decoded JSON) are still validated: a clear `TypeError` the block can catch."""
    code = """
import json
args = json.loads('{"path": 5, "bogus": true}')
try:
    file_read(**args)
except TypeError as exc:
    message = str(exc)
message
"""
    result = await sandbox.run(code)
    assert result.ok, result.error
    assert isinstance(result.value, str)
    assert "bad arguments for `file_read`" in result.value
    assert "`path`: Input should be a valid string" in result.value
    assert "`bogus`: Extra inputs are not permitted" in result.value


async def test_too_many_positional_arguments_raise_type_error(sandbox: CodeSandbox) -> None:
    """Extra positional arguments (hidden from the checker by `eval`) raise a `TypeError` naming the tool."""
    result = await sandbox.run("eval(\"file_read('a', 1, 2, 3, 4)\")")
    _assert_failed(result, "runtime", "TypeError", "file_read() takes 3 arguments but 5 were given")


async def test_unknown_functions_are_name_errors(sandbox: CodeSandbox) -> None:
    """Calling a host function that does not exist (through `eval`) is a plain `NameError`."""
    _assert_failed(await sandbox.run("eval('delete_everything()')"), "runtime", "NameError")


async def test_an_oversized_block_is_refused(sandbox: CodeSandbox) -> None:
    """A block longer than the limit is refused before checking or running."""
    result = await sandbox.run("x = 1\n" * 40_000)
    _assert_failed(result, "limit", "over the 200,000 limit")


async def test_the_host_process_survives_everything(sandbox: CodeSandbox) -> None:
    """After a crash-prone sequence the host is alive and the sandbox still answers."""
    for code in ("while True:\n    pass", "x = 'a' * (10 ** 9)", "def f():\n    return f()\nf()", "1 / 0"):
        assert not (await sandbox.run(code)).ok
    final = await sandbox.run("file_read('README.md').line_count")
    assert final.ok, final.error
    assert final.value == 4
