"""`punie ask` with punie-tiny (base model + the shipped adapter) answering fixture questions end to end.

The README's main job is such a command. These run the real `punie` script in a subprocess, with no
terminal and no model flag (punie-tiny is the default), against fresh copies of the fixtures; the answer
must be true to what the tools really report.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from punie_lsp.models.spec import PUNIE_TINY_ADAPTER
from punie_lsp.tools.results import TypeCheckResult
from tests.tiny.conftest import run_punie

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent.parent


def _readme_main_job() -> list[str]:
    """The arguments after `punie` in the README's main-job command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    main_job = re.findall(r"```console\n(.+?)\n```", readme, flags=re.S)[0]
    words = shlex.split(main_job)
    return words[words.index("punie") + 1 :]


def test_the_shipped_adapter_is_there() -> None:
    """The adapter `punie-tiny` loads is in the package, in mlx-lm's layout, and small."""
    config = json.loads((PUNIE_TINY_ADAPTER / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["fine_tune_type"] == "lora" and config["num_layers"] >= 1
    weights = PUNIE_TINY_ADAPTER / "adapters.safetensors"
    assert 100_000 < weights.stat().st_size < 20_000_000


def test_the_readme_main_job_answers_from_the_tools(tiny_home: Path) -> None:
    """The README's `punie ask`, run from the repository root as written: ty called, its true count stated."""
    args = _readme_main_job()
    assert args[0] == "ask" and "--cwd" in args
    fixture = ROOT / args[args.index("--cwd") + 1]
    truth = TypeCheckResult.model_validate(
        json.loads(run_punie("tool", "typecheck", "--cwd", str(fixture), home=tiny_home).stdout)
    )
    assert truth.tool_error is None and truth.error_count > 0
    proc = run_punie(*args, "--format", "json", home=tiny_home, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["ok"] and result["stop_reason"] == "end_turn"
    assert any(call["name"] == "typecheck" and call["ok"] for call in result["tool_calls"]), result
    numbers = [int(n) for n in re.findall(r"\b\d+\b", result["output"])]
    assert truth.error_count in numbers, result["output"]
