"""The `punie` command: a thin front-end over the core (no logic lives here beyond argument handling).

Exit codes everywhere: 0 success, 1 problems found in the code, 2 usage or I/O error (message on stderr,
nothing on stdout).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from punie_lsp import __version__
from punie_lsp._render import render_result
from punie_lsp.check import parse_layers, run_check
from punie_lsp.exceptions import PunieError
from punie_lsp.tools import ToolContext
from punie_lsp.tools.catalogue import default_catalogue

__all__ = ("app", "main")

app = typer.Typer(
    name="punie",
    help="Punie: a local coding agent for Python web development that lives in your editor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutputFormat = Literal["text", "json"]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"punie: error: {message}", err=True)
    return typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"punie {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Punie: a local coding agent for Python web development."""


@app.command()
def check(
    paths: Annotated[list[str], typer.Argument(help="Files or directories to check.")],
    layers: Annotated[
        str | None, typer.Option("--layers", help="Comma-separated subset of syntax,ruff,ty,domain.")
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "text",
    fix: Annotated[bool, typer.Option("--fix", help="Apply domain and ruff auto-fixes first.")] = False,
) -> None:
    """Validate code layer by layer: syntax, ruff, ty, then Punie's domain rules."""
    try:
        report = asyncio.run(run_check(paths, layers=parse_layers(layers), fix=fix))
    except PunieError as exc:
        raise _fail(str(exc)) from None
    if output_format == "json":
        typer.echo(report.model_dump_json(indent=2))
    else:
        for d in report.diagnostics:
            fixable = " [fixable]" if d.fixable else ""
            typer.echo(
                f"{d.path}:{d.line}:{d.column}: {d.severity} {d.rule} ({d.source}) {d.message}{fixable}"
            )
        counts = {
            sev: sum(d.severity == sev for d in report.diagnostics) for sev in ("error", "warning", "info")
        }
        typer.echo(
            f"Checked {report.files_checked} file(s): {counts['error']} error(s), "
            f"{counts['warning']} warning(s), {counts['info']} info."
        )
    raise typer.Exit(1 if report.error_count else 0)


def _parse_pairs(pairs: list[str]) -> dict[str, object]:
    arguments: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise PunieError(f"argument {pair!r} is not KEY=VALUE")
        if key in arguments:
            raise PunieError(f"argument `{key}` given twice")
        stripped = value.strip()
        if stripped[:1] in ("[", "{") or stripped in ("null", "true", "false"):
            try:
                arguments[key] = json.loads(stripped)
                continue
            except json.JSONDecodeError as exc:
                raise PunieError(f"argument `{key}` is not valid JSON: {exc.msg}") from None
        arguments[key] = value
    return arguments


@app.command(context_settings={"allow_extra_args": False})
def tool(
    name: Annotated[str | None, typer.Argument(help="Tool name (see --list).")] = None,
    arguments: Annotated[list[str] | None, typer.Argument(help="Tool arguments as KEY=VALUE.")] = None,
    cwd: Annotated[Path, typer.Option("--cwd", help="Workspace root the tool runs in.")] = Path(),
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "json",
    list_tools: Annotated[bool, typer.Option("--list", help="List the tools and exit.")] = False,
) -> None:
    """Run one typed tool, e.g. `punie tool ruff_check path=src`."""
    catalogue = default_catalogue()
    if list_tools or name is None:
        for spec in catalogue:
            typer.echo(f"{spec.name:32} {spec.risk:9} {spec.summary}")
        raise typer.Exit(0)
    try:
        spec = catalogue.get(name)
        parsed = spec.validate_arguments(_parse_pairs(arguments or []))
        ctx = ToolContext.for_root(cwd)
        result = asyncio.run(spec.function(ctx, **parsed))
    except PunieError as exc:
        raise _fail(str(exc)) from None
    if output_format == "json":
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render_result(result))
    tool_error = getattr(result, "tool_error", None)
    raise typer.Exit(2 if tool_error else 0 if getattr(result, "success", True) else 1)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
