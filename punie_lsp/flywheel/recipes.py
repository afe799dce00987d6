"""Recipe types shared by the seed set and the evaluation: a task, the block that does it, the answer.

A `Recipe` is a template of tasks: phrasings of a request, one Code Mode block (with `$name`
placeholders filled per fixture), and a function that writes the final answer *from what the block
really returned*. The seed builder expands recipes over fixtures and phrasings; answers are never
written by hand for a particular project.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any, Literal

from pydantic import JsonValue

from punie_lsp.flywheel._workspace import FixtureCopy

__all__ = (
    "CATEGORIES",
    "Answer",
    "Category",
    "Outcome",
    "Recipe",
    "as_dict",
    "as_int",
    "as_list",
    "bullets",
    "count",
    "fill",
)

Category = Literal["quality", "files", "git", "domain", "fields", "plain", "correction", "fix"]
"""What an example teaches: a tool family, reading fields, answering without tools, fixing or correcting."""

CATEGORIES: tuple[Category, ...] = (
    "quality",
    "files",
    "git",
    "domain",
    "fields",
    "plain",
    "correction",
    "fix",
)
"""Every category, in manifest order."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a final answer may be derived from: the block's real value and output, the task's parameters."""

    value: JsonValue
    """The last expression's value (JSON types)."""
    stdout: str
    """What the block printed."""
    params: Mapping[str, str]
    """The placeholders this task was filled with (`file`, `name`...)."""


Answer = Callable[[Outcome], str]
"""Writes the final answer from an outcome; raises (any exception) when it cannot."""
Params = Callable[[FixtureCopy], Sequence[Mapping[str, str]]]
"""The placeholder sets a recipe can be filled with on a fixture copy (empty: the recipe does not apply)."""


def _no_params(copy: FixtureCopy) -> Sequence[Mapping[str, str]]:
    del copy
    return ({},)


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A template of Code Mode tasks (or, without `code`, of plain answers)."""

    name: str
    """Unique name; also seeds this recipe's random choices."""
    category: Category
    """What its examples teach."""
    prompts: tuple[str, ...]
    """Phrasings of the request (`$name` placeholders allowed)."""
    answer: Answer
    """The final answer, from the real outcome."""
    code: str | None = None
    """The block (`$name` placeholders allowed); `None` for a plain answer without tools."""
    fixtures: tuple[str, ...] = ()
    """Fixture projects the recipe runs on."""
    samples: int = 1
    """Phrasings used per fixture and parameter set."""
    max_fixtures: int | None = None
    """Use only this many of `fixtures` (a seeded choice), to balance categories."""
    params: Params = _no_params
    """Placeholder sets per fixture copy."""
    max_params: int = 1
    """Parameter sets used per fixture (a seeded choice)."""
    mistakes: tuple[tuple[str, str], ...] = ()
    """`(right, wrong)` edits of `code` that a model plausibly makes; each yields a correction example."""
    max_corrections: int = 0
    """Correction examples made from this recipe (one per chosen fixture)."""
    mutates: bool = False
    """The block writes files: it runs on a fresh copy of the fixture."""
    tool_error_expected: bool = False
    """A tool reporting `tool_error` is the point of the task (missing file), not a reason to drop it."""
    tags: tuple[str, ...] = field(default_factory=tuple)
    """Free-form labels for the manifest."""


def fill(text: str, params: Mapping[str, str]) -> str:
    """Substitute `$name` placeholders (every one must be given)."""
    return Template(text).substitute(params)


def as_dict(value: JsonValue) -> dict[str, Any]:
    """The value as a JSON object (raises `TypeError` otherwise)."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a JSON object, got {type(value).__name__}")
    return value


def as_list(value: JsonValue) -> list[Any]:
    """The value as a JSON array (raises `TypeError` otherwise)."""
    if not isinstance(value, list):
        raise TypeError(f"expected a JSON array, got {type(value).__name__}")
    return value


def as_int(value: JsonValue) -> int:
    """The value as a JSON integer (raises `TypeError` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def count(number: int, singular: str, plural: str | None = None) -> str:
    """`1 error`, `2 errors`."""
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


_SPACE = re.compile(r"\s+")


def bullets(items: Sequence[str], *, limit: int = 8) -> str:
    """A bulleted list of at most `limit` items (single-line each); `…` marks that more were left out."""
    lines = [f"- {_SPACE.sub(' ', item).strip()}" for item in items[:limit]]
    if len(items) > limit:
        lines.append("- …")
    return "\n".join(lines)
