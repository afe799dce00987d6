"""The seed dataset: Code Mode examples executed against the fixtures, kept only when they hold up.

`build_seed_set` expands the recipes (`_seed_recipes`) over fixture copies and phrasings, really runs each
block in the Code Mode sandbox, derives the final answer from the block's real value, renders the whole
turn with the runtime's prompt and chat-format functions, and keeps an example only when the checker
passes: the block ran (or, for a correction, the mistaken block failed with the type error that names
the mistake and the corrected one ran), its tools did not fail, it reads result fields, the answer could
be derived, and every number, path, rule code and test id the answer states appears in the tool output.
Every dropped example is recorded with its reason.

`SeedSet.write` writes mlx-lm chat JSONL (`{"messages": [...], "tools": [...]}`; the tools are the
`run_code` definition the runtime passes to the chat template) as `train.jsonl` / `valid.jsonl`, plus a
`manifest.json` with counts per category and split, the drop reasons and a hash of every prompt.

```text
python -m punie_lsp.flywheel.seed --out punie_lsp/data/seed
```
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_monty import AsyncMonty
from rich.console import Console

from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.flywheel._chat import Block, chat_messages, code_mode_history, runtime_tools
from punie_lsp.flywheel._checks import reads_result_fields, ungrounded_claims
from punie_lsp.flywheel._seed_recipes import SEED_FIXTURES, seed_recipes
from punie_lsp.flywheel._workspace import (
    FIXTURES_DIR,
    FixtureCopy,
    copy_fixture,
    display_root,
    fixture_context,
)
from punie_lsp.flywheel.recipes import CATEGORIES, Category, Outcome, Recipe, fill
from punie_lsp.models.chat_format import PROMPT_PROFILES, ChatMessage, ChatTool, PromptProfile
from punie_lsp.sandbox import BlockResult, CodeSandbox, allow_all
from punie_lsp.skills import Skill, discover_skills
from punie_lsp.tools.catalogue import Catalogue, ToolSpec
from punie_lsp.tools.context import ToolContext

__all__ = (
    "DEFAULT_OUT",
    "Dropped",
    "Example",
    "SeedSet",
    "build_seed_set",
    "check_example",
    "main",
    "prompt_hash",
    "seed_recipes",
)

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "seed"
"""Where the committed seed set lives: `punie_lsp/data/seed/`."""

VALID_FRACTION = 0.1
"""Share of each category that goes to `valid.jsonl`."""
SEED_PROFILE: PromptProfile = "compact"
"""The seed set trains punie-tiny, which is served with the compact prompt."""


def prompt_hash(prompt: str) -> str:
    """A short hash of a prompt, normalised (case, spacing, trailing punctuation) to catch near-copies."""
    normalised = re.sub(r"\s+", " ", prompt.strip().lower()).rstrip(".?!")
    return hashlib.sha256(normalised.encode()).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class Example:
    """One kept example."""

    id: str
    """`recipe/fixture/n`, stable across builds with the same seed."""
    recipe: str
    """The recipe it came from."""
    category: Category
    """What it teaches."""
    fixture: str
    """The fixture project it ran on (plain answers name the project shown in the prompt)."""
    prompt: str
    """The user's request."""
    blocks: tuple[Block, ...]
    """The blocks and what they really returned (empty for a plain answer)."""
    answer: str
    """The final answer."""
    root: str
    """The project path shown in the system prompt."""
    messages: tuple[ChatMessage, ...]
    """The chat messages, exactly as the runtime renders the history."""

    def record(self, tools: Sequence[ChatTool]) -> dict[str, Any]:
        """The mlx-lm chat JSONL record: role/content messages and the runtime's tool definitions."""
        return {
            "messages": [{"role": m["role"], "content": m["content"]} for m in self.messages],
            "tools": list(tools),
        }

    def turn_records(self, tools: Sequence[ChatTool]) -> list[dict[str, Any]]:
        """One record per assistant turn, each ending with that turn (the conversation before it as prompt).

        mlx-lm's `--mask-prompt` trains only a record's last message; with these records every assistant
        turn (each tool call, each correction, the final answer) is trained once.
        """
        whole = self.record(tools)
        messages = whole["messages"]
        return [
            {"messages": messages[: index + 1], "tools": whole["tools"]}
            for index, message in enumerate(messages)
            if message["role"] == "assistant"
        ]


@dataclass(frozen=True, kw_only=True)
class Dropped:
    """An example the checker rejected."""

    id: str
    """The id it would have had."""
    recipe: str
    """Its recipe."""
    fixture: str
    """Its fixture."""
    reason: str
    """Why it was dropped."""


@dataclass(kw_only=True)
class SeedSet:
    """The built dataset: kept examples, dropped ones, and the tool definitions of the chat template."""

    seed: int
    """The seed every choice was drawn from."""
    examples: list[Example]
    """Kept examples, in build order."""
    dropped: list[Dropped]
    """Rejected examples with their reasons."""
    tools: list[ChatTool]
    """The runtime's tool definitions (`run_code`), as the chat template receives them."""
    valid_fraction: float = VALID_FRACTION
    """Share of each category written to `valid.jsonl`."""
    profile: PromptProfile = SEED_PROFILE
    """The system prompt's profile (the one the model trained on it is served with)."""

    def split(self) -> dict[str, list[Example]]:
        """`train` and `valid`, stratified by category and shuffled with the seed."""
        rng = random.Random(f"{self.seed}/split")
        train: list[Example] = []
        valid: list[Example] = []
        for category in CATEGORIES:
            members = [e for e in self.examples if e.category == category]
            rng.shuffle(members)
            cut = round(len(members) * self.valid_fraction) if len(members) >= 5 else 0
            valid.extend(members[:cut])
            train.extend(members[cut:])
        rng.shuffle(train)
        rng.shuffle(valid)
        return {"train": train, "valid": valid}

    def manifest(self) -> dict[str, Any]:
        """Counts per category and split, drop reasons and prompt hashes (deterministic: no timings)."""
        splits = self.split()
        categories: dict[str, dict[str, int]] = {}
        for category in CATEGORIES:
            counts = {name: sum(e.category == category for e in members) for name, members in splits.items()}
            categories[category] = {**counts, "total": sum(counts.values())}
        reasons = Counter(_reason_kind(d.reason) for d in self.dropped)
        return {
            "format": "mlx-lm chat JSONL: {messages: [{role, content}], tools: [run_code]}",
            "prompt_profile": self.profile,
            "seed": self.seed,
            "total": len(self.examples),
            "splits": {name: len(members) for name, members in splits.items()},
            "categories": categories,
            "recipes": dict(sorted(Counter(e.recipe for e in self.examples).items())),
            "fixtures": dict(sorted(Counter(e.fixture for e in self.examples).items())),
            "dropped_total": len(self.dropped),
            "dropped_by_reason": dict(sorted(reasons.items())),
            "dropped": [
                {"id": d.id, "recipe": d.recipe, "fixture": d.fixture, "reason": d.reason}
                for d in self.dropped
            ],
            "examples": [
                {
                    "id": e.id,
                    "split": name,
                    "category": e.category,
                    "recipe": e.recipe,
                    "fixture": e.fixture,
                    "prompt_hash": prompt_hash(e.prompt),
                }
                for name, members in splits.items()
                for e in members
            ],
        }

    def write(self, out: Path, *, per_turn: bool = False) -> dict[str, Any]:
        """Write `train.jsonl`, `valid.jsonl` and `manifest.json` to `out`; return the manifest.

        Args:
            out: the directory (created).
            per_turn: write one record per assistant turn (`Example.turn_records`), for `--mask-prompt`
                training; by default one record per conversation.
        """
        out.mkdir(parents=True, exist_ok=True)
        records: dict[str, int] = {}
        for name, members in self.split().items():
            rows = [
                row
                for e in members
                for row in (e.turn_records(self.tools) if per_turn else [e.record(self.tools)])
            ]
            records[name] = len(rows)
            lines = [json.dumps(row, ensure_ascii=False) for row in rows]
            (out / f"{name}.jsonl").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        manifest = {**self.manifest(), "per_turn": per_turn, "records": records}
        (out / "manifest.json").write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return manifest


def _reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def _attributes(code: str) -> set[str]:
    return set(re.findall(r"\.([A-Za-z_]\w*)", code))


def check_example(
    recipe: Recipe,
    blocks: Sequence[Block],
    *,
    params: Mapping[str, str],
    prompt: str = "",
    mistake: tuple[str, str] | None = None,
    build_root: Path | None = None,
) -> tuple[str | None, str | None]:
    """Derive the answer of one example and check it against the real outcome.

    Args:
        recipe: the recipe the example comes from.
        blocks: the blocks as they ran (two for a correction: the mistaken one, then the right one).
        params: the placeholder values of the example.
        prompt: the user's request (the answer may repeat what it names, such as a file).
        mistake: the `(right, wrong)` edit that made the first block, for a correction.
        build_root: the real directory the fixture copy lives in, which must not leak into the example.

    Returns:
        `(answer, None)` when the example is kept, `(None, reason)` when it is dropped.
    """
    if not blocks:
        return recipe.answer(Outcome(value=None, stdout="", params=params)), None
    last = blocks[-1]
    if mistake is not None:
        first = blocks[0].result
        wrong = sorted(_attributes(mistake[1]) - _attributes(mistake[0]))
        if first.ok or first.error is None or first.error.kind != "type":
            return None, "mistake not caught: the mistaken block did not fail with a type error"
        if not all(name in first.error.message for name in wrong):
            return None, f"mistake not caught: the type error does not name {', '.join(wrong)}"
    if not last.result.ok:
        assert last.result.error is not None
        message = last.result.error.message.strip().splitlines()[0]
        return None, f"block failed: {last.result.error.kind} error: {message}"
    if last.result.value_truncated or last.result.stdout_truncated:
        return None, "output truncated: the block's output was cut by the sandbox limits"
    if not recipe.tool_error_expected:
        for call in last.result.tool_calls:
            if not call.ok:
                return None, f"tool failed: `{call.name}`: {call.error}"
    if not reads_result_fields(last.code):
        return None, "no field read: the block reads no result field"
    try:
        answer = recipe.answer(Outcome(value=last.result.value, stdout=last.result.stdout, params=params))
    except Exception as error:  # an answer function that cannot read the outcome rejects the example
        return None, f"no answer: {type(error).__name__}: {error}"
    outputs = [prompt, *(block.tool_return for block in blocks if block.result.ok)]
    missing = ungrounded_claims(answer, outputs)
    if missing:
        return (
            None,
            f"ungrounded answer: it states {', '.join(missing)}, which the tool output does not contain",
        )
    if build_root is not None:
        texts = [answer, *(block.tool_return for block in blocks)]
        if any(str(build_root) in text for text in texts):
            return None, "build directory leaked: the output names the temporary copy"
    return answer, None


@dataclass(kw_only=True)
class _Job:
    """Blocks to run on one fixture, and the examples they make."""

    recipe: Recipe
    fixture: str
    params: Mapping[str, str]
    prompts: list[str]
    mistake: tuple[str, str] | None = None
    results: list[Block] = field(default_factory=list)

    @property
    def code(self) -> str:
        assert self.recipe.code is not None
        return fill(self.recipe.code, self.params)

    def blocks_to_run(self) -> list[str]:
        if self.mistake is None:
            return [self.code]
        right, wrong = self.mistake
        return [self.code.replace(right, wrong, 1), self.code]


class _Builder:
    def __init__(
        self,
        recipes: Sequence[Recipe],
        *,
        seed: int,
        scratch: Path,
        fixtures_dir: Path,
        progress: Callable[[str], None] | None,
        profile: PromptProfile,
    ) -> None:
        self.recipes = recipes
        self.seed = seed
        self.profile: PromptProfile = profile
        self.scratch = scratch
        self.fixtures_dir = fixtures_dir
        self.progress = progress or (lambda message: None)
        self.home = scratch / "punie-home"
        self.home.mkdir()
        self.catalogue: Catalogue = agent_catalogue()
        self.running: Catalogue = _memoized(self.catalogue, MEMOIZED_TOOLS)
        self.copies: dict[str, FixtureCopy] = {}
        self.skills: dict[str, list[Skill]] = {}
        self.fresh = 0

    def copy(self, name: str) -> FixtureCopy:
        if name not in self.copies:
            copy = copy_fixture(
                name, self.scratch / "shared", fixtures_dir=self.fixtures_dir, label=_label(name)
            )
            self.copies[name] = copy
            skills, _ = discover_skills(copy.root, self.home)
            self.skills[name] = list(skills.values())
        return self.copies[name]

    def fresh_copy(self, name: str) -> FixtureCopy:
        self.fresh += 1
        return copy_fixture(
            name, self.scratch / f"fresh-{self.fresh}", fixtures_dir=self.fixtures_dir, label=_label(name)
        )

    # -- planning -------------------------------------------------------------------------------------

    def plan(self) -> list[_Job]:
        jobs: list[_Job] = []
        for recipe in self.recipes:
            rng = random.Random(f"{self.seed}/{recipe.name}")
            if recipe.code is None:
                for prompt in rng.sample(recipe.prompts, min(recipe.samples, len(recipe.prompts))):
                    jobs.append(
                        _Job(recipe=recipe, fixture=rng.choice(SEED_FIXTURES), params={}, prompts=[prompt])
                    )
                continue
            fixtures = list(recipe.fixtures)
            if recipe.max_fixtures is not None and recipe.max_fixtures < len(fixtures):
                chosen = set(rng.sample(fixtures, recipe.max_fixtures))
                fixtures = [f for f in fixtures if f in chosen]
            recipe_jobs: list[_Job] = []
            for fixture in fixtures:
                options = list(recipe.params(self.copy(fixture)))
                if len(options) > recipe.max_params:
                    options = rng.sample(options, recipe.max_params)
                for params in options:
                    prompts = rng.sample(recipe.prompts, min(recipe.samples, len(recipe.prompts)))
                    recipe_jobs.append(
                        _Job(
                            recipe=recipe,
                            fixture=fixture,
                            params=params,
                            prompts=[fill(p, params) for p in prompts],
                        )
                    )
            jobs.extend(recipe_jobs)
            if recipe.mistakes and recipe.max_corrections and recipe_jobs:
                picks = rng.sample(recipe_jobs, min(recipe.max_corrections, len(recipe_jobs)))
                offset = rng.randrange(len(recipe.mistakes))
                for index, job in enumerate(picks):
                    mistake = recipe.mistakes[(offset + index) % len(recipe.mistakes)]
                    prompt = fill(rng.choice(recipe.prompts), job.params)
                    jobs.append(
                        _Job(
                            recipe=recipe,
                            fixture=job.fixture,
                            params=job.params,
                            prompts=[prompt],
                            mistake=mistake,
                        )
                    )
        return jobs

    # -- running ----------------------------------------------------------------------------------------

    async def run(self, jobs: Sequence[_Job], pool: AsyncMonty) -> None:
        by_fixture: dict[str, list[_Job]] = {}
        for job in jobs:
            if job.recipe.code is not None:
                by_fixture.setdefault(job.fixture, []).append(job)
        for fixture, fixture_jobs in by_fixture.items():
            self.progress(f"running {len(fixture_jobs)} tasks on {fixture}")
            shared = [job for job in fixture_jobs if not job.recipe.mutates]
            if shared:
                await self._run_jobs(self.copy(fixture), shared, pool)
            for job in fixture_jobs:
                if job.recipe.mutates:
                    await self._run_jobs(self.fresh_copy(fixture), [job], pool)

    async def _run_jobs(self, copy: FixtureCopy, jobs: Sequence[_Job], pool: AsyncMonty) -> None:
        ctx = fixture_context(copy.root, punie_home=self.home)
        cache: dict[tuple[str, ...], list[BlockResult]] = {}
        async with CodeSandbox(ctx, catalogue=self.running, policy=allow_all, pool=pool) as sandbox:
            for job in jobs:
                codes = tuple(job.blocks_to_run())
                if codes not in cache:
                    await sandbox.reset()
                    cache[codes] = [await sandbox.run(code) for code in codes]
                job.results = [
                    Block(code=code, result=result) for code, result in zip(codes, cache[codes], strict=True)
                ]

    # -- examples -----------------------------------------------------------------------------------------

    def examples(self, jobs: Sequence[_Job]) -> tuple[list[Example], list[Dropped]]:
        kept: list[Example] = []
        dropped: list[Dropped] = []
        numbers: Counter[str] = Counter()
        for job in jobs:
            rng = random.Random(
                f"{self.seed}/{job.recipe.name}/{job.fixture}/{sorted(job.params.items())}/{job.mistake}"
            )
            category: Category = "correction" if job.mistake is not None else job.recipe.category
            for prompt in job.prompts:
                key = f"{job.recipe.name}{'-correction' if job.mistake else ''}/{job.fixture}"
                numbers[key] += 1
                example_id = f"{key}/{numbers[key]}"
                answer, reason = check_example(
                    job.recipe,
                    job.results,
                    params=job.params,
                    prompt=prompt,
                    mistake=job.mistake,
                    build_root=self.scratch,
                )
                if answer is None:
                    assert reason is not None
                    dropped.append(
                        Dropped(id=example_id, recipe=job.recipe.name, fixture=job.fixture, reason=reason)
                    )
                    continue
                root = display_root(job.fixture, rng.randrange(1000))
                self.copy(job.fixture)
                history = code_mode_history(prompt, job.results, answer)
                messages = chat_messages(
                    history,
                    root=root,
                    catalogue=self.catalogue,
                    skills=self.skills[job.fixture],
                    profile=self.profile,
                )
                kept.append(
                    Example(
                        id=example_id,
                        recipe=job.recipe.name,
                        category=category,
                        fixture=job.fixture,
                        prompt=prompt,
                        blocks=tuple(job.results),
                        answer=answer,
                        root=root,
                        messages=tuple(messages),
                    )
                )
        return kept, dropped


MEMOIZED_TOOLS = frozenset({"pytest_run"})
"""Slow tools whose results the builder reuses for identical calls on the same unchanged (shared) copy."""


def _memoized(catalogue: Catalogue, names: frozenset[str]) -> Catalogue:
    """The catalogue with `names` answering repeated identical calls in one workspace from the first result.

    Only the builder's shared fixture copies are ever read twice, and they are never written, so a
    repeated `pytest_run` would return the same result; running pytest once per copy keeps the build fast.
    """
    memo: dict[tuple[str, str, str], BaseModel] = {}

    def cached(spec: ToolSpec) -> ToolSpec:
        function = spec.function

        @functools.wraps(function)
        async def run(ctx: ToolContext, /, **arguments: Any) -> BaseModel:
            key = (str(ctx.workspace.root), spec.name, json.dumps(arguments, sort_keys=True, default=str))
            if key not in memo:
                memo[key] = await function(ctx, **arguments)
            return memo[key]

        return dataclasses.replace(spec, function=run)

    result = Catalogue()
    for spec in catalogue:
        result.add(cached(spec) if spec.name in names else spec)
    return result


def _label(name: str) -> str:
    return Path(name).name.replace("_", "-")


async def build_seed_set(
    recipes: Iterable[Recipe] | None = None,
    *,
    seed: int = 0,
    fixtures_dir: Path = FIXTURES_DIR,
    valid_fraction: float = VALID_FRACTION,
    progress: Callable[[str], None] | None = None,
    profile: PromptProfile = SEED_PROFILE,
) -> SeedSet:
    """Build the seed set: plan, run every block against fixture copies, check, render.

    Args:
        recipes: the recipes to expand (default: `seed_recipes()`).
        seed: seeds every choice (fixtures, phrasings, mistakes, project paths, the split).
        fixtures_dir: where the fixture projects live.
        valid_fraction: share of each category for `valid.jsonl`.
        progress: receives one line per step.
        profile: the system prompt's profile (default `compact`, punie-tiny's).

    Returns:
        The kept and dropped examples with the runtime's tool definitions.
    """
    chosen = list(recipes) if recipes is not None else seed_recipes()
    with tempfile.TemporaryDirectory(prefix="punie-seed-") as scratch:
        builder = _Builder(
            chosen,
            seed=seed,
            scratch=Path(scratch),
            fixtures_dir=fixtures_dir,
            progress=progress,
            profile=profile,
        )
        jobs = builder.plan()
        first = builder.copy(jobs[0].fixture if jobs else SEED_FIXTURES[0])
        tools = await runtime_tools(fixture_context(first.root, punie_home=builder.home))
        async with AsyncMonty(min_processes=1, max_processes=max(2, os.cpu_count() or 1)) as pool:
            await builder.run(jobs, pool)
        kept, dropped = builder.examples(jobs)
    return SeedSet(
        seed=seed, examples=kept, dropped=dropped, tools=tools, valid_fraction=valid_fraction, profile=profile
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m punie_lsp.flywheel.seed --out DIR`: build the seed set and write it."""
    parser = argparse.ArgumentParser(
        prog="python -m punie_lsp.flywheel.seed", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every choice (default: 0)")
    parser.add_argument("--valid-fraction", type=float, default=VALID_FRACTION, help="share for valid.jsonl")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES_DIR, help="the fixture projects")
    parser.add_argument(
        "--profile",
        choices=PROMPT_PROFILES,
        default=SEED_PROFILE,
        help="system prompt profile (default: %(default)s, the one punie-tiny is served with)",
    )
    parser.add_argument(
        "--per-turn",
        action="store_true",
        help="one record per assistant turn (for mlx-lm --mask-prompt, which trains only the last message)",
    )
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    started = time.perf_counter()
    seed_set = asyncio.run(
        build_seed_set(
            seed=args.seed,
            fixtures_dir=args.fixtures,
            valid_fraction=args.valid_fraction,
            progress=lambda line: console.print(f"[dim]{line}[/dim]"),
            profile=args.profile,
        )
    )
    manifest = seed_set.write(args.out, per_turn=args.per_turn)
    console.print(
        f"{manifest['total']} examples ({manifest['splits']['train']} train, "
        f"{manifest['splits']['valid']} valid), "
        f"{manifest['dropped_total']} dropped, in {time.perf_counter() - started:.1f}s → {args.out}"
    )
    for category, counts in manifest["categories"].items():
        console.print(f"  {category:<11} {counts['total']:>4}")
    for reason, number in manifest["dropped_by_reason"].items():
        console.print(f"  dropped ({reason}): {number}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
