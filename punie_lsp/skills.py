"""Skills: Markdown instructions the model loads on demand (`skills/<name>/SKILL.md`).

Three sources, later ones extending or overriding earlier ones by name: the skills shipped with Punie,
organisation skills in `PUNIE_HOME/skills/`, and project skills in `<project>/.punie/skills/`. A skill
whose front matter says `role: verification` is the project's acceptance/verification skill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from punie_lsp.exceptions import UserError

__all__ = (
    "Skill",
    "SkillSource",
    "discover_skills",
    "parse_skill",
    "shipped_skills_dir",
    "verification_skill",
)

SkillSource = Literal["shipped", "organisation", "project"]
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_SKILL_BYTES = 64 * 1024


@dataclass(frozen=True, kw_only=True)
class Skill:
    """One skill, parsed."""

    name: str
    """Identifier (lower case, digits and dashes)."""
    description: str
    """One line saying when to use it: what the system prompt lists."""
    body: str
    """The Markdown instructions, loaded on demand."""
    path: Path
    """The SKILL.md file."""
    source: SkillSource
    """Where it came from."""
    role: str | None = None
    """`verification` for the acceptance skill; None otherwise."""
    resources: tuple[str, ...] = ()
    """Other files in the skill's directory (examples, templates), relative to it."""


def shipped_skills_dir() -> Path:
    """The skills shipped with Punie (inside the wheel, or `skills/` of a source checkout)."""
    packaged = Path(__file__).resolve().parent / "_skills"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "skills"


def _front_matter(text: str, path: Path) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        raise UserError(f"`{path}` has no front matter (it must start with `---`)")
    end = text.find("\n---", 3)
    if end == -1:
        raise UserError(f"`{path}`: the front matter is not closed with `---`")
    fields: dict[str, str] = {}
    for number, line in enumerate(text[3:end].strip("\n").splitlines(), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise UserError(f"`{path}` line {number}: expected `key: value`, got {line!r}")
        fields[key.strip()] = value.strip().strip("'\"")
    return fields, text[end + 4 :].lstrip("\n")


def parse_skill(path: Path, *, source: SkillSource) -> Skill:
    """Parse one SKILL.md.

    Raises:
        UserError: missing or malformed front matter, a bad name, or a missing description; the message
            names the file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read `{path}`: {exc.strerror}") from exc
    if len(data) > MAX_SKILL_BYTES:
        raise UserError(f"`{path}` is {len(data):,} bytes; skills are limited to {MAX_SKILL_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"`{path}` is not valid UTF-8") from exc
    fields, body = _front_matter(text, path)
    name = fields.get("name", "")
    if not _NAME.match(name):
        raise UserError(f"`{path}`: `name` must be lower case letters, digits and dashes, got {name!r}")
    description = fields.get("description", "")
    if not description:
        raise UserError(f"`{path}`: `description` is required")
    resources = tuple(
        sorted(
            p.relative_to(path.parent).as_posix() for p in path.parent.rglob("*") if p.is_file() and p != path
        )
    )
    return Skill(
        name=name,
        description=description,
        body=body,
        path=path,
        source=source,
        role=fields.get("role") or None,
        resources=resources,
    )


def discover_skills(project_root: Path | None, punie_home: Path) -> tuple[dict[str, Skill], list[str]]:
    """All skills by name (project over organisation over shipped), and warnings for broken ones.

    A broken skill file is skipped with a warning rather than stopping the agent.
    """
    sources: list[tuple[Path, SkillSource]] = [
        (shipped_skills_dir(), "shipped"),
        (punie_home / "skills", "organisation"),
    ]
    if project_root is not None:
        sources.append((project_root / ".punie" / "skills", "project"))
    skills: dict[str, Skill] = {}
    warnings: list[str] = []
    for directory, source in sources:
        if not directory.is_dir():
            continue
        for skill_file in sorted(directory.glob("*/SKILL.md")):
            try:
                skill = parse_skill(skill_file, source=source)
            except UserError as exc:
                warnings.append(str(exc))
                continue
            skills[skill.name] = skill
    return dict(sorted(skills.items())), warnings


def verification_skill(skills: dict[str, Skill]) -> Skill | None:
    """The acceptance/verification skill: a project skill with `role: verification` wins over the rest."""
    candidates = [s for s in skills.values() if s.role == "verification"]
    order = {"project": 0, "organisation": 1, "shipped": 2}
    return min(candidates, key=lambda s: order[s.source]) if candidates else None
