"""The seed dataset builder: execution filter, determinism, coverage, runtime format and mlx-lm loading."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo
from pydantic_ai.tools import ToolDefinition

from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.agent.permissions import ModePolicy
from punie_lsp.agent.session import AgentConfig, PunieSession
from punie_lsp.flywheel._chat import Block, chat_messages, code_mode_history
from punie_lsp.flywheel._workspace import copy_fixture, fixture_context
from punie_lsp.flywheel.recipes import CATEGORIES, Outcome, Recipe, as_int
from punie_lsp.flywheel.seed import (
    DEFAULT_OUT,
    Example,
    SeedSet,
    build_seed_set,
    check_example,
    main,
    seed_recipes,
)
from punie_lsp.models.chat_format import ChatMessage, chat_tools, render_chat, to_chat_messages
from punie_lsp.models.parser import parse_response
from punie_lsp.models.scripted import scripted_model
from punie_lsp.sandbox import BlockResult, CodeSandbox, SandboxErrorInfo
from punie_lsp.skills import discover_skills


def _read(directory: Path) -> tuple[list[dict], dict]:
    records = [
        json.loads(line)
        for name in ("train", "valid")
        for line in (directory / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return records, manifest


@pytest.fixture(scope="module")
def seed_set() -> SeedSet:
    """The full seed set, built once for the module."""
    return asyncio.run(build_seed_set())


@pytest.fixture(scope="module")
def seed_dir(seed_set: SeedSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full seed set written as JSONL plus manifest."""
    out = tmp_path_factory.mktemp("seed")
    seed_set.write(out)
    return out


def _count(outcome: Outcome) -> str:
    return f"There are {as_int(outcome.value)} violations."


def _one_too_many(outcome: Outcome) -> str:
    return f"There are {as_int(outcome.value) + 1} violations."


def _recipe(name: str, code: str, **extra: object) -> Recipe:
    fields: dict = {"answer": _count, **extra}
    return Recipe(
        name=name,
        category="quality",
        prompts=("How many lint violations?",),
        code=code,
        fixtures=("webapp_planted",),
        **fields,
    )


async def test_execution_filter_keeps_only_examples_that_hold_up() -> None:
    """Wrong answers, failing code, unread fields, failed tools and uncaught mistakes are dropped (why)."""
    count_code = 'r = ruff_check(".")\nr.violation_count'
    recipes = [
        _recipe("good", count_code),
        _recipe("wrong-count", count_code, answer=_one_too_many),
        _recipe("crashes", 'r = ruff_check(".")\n[v.code for v in r.violations][7]'),
        _recipe("no-field", 'r = ruff_check(".")\n2'),
        _recipe("tool-fails", 'r = file_read("webapp/missing.py")\nlen(r.content)'),
        _recipe(
            "mistake",
            count_code,
            mistakes=(("r.violation_count", "r.fixable_count"),),
            max_corrections=1,
        ),
    ]
    built = await build_seed_set(recipes)
    assert [e.id for e in built.examples] == ["good/webapp_planted/1", "mistake/webapp_planted/1"]
    assert built.examples[0].answer == "There are 2 violations."
    reasons = {d.recipe: d.reason for d in built.dropped}
    assert reasons["wrong-count"].startswith("ungrounded answer: it states 3")
    assert reasons["crashes"].startswith("block failed: runtime error")
    assert reasons["no-field"].startswith("no field read")
    assert reasons["tool-fails"].startswith("tool failed: `file_read`")
    assert reasons["mistake"].startswith("mistake not caught")
    assert built.manifest()["dropped_by_reason"] == {
        "block failed": 1,
        "mistake not caught": 1,
        "no field read": 1,
        "tool failed": 1,
        "ungrounded answer": 1,
    }


def test_a_correction_must_fail_on_the_mistaken_field() -> None:
    """A correction is kept only when the first block failed with a type error naming the wrong field."""
    recipe = _recipe("check", 'r = ruff_check(".")\nr.violation_count')
    right = Block(code="r.violation_count", result=BlockResult(ok=True, value=2, tool_calls=()))
    named = SandboxErrorInfo(
        kind="type", message="Object of type `RuffResult` has no attribute `violation_cnt`"
    )
    other = SandboxErrorInfo(kind="type", message="Name `x` used when not defined")
    mistake = ("r.violation_count", "r.violation_cnt")

    def first(error: SandboxErrorInfo) -> Block:
        return Block(code="r.violation_cnt", result=BlockResult(ok=False, error=error))

    kept = check_example(recipe, [first(named), right], params={}, mistake=mistake)
    assert kept == ("There are 2 violations.", None)
    answer, reason = check_example(recipe, [first(other), right], params={}, mistake=mistake)
    assert answer is None and reason == "mistake not caught: the type error does not name violation_cnt"


@pytest.mark.slow
def test_the_build_is_deterministic(seed_set: SeedSet, tmp_path: Path) -> None:
    """Two builds of the same recipes give identical files, and the same examples as the full build."""
    chosen = [r for r in seed_recipes() if r.name in {"ruff-list", "git-log", "plain-svcs", "edit"}]
    first = asyncio.run(build_seed_set(chosen))
    second = asyncio.run(build_seed_set(chosen))
    first.write(tmp_path / "a")
    second.write(tmp_path / "b")
    for name in ("train.jsonl", "valid.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    full = {e.id: e.record(seed_set.tools) for e in seed_set.examples}
    assert first.examples
    for example in first.examples:
        assert example.record(first.tools) == full[example.id]


def test_the_cli_writes_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m punie_lsp.flywheel.seed --out DIR` writes train, valid and the manifest."""
    recipes = [r for r in seed_recipes() if r.name in {"git-log", "plain-hello"}]
    monkeypatch.setattr("punie_lsp.flywheel.seed.seed_recipes", lambda: recipes)
    assert main(["--out", str(tmp_path / "whole")]) == 0
    records, manifest = _read(tmp_path / "whole")
    assert len(records) == manifest["total"] > 0
    assert main(["--out", str(tmp_path / "turns"), "--per-turn"]) == 0
    turns, per_turn = _read(tmp_path / "turns")
    assert (
        len(turns)
        == sum(per_turn["records"].values())
        == sum(sum(m["role"] == "assistant" for m in record["messages"]) for record in records)
    )
    assert all(record["messages"][-1]["role"] == "assistant" for record in turns)


@pytest.mark.slow
def test_at_least_200_examples_in_every_category(seed_dir: Path) -> None:
    """The set has at least 200 examples, every category is covered and the splits add up."""
    records, manifest = _read(seed_dir)
    assert manifest["total"] == len(records) >= 200
    assert manifest["splits"]["valid"] > 0
    for category in CATEGORIES:
        counts = manifest["categories"][category]
        assert counts["total"] >= 8, category
        assert counts["train"] + counts["valid"] == counts["total"]
    assert sum(c["total"] for c in manifest["categories"].values()) == manifest["total"]
    assert manifest["dropped_total"] == len(manifest["dropped"])
    assert all(record["tools"][0]["function"]["name"] == "run_code" for record in records)


def _calls(record: dict) -> list[str]:
    tools = [
        ToolDefinition(
            name=t["function"]["name"],
            description=t["function"]["description"],
            parameters_json_schema=t["function"]["parameters"],
        )
        for t in record["tools"]
    ]
    codes = []
    for message in record["messages"]:
        if message["role"] != "assistant" or "<tool_call>" not in message["content"]:
            continue
        parsed = parse_response(message["content"], tools=tools)
        assert parsed.malformed is None
        assert len(parsed.tool_calls) == 1
        call = parsed.tool_calls[0]
        assert call.tool_name == "run_code"
        code = call.args_as_dict()["code"]
        assert isinstance(code, str)
        codes.append(code)
    return codes


@pytest.mark.slow
async def test_every_example_parses_back_into_code_that_type_checks_and_runs(
    seed_dir: Path, tmp_path: Path
) -> None:
    """Each JSONL tool call parses to a `run_code` block that runs again (a mistaken one: a type error)."""
    records, manifest = _read(seed_dir)
    blocks: dict[str, dict[str, bool]] = {}
    for record, meta in zip(records, manifest["examples"], strict=True):
        assert record["messages"][0]["role"] == "system"
        assert record["messages"][-1]["role"] == "assistant"
        assert "<tool_call>" not in record["messages"][-1]["content"]
        codes = _calls(record)
        if meta["category"] == "plain":
            assert codes == []
            continue
        assert len(codes) == (2 if meta["category"] == "correction" else 1)
        if meta["category"] == "fix" or "pytest_run" in codes[-1]:
            continue  # writes files, or slow: covered by the build itself
        wanted = blocks.setdefault(meta["fixture"], {})
        wanted[codes[-1]] = True
        if len(codes) == 2:
            wanted[codes[0]] = False
    home = tmp_path / "home"
    home.mkdir()
    for fixture, codes in blocks.items():
        copy = copy_fixture(fixture, tmp_path / fixture.replace("/", "-"))
        async with CodeSandbox(
            fixture_context(copy.root, punie_home=home), catalogue=agent_catalogue()
        ) as box:
            for code, should_run in codes.items():
                await box.reset()
                result = await box.run(code)
                if should_run:
                    assert result.ok, (fixture, code, result.error)
                else:
                    assert result.error is not None and result.error.kind == "type", (fixture, code)


def _replay(example: Example):
    """A scripted model that writes the example's blocks and then its answer."""
    captured: list[list[ToolDefinition]] = []

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        captured.append(info.function_tools)
        index = sum(isinstance(m, ModelResponse) for m in messages)
        if index < len(example.blocks):
            return ModelResponse(parts=[ToolCallPart("run_code", {"code": example.blocks[index].code})])
        return ModelResponse(parts=[TextPart(example.answer)])

    return scripted_model(script), captured


@pytest.mark.slow
async def test_chat_text_is_what_the_runtime_renders(seed_set: SeedSet, tmp_path: Path) -> None:
    """An example replayed through a real `PunieSession` gives the JSONL's chat messages and tools."""
    chosen: dict[str, Example] = {}
    for example in seed_set.examples:
        if example.category not in chosen and "pytest_run" not in "".join(b.code for b in example.blocks):
            chosen[example.category] = example
    assert set(chosen) == set(CATEGORIES)
    catalogue = agent_catalogue()
    for category, example in chosen.items():
        scratch = tmp_path / category
        copy = copy_fixture(example.fixture, scratch)
        home = scratch / "home"
        home.mkdir()
        ctx = fixture_context(copy.root, punie_home=home)
        model, captured = _replay(example)
        # The session is served the profile the seed set is written in (punie-tiny's).
        config = AgentConfig(prompt_profile=seed_set.profile)
        policy = ModePolicy(mode="accept-edits")
        async with PunieSession(model=model, ctx=ctx, policy=policy, config=config) as session:
            result = await session.prompt(example.prompt)
        assert result.stop_reason == "end_turn", (category, result.error)
        runtime = to_chat_messages(session.history, instructions=session.instructions)
        skills = discover_skills(ctx.workspace.root, home)[0].values()
        history = code_mode_history(example.prompt, example.blocks, example.answer)
        root = str(ctx.workspace.root)
        ours = chat_messages(history, root=root, catalogue=catalogue, skills=skills, profile=seed_set.profile)
        pairs = [(m["role"], m["content"]) for m in runtime]
        assert pairs == [(m["role"], m["content"]) for m in ours], category
        # The JSONL record is the same text with the display path in place of the copy's path.
        record = example.record(seed_set.tools)
        shown = [(r, c.replace(str(ctx.workspace.root), example.root)) for r, c in pairs]
        assert shown == [(m["role"], m["content"]) for m in record["messages"]], category
        assert chat_tools(captured[-1]) == record["tools"]
        runtime_text = render_chat(runtime, tools=chat_tools(captured[-1]), add_generation_prompt=False)
        record_messages = [
            ChatMessage(role=m["role"], content=m["content"].replace(example.root, str(ctx.workspace.root)))
            for m in record["messages"]
        ]
        assert (
            render_chat(record_messages, tools=record["tools"], add_generation_prompt=False) == runtime_text
        )


@pytest.mark.slow
def test_the_jsonl_loads_with_mlx_lm_and_renders_punies_format(seed_dir: Path, tmp_path: Path) -> None:
    """mlx-lm's own loader reads the files as chat data; its template text is Punie's rendering."""
    from mlx_lm.tuner.datasets import ChatDataset, load_local_dataset
    from mlx_lm.utils import load_tokenizer

    from tests.models.tiny_model import TEXT_SCRIPT, build_tiny_model

    model_dir = build_tiny_model(tmp_path / "tiny", script=TEXT_SCRIPT)
    tokenizer = load_tokenizer(model_dir)
    train, valid, test = load_local_dataset(seed_dir, tokenizer, SimpleNamespace(mask_prompt=True))
    _, manifest = _read(seed_dir)
    assert isinstance(train, ChatDataset) and isinstance(valid, ChatDataset)
    assert (len(train), len(valid), len(test)) == (
        manifest["splits"]["train"],
        manifest["splits"]["valid"],
        0,
    )
    for index in range(0, len(train), max(1, len(train) // 25)):
        tokens, offset = train.process(train[index])
        assert 0 < offset < len(tokens)
        record = train[index]
        text = tokenizer.apply_chat_template(record["messages"], tools=record["tools"], tokenize=False)
        assert text == render_chat(record["messages"], tools=record["tools"], add_generation_prompt=False)


def test_the_committed_seed_set_matches_its_manifest() -> None:
    """`punie_lsp/data/seed` holds the JSONL files the manifest counts."""
    if not (DEFAULT_OUT / "manifest.json").is_file():
        pytest.skip("the seed set has not been written yet")
    records, manifest = _read(DEFAULT_OUT)
    assert sum(manifest["records"].values()) == len(records) >= manifest["total"] >= 200
