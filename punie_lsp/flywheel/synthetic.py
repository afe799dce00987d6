"""Synthetic sessions with realistic records, for tests and the capture/curate/export benchmark.

Each turn is a real pydantic-ai exchange (a prompt, a `run_code` call, its tool return, an answer) with a
Code Mode block, its nested tool calls and validation outcomes, built through the same schema the
collector writes. Prompts are drawn from a seeded vocabulary, so texts differ the way real ones do.
"""

from __future__ import annotations

import random

from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from punie_lsp.flywheel.schema import (
    BlockTrace,
    ModelInfo,
    Outcome,
    Record,
    SessionHeader,
    ToolCallTrace,
    TurnRecord,
    TurnUsage,
    ValidationTrace,
)
from punie_lsp.models.chat_format import ChatTool, ChatToolFunction

__all__ = ("RUN_CODE_TOOL", "synthetic_header", "synthetic_session", "synthetic_turn")

RUN_CODE_TOOL = ChatTool(
    type="function",
    function=ChatToolFunction(
        name="run_code",
        description="Run one Python block that calls Punie's tools as functions.",
        parameters={
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}},
            "required": ["code"],
            "type": "object",
        },
    ),
)
"""The Code Mode tool definition, as recorded in a session header."""

_TOOLS = ("ruff_check", "typecheck", "pytest_run", "validate_component", "file_read", "git_status")
_WORDS = [
    "views",
    "models",
    "services",
    "middleware",
    "components",
    "registry",
    "container",
    "handler",
    "request",
    "response",
    "template",
    "settings",
    "routes",
    "forms",
    "auth",
    "session",
    "cache",
    "users",
    "orders",
    "invoices",
    "search",
    "pages",
    "layout",
    "header",
    "footer",
    "sidebar",
    "dashboard",
    "reports",
    "health",
    "metrics",
    "logging",
    "admin",
    "api",
    "client",
    "server",
    "tests",
    "fixtures",
    "config",
]
_VERBS = ("check", "inspect", "review", "fix", "explain", "audit", "summarise", "validate", "look at")


def synthetic_header(session_id: str, *, project: str = "shop", feature: str = "main") -> SessionHeader:
    """A session header for a Code Mode session."""
    return SessionHeader(
        session_id=session_id,
        project=project,
        feature=feature,
        feature_source="branch",
        front_end="ask",
        root=f"/work/{project}",
        started_at="2026-01-05T10:00:00.000Z",
        punie_version="0.0.0",
        model=ModelInfo(spec="replay:turns.jsonl", name="replay", system="replay"),
        code_mode=True,
        instructions=f"You are Punie, working in the project at `/work/{project}`.",
        tools=[dict(RUN_CODE_TOOL)],
    )


def synthetic_turn(
    session_id: str,
    number: int,
    *,
    rng: random.Random,
    history_len: int = 0,
    prompt: str | None = None,
    tool: str | None = None,
    ok: bool = True,
) -> tuple[TurnRecord, list[ModelMessage]]:
    """One synthetic turn and the messages it added.

    Args:
        session_id: the session.
        number: the turn number.
        rng: the random source (seeded by the caller).
        history_len: messages before this turn.
        prompt: the prompt (default: a random request).
        tool: the tool the block calls (default: a random one).
        ok: whether the block and its validation succeed.
    """
    tool = tool or rng.choice(_TOOLS)
    target = f"{rng.choice(_WORDS)}/{rng.choice(_WORDS)}_{rng.randrange(1000)}.py"
    prompt = prompt or (
        f"Please {rng.choice(_VERBS)} the {rng.choice(_WORDS)} and {rng.choice(_WORDS)} code in {target}, "
        f"then tell me about the {rng.choice(_WORDS)} {rng.choice(_WORDS)} and the {rng.choice(_WORDS)}."
    )
    code = f"r = {tool}({target!r})\nprint(r.success)\n[r.success, {rng.randrange(100)}]"
    call_id = f"call-{session_id}-{number}"
    count = 0 if ok else rng.randrange(1, 5)
    answer = (
        f"I ran `{tool}` on {target}: {'no problems' if ok else f'{count} problem(s)'} in the "
        f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}; the {rng.choice(_WORDS)} looks {rng.choice(_WORDS)}."
    )
    messages: list[ModelMessage] = [
        ModelRequest(parts=[UserPromptPart(content=prompt)]),
        ModelResponse(parts=[ToolCallPart(tool_name="run_code", args={"code": code}, tool_call_id=call_id)]),
        ModelRequest(
            parts=[
                ToolReturnPart(
                    tool_name="run_code",
                    content=f"Output:\n{ok}\n\nResult:\n[{str(ok).lower()}]",
                    tool_call_id=call_id,
                )
            ]
        ),
        ModelResponse(parts=[TextPart(content=answer)]),
    ]
    result = {"success": ok, "tool_error": None, "error_count": count}
    record = TurnRecord(
        session_id=session_id,
        turn=number,
        started_at="2026-01-05T10:00:01.000Z",
        finished_at="2026-01-05T10:00:03.000Z",
        prompt=prompt,
        history_len=history_len,
        messages=ModelMessagesTypeAdapter.dump_python(messages, mode="json"),
        blocks=[
            BlockTrace(
                block_id=call_id,
                code=code,
                ok=True,
                value=[ok, 1],
                stdout=f"{ok}\n",
                duration_s=0.2,
                tool_calls=[
                    ToolCallTrace(
                        call_id=f"{call_id}-0",
                        name=tool,
                        args={"path": target},
                        risk="read",
                        ok=True,
                        result_type="TypeCheckResult",
                        result=result,
                        duration_s=0.1,
                    )
                ],
            )
        ],
        validation=[ValidationTrace(check="typecheck", tool=tool, passed=ok, problems=count)],
        outcome=Outcome(stop_reason="end_turn", output=answer),
        usage=TurnUsage(duration_s=2.0, first_token_s=0.3, input_tokens=900, output_tokens=120, requests=2),
    )
    return record, messages


def synthetic_session(
    session_id: str, *, turns: int, seed: int = 0, project: str = "shop", feature: str = "main"
) -> list[Record]:
    """A whole session: the header and `turns` turns (each building on the previous history)."""
    rng = random.Random(f"{seed}-{session_id}")
    records: list[Record] = [synthetic_header(session_id, project=project, feature=feature)]
    history = 0
    for number in range(1, turns + 1):
        record, messages = synthetic_turn(session_id, number, rng=rng, history_len=history)
        records.append(record)
        history += len(messages)
    return records
