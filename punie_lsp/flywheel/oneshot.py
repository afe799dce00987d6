"""One-shot runs: a prompt in, an answer out, captured as a trace (`punie ask`, editor commands).

It lives in the workflow layer because it composes the agent with the flywheel's capture.
"""

from __future__ import annotations

from pathlib import Path

from punie_lsp.agent.events import EventHandler
from punie_lsp.agent.permissions import Mode, ModePolicy
from punie_lsp.agent.session import AgentConfig, PunieSession, TurnResult
from punie_lsp.config import find_project_root
from punie_lsp.flywheel.capture import capture_session
from punie_lsp.models import resolve_model
from punie_lsp.sandbox import PermissionPolicy, deny_all
from punie_lsp.tools.context import ToolContext

__all__ = ("ask_once",)


async def ask_once(
    prompt: str,
    *,
    cwd: Path,
    model_spec: str | None = None,
    mode: Mode = "ask",
    ask: PermissionPolicy = deny_all,
    on_event: EventHandler | None = None,
    config: AgentConfig | None = None,
    auto_install: bool | None = None,
) -> TurnResult:
    """Answer `prompt` in the project holding `cwd`, with the configured (or given) model.

    `auto_install`: install punie-tiny now if it is the model and missing (`None`: only in a terminal or
    with `PUNIE_AUTO_INSTALL=1`; `punie ask` passes `True`).

    Raises:
        UserError: the model spec is invalid, names something missing, or the project settings are bad.
    """
    ctx = ToolContext.for_root(find_project_root(cwd))
    model = resolve_model(
        model_spec or ctx.settings.model, punie_home=ctx.settings.punie_home, auto_install=auto_install
    )
    policy = ModePolicy(mode=mode, ask=ask)
    async with (
        PunieSession(model=model, ctx=ctx, policy=policy, config=config) as session,
        capture_session(session, model_spec=model_spec or ctx.settings.model, front_end="ask") as capture,
    ):
        return await capture.prompt(prompt, on_event=on_event)
