"""The system prompt: one line per tool and skill (progressive disclosure), within the token budget."""

from __future__ import annotations

from pathlib import Path

from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.agent.prompt import system_prompt, tool_line
from punie_lsp.skills import discover_skills
from punie_lsp.tools.catalogue import default_catalogue

CHARS_PER_TOKEN_LOW = 3.2
"""A pessimistic characters-per-token figure for BPE tokenizers on English with code."""


def _prompt() -> str:
    skills, _ = discover_skills(Path("."), Path("/nonexistent-home"))
    return system_prompt(root="/home/dev/projects/shop", tools=agent_catalogue(), skills=skills.values())


def test_prompt_lists_every_tool_and_skill_by_name_only() -> None:
    """Every tool and skill appears once; no stub classes or skill bodies are inlined."""
    prompt = _prompt()
    for spec in agent_catalogue():
        assert f"\n- {spec.name}(" in prompt
    skills, _ = discover_skills(Path("."), Path("/nonexistent-home"))
    assert len(skills) >= 9
    for name in skills:
        assert f"\n- {name}: " in prompt
    assert "class TypeCheckResult" not in prompt
    assert "## " not in prompt


def test_prompt_fits_the_token_budget() -> None:
    """Even at a pessimistic 3.2 characters per token the prompt stays within 1,600 tokens (target 1,500)."""
    assert len(_prompt()) / CHARS_PER_TOKEN_LOW <= 1600


def test_tool_line_shows_required_and_default_parameters() -> None:
    """Required parameters are bare; optional ones show their defaults."""
    line = tool_line(default_catalogue().get("file_edit"))
    assert line.startswith("- file_edit(path, old, new, replace_all=False) -> FileWriteResult: ")


def test_compact_profile_names_every_tool_with_its_required_arguments() -> None:
    """punie-tiny's prompt: every tool once, required arguments shown, optional ones as `…`, ~290 tokens."""
    prompt = system_prompt(
        root="/home/dev/projects/shop", tools=agent_catalogue(), skills=[], profile="compact"
    )
    assert "`/home/dev/projects/shop`" in prompt and "run_code" in prompt
    for spec in agent_catalogue():
        assert f" {spec.name}(" in prompt
    assert "file_edit(path, old, new, …)" in prompt and "git_status()" in prompt
    assert "Skills" not in prompt and len(prompt) / CHARS_PER_TOKEN_LOW <= 450
    assert len(prompt) < len(_prompt()) / 3


def test_a_session_serves_the_profile_its_model_names(tmp_path: Path) -> None:
    """A model directory's `punie.json` picks the compact prompt; `AgentConfig` overrides it."""
    from punie_lsp.agent.session import AgentConfig, PunieSession
    from punie_lsp.models import MLXModel
    from punie_lsp.tools.context import ToolContext

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "punie.json").write_text('{"prompt_profile": "compact"}', encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    ctx = ToolContext.for_root(project)
    compact = PunieSession(model=MLXModel(model_dir), ctx=ctx)
    assert compact.prompt_profile == "compact" and compact.instructions.startswith("You are Punie, a coding")
    full = PunieSession(model=MLXModel(model_dir), ctx=ctx, config=AgentConfig(prompt_profile="full"))
    assert full.prompt_profile == "full" and "Skills (" in full.instructions
    (model_dir / "punie.json").write_text("not json", encoding="utf-8")
    assert PunieSession(model=MLXModel(model_dir), ctx=ctx).prompt_profile == "full"
