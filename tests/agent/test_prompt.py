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
