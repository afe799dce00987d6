"""Build tiny MLX models offline: a 2-layer Qwen3 with a locally trained tokenizer and Punie's chat template.

Shared by the models tests and `benchmarks/prompt_cache.py`. Nothing is downloaded.

The weights are random except for one deliberate wiring that makes the model *scripted*: with the
attention and MLP outputs set to zero, the residual stream is the current token's embedding, so the
untied LM head is a bigram table; the builder writes the chain "end of the generation prompt → script
token 1 → … → `<|im_end|>`" into it. Greedy decoding then answers every turn with exactly the script (a
Qwen3-Coder tool call by default), which lets the tests check the whole path — template, generation,
parser, `mlx_lm.server`'s own tool parser, the agent — on a model that is still built in under a second.
Script pieces are added to the tokenizer as single tokens so that each one has one successor.
"""

from __future__ import annotations

import itertools
import sysconfig
from collections.abc import Sequence
from pathlib import Path

import mlx.core as mx
from mlx_lm.models import qwen3
from mlx_lm.utils import save_config, save_model
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from punie_lsp.models.chat_format import PUNIE_CHAT_TEMPLATE

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
)
TOOL_CODE = "print(6 * 7)"
TOOL_SCRIPT = (
    "<tool_call>",
    "\n<function=run_code>\n<parameter=code>\n",
    TOOL_CODE,
    "\n</parameter>\n</function>\n",
    "</tool_call>",
)
"""Answers every turn with `run_code(code="print(6 * 7)")` in Qwen3-Coder XML."""
TEXT_SCRIPT = ("Hello", " from", " the", " tiny", " model.")
"""Answers every turn with the text `Hello from the tiny model.`."""
CONTEXT_WINDOW = 4096


def _corpus(limit: int = 24) -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted((stdlib / "json").glob("*.py")) + sorted((stdlib / "asyncio").glob("*.py"))
    return [path.read_text(encoding="utf-8") for path in files[:limit]]


def build_tiny_model(
    target: Path,
    *,
    script: Sequence[str] | None = TOOL_SCRIPT,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 512,
    seed: int = 0,
) -> Path:
    """Write a tiny scripted (or, with `script=None`, purely random) Qwen3 model to `target`.

    Args:
        target: the model directory (created).
        script: the answer the model gives greedily to every turn, as token-sized pieces; `None` for random
            weights that never end a turn under greedy decoding.
        hidden_size: model width (heads of 16 dimensions; KV heads are half the heads).
        num_layers: transformer layers.
        vocab_size: size of the trained BPE vocabulary (before special and script tokens).
        seed: seed for the random weights.

    Returns:
        `target`.
    """
    target.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer)
    pieces = [piece for piece in (script or ()) if piece not in SPECIAL_TOKENS]
    tokenizer.add_tokens([AddedToken(piece, normalized=False, special=False) for piece in pieces])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = PUNIE_CHAT_TEMPLATE
    fast.save_pretrained(str(target))

    heads = hidden_size // 16
    config = {
        "model_type": "qwen3",
        "hidden_size": hidden_size,
        "num_hidden_layers": num_layers,
        "intermediate_size": hidden_size * 2,
        "num_attention_heads": heads,
        "num_key_value_heads": max(1, heads // 2),
        "head_dim": 16,
        "rms_norm_eps": 1e-6,
        "vocab_size": len(fast),
        "max_position_embeddings": CONTEXT_WINDOW,
        "rope_theta": 1_000_000.0,
        "tie_word_embeddings": False,
        "eos_token_id": fast.convert_tokens_to_ids("<|im_end|>"),
        "torch_dtype": "float32",
    }
    mx.random.seed(seed)
    model = qwen3.Model(qwen3.ModelArgs.from_dict(config))
    if script:
        _wire_script(model, fast, script)
    else:
        # A zero row gives the end token logit 0, below the largest of the other random logits: greedy
        # decoding never ends the turn, so the model rambles until the token limit.
        eos = fast.convert_tokens_to_ids("<|im_end|>")
        head = model.lm_head.weight
        head[eos] = mx.zeros_like(head[eos])
        model.lm_head.weight = head
    mx.eval(model.parameters())
    save_model(target, model)
    save_config(dict(config), target / "config.json")
    return target


def _wire_script(model: qwen3.Model, tokenizer: PreTrainedTokenizerFast, script: Sequence[str]) -> None:
    """Zero the attention and MLP outputs and write the script's bigram chain into the LM head."""
    for layer in model.model.layers:
        layer.self_attn.o_proj.weight = mx.zeros_like(layer.self_attn.o_proj.weight)
        layer.mlp.down_proj.weight = mx.zeros_like(layer.mlp.down_proj.weight)
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False
    )
    assert isinstance(text, str), type(text)
    prompt = tokenizer.encode(text, add_special_tokens=False)
    ids = [tokenizer.convert_tokens_to_ids(piece) for piece in script]
    chain = [int(prompt[-1]), *ids, tokenizer.convert_tokens_to_ids("<|im_end|>")]
    assert len(set(chain)) == len(chain), "every script token needs exactly one successor"
    embeddings = model.model.embed_tokens.weight
    head = model.lm_head.weight * 0.02
    for current, following in itertools.pairwise(chain):
        direction = embeddings[current] / mx.linalg.norm(embeddings[current])
        head[following] = head[following] + 10.0 * direction
    model.lm_head.weight = head
