"""The execution-scored evaluation: held-out tasks, judges, and replayed models scored through the agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from punie_lsp.flywheel._seed_recipes import SEED_FIXTURES, seed_recipes
from punie_lsp.flywheel.evaluate import (
    EVAL_FIXTURES,
    check_held_out,
    compute_truths,
    eval_tasks,
    evaluate,
    main,
    write_replay,
)
from punie_lsp.flywheel.recipes import Outcome
from punie_lsp.flywheel.seed import DEFAULT_OUT, prompt_hash


def test_there_are_at_least_30_held_out_tasks() -> None:
    """The tasks use only held-out fixtures, and no prompt is a seed prompt (by normalised hash)."""
    tasks = eval_tasks()
    assert len(tasks) >= 30
    assert len({task.id for task in tasks}) == len(tasks)
    assert {task.fixture for task in tasks} <= set(EVAL_FIXTURES)
    assert not set(EVAL_FIXTURES) & set(SEED_FIXTURES)
    seed_prompts = {prompt_hash(p) for recipe in seed_recipes() for p in recipe.prompts}
    assert not {prompt_hash(task.prompt) for task in tasks} & seed_prompts
    held_out = check_held_out(tasks, DEFAULT_OUT / "manifest.json")
    assert held_out.prompt_overlap == [] and held_out.fixture_overlap == []


def test_judges_check_the_facts_against_the_truth() -> None:
    """A judge accepts an answer that states the truth and names what is wrong otherwise."""
    tasks = {task.id.split("/")[0]: task for task in eval_tasks()}
    lint = tasks["lint-count"]
    two = Outcome(value=2, stdout="", params={})
    assert lint.judge("ruff flags 2 problems.", two) is None
    assert lint.judge("ruff flags 3 problems.", two) == "does not state the violation count (2)"
    assert lint.judge("No problems at all.", Outcome(value=0, stdout="", params={})) is None
    rules = tasks["domain-rules"]
    truth = Outcome(value={"count": 2, "rules": ["MW001", "MW004"]}, stdout="", params={})
    assert rules.judge("2 findings: MW001 and MW004.", truth) is None
    assert rules.judge("2 findings: MW001.", truth) == "does not name MW004"


@pytest.mark.slow
async def test_perfect_replay_scores_100_and_broken_replay_0_side_by_side(tmp_path: Path) -> None:
    """A perfect recording is fully correct on every task, a broken one on none (one retry per tool task)."""
    tasks = eval_tasks()
    truths = await compute_truths(tasks, scratch=tmp_path / "truths")
    perfect = write_replay(tasks, truths, tmp_path / "perfect.jsonl")
    broken = write_replay(tasks, truths, tmp_path / "broken.jsonl", broken=True)
    report = await evaluate([f"replay:{perfect}", f"replay:{broken}"], tasks=tasks)
    good, bad = report.models
    assert report.task_count == len(tasks) >= 30
    assert good.summary["fully_correct"] == 1.0, [s.problem for s in good.tasks if s.problem]
    assert good.summary["retries"] == 0
    assert all(score.read_fields and score.code_ran for score in good.tasks)
    assert bad.summary["fully_correct"] == 0.0
    for task, score in zip(tasks, bad.tasks, strict=True):
        assert not score.answer_true
        assert score.retries == (1 if task.tools else 0), task.id
        assert score.right_tool == (not task.tools), task.id
    assert report.truths == {task_id: truth.value for task_id, truth in truths.items()}


def test_the_cli_writes_a_replay_and_a_json_report(tmp_path: Path) -> None:
    """`--write-replay` then `--model replay:… --out` scores the chosen tasks and writes the JSON report."""
    replay = tmp_path / "perfect.jsonl"
    assert main(["--model", "unused", "--only", "last-commit", "--write-replay", str(replay)]) == 0
    out = tmp_path / "report.json"
    assert main(["--model", f"replay:{replay}", "--only", "last-commit", "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["task_count"] == 3
    (model,) = report["models"]
    assert model["summary"]["fully_correct"] == 1.0
    assert {score["task"].split("/")[0] for score in model["tasks"]} == {"last-commit"}
