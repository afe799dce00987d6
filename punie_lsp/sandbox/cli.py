"""`punie code run FILE|-`: run one Code Mode block with the standard tools against a workspace.

The lead CLI mounts `app` as `punie code`. Output is the JSON contract
`{"ok", "result", "stdout", "error", "tool_calls"}` (or a readable text form); the exit status is 0 when
the block ran to the end, 1 when it failed, and 2 for usage errors (nothing is printed on stdout then).
"""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from punie_lsp.exceptions import UserError

if TYPE_CHECKING:
    from punie_lsp.sandbox._results import BlockResult

__all__ = ("OutputFormat", "app")

app = typer.Typer(
    name="code",
    help="Code Mode: run Python blocks that call Punie's typed tools inside the Monty sandbox.",
    no_args_is_help=True,
    add_completion=False,
)


class OutputFormat(StrEnum):
    """How `punie code run` prints its report."""

    json = "json"
    text = "text"


@app.callback()
def code() -> None:
    """Code Mode: run Python blocks that call Punie's typed tools inside the Monty sandbox."""


@app.command("run")
def run(
    file: Annotated[str, typer.Argument(help="The block to run: a file, or `-` for standard input.")],
    cwd: Annotated[
        Path | None,
        typer.Option("--cwd", help="Project root the tools work in (default: current directory)."),
    ] = None,
    allow_writes: Annotated[
        bool,
        typer.Option("--allow-writes", help="Allow write and high-risk tools; without it they are denied."),
    ] = False,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="json (the contract) or text.")] = (
        OutputFormat.json
    ),
) -> None:
    """Run one block (type-checked first) and print its value, output, error and tool calls."""
    from punie_lsp.sandbox._events import allow_all, deny_all  # imported here so `punie --help` stays fast
    from punie_lsp.sandbox._runner import run_code
    from punie_lsp.tools.context import ToolContext

    try:
        code = sys.stdin.read() if file == "-" else _read_block(Path(file))
        ctx = ToolContext.for_root(cwd if cwd is not None else Path.cwd())
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = asyncio.run(run_code(code, ctx, policy=allow_all if allow_writes else deny_all))
    match output_format:
        case OutputFormat.json:
            typer.echo(result.report().model_dump_json())
        case OutputFormat.text:
            typer.echo(_render_text(result), nl=False)
    raise typer.Exit(0 if result.ok else 1)


def _read_block(path: Path) -> str:
    if not path.is_file():
        raise UserError(f"`{path}` is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read `{path}`: {exc}") from exc


def _render_text(result: BlockResult) -> str:
    lines: list[str] = []
    if result.stdout:
        lines.append(result.stdout.rstrip("\n"))
    if result.value is not None:
        lines.append(f"result: {json.dumps(result.value, ensure_ascii=False, indent=2)}")
    for call in result.tool_calls:
        mark = "denied" if call.denied else ("ok" if call.ok else "failed")
        args = ", ".join(f"{k}={v!r}" if len(repr(v)) <= 60 else f"{k}=…" for k, v in call.args.items())
        lines.append(f"tool {call.name}({args}): {mark}, {call.duration_s * 1000:.1f} ms")
    if result.error is not None:
        lines.append(result.error.for_model())
    return "\n".join(lines) + "\n" if lines else ""


if __name__ == "__main__":
    app()
