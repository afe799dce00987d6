"""Teach punie-tiny Punie's Code Mode: LoRA with mlx-lm on the seed set, fused into a deployable model.

`train_tiny` runs two child processes with the fast BLAS preloaded (`fast_blas_env`), so MLX's BLAS,
memory and any crash stay out of the caller's process:

1. `python -m punie_lsp.models.tiny.train CONFIG` (this module's `_child_main`): loads the installed
   punie-tiny with `mlx_lm.load`, checks that the tokenizer's chat template renders the first training
   record exactly as `render_gemma_chat` does (Punie's Gemma template, tools included, one `<bos>`), and
   trains LoRA layers with `lora.train_lora` (chat records `{"messages", "tools"}` rendered by that
   template; the loss on the model's turns only, the LM head only where it counts). Progress goes to the
   parent as JSON lines on a pipe of its own; other console output goes to `train.log`.
2. `python -m mlx_lm fuse`: the adapter fused into float32 weights. The base tokenizer files are copied
   over the fused ones, so the chat template is byte for byte the one punie-tiny ships.

Everything is built in a staging directory next to the target (`models/.punie-tiny-tuned.partial-*`);
`install.json` is written last and the directory is renamed onto the target, so an interrupted run never
leaves a half model that looks installed; stale staging directories of interrupted runs are removed
when the next run starts.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from punie_lsp.exceptions import UserError
from punie_lsp.models.tiny.convert import refresh_serving_files
from punie_lsp.models.tiny.install import INSTALL_MARKER, is_installed

__all__ = (
    "DEFAULT_DATA_DIR",
    "TUNED_NAME",
    "TrainError",
    "TrainProgress",
    "TrainProgressCallback",
    "TrainSummary",
    "fuse_command",
    "restore_base_files",
    "train_tiny",
)

TUNED_NAME = "punie-tiny-tuned"
"""The directory name of the tuned model under `PUNIE_HOME/models`."""
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "seed"
"""The committed seed set (`train.jsonl`, `valid.jsonl`)."""
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "punie.json",
)
"""Tokenizer and serving files taken from the base model (those it has) rather than from mlx-lm's re-save."""
_EVENT_PREFIX = "punie-train-event "

# The recipe of the adapter Punie ships (`punie_lsp/data/punie-tiny-lora`): about 1.5 epochs of the seed set.
RECIPE_ITERS = 140
RECIPE_BATCH_SIZE = 4
RECIPE_LAYERS = 6
RECIPE_LEARNING_RATE = 3e-4
RECIPE_MAX_SEQ_LENGTH = 2048


class TrainError(UserError):
    """Training or fusing punie-tiny failed (not installed, bad data, a crashed child process)."""


@dataclass(frozen=True, kw_only=True)
class TrainProgress:
    """One progress report of a training run."""

    stage: str
    """`load` (model and data loaded), `preparing` (records done in `iteration` of `iters` while the frozen
    layers' outputs are computed), `prepare` (done), `valid`, `train`, `fuse` or `finish`."""
    iteration: int
    """Iterations done."""
    iters: int
    """Iterations in the run."""
    train_loss: float | None = None
    """Mean training loss since the last report (`train`)."""
    valid_loss: float | None = None
    """Validation loss (`valid`)."""
    seconds_per_iteration: float | None = None
    """Training time per iteration since the last report, validation excluded (`train`)."""
    tokens_per_second: float | None = None
    """Trained tokens per second since the last report (`train`)."""
    peak_memory_gb: float | None = None
    """MLX's peak memory so far (`train`)."""


TrainProgressCallback = Callable[[TrainProgress], None]
"""Receives progress reports (on the calling thread)."""


@dataclass(frozen=True, kw_only=True)
class TrainSummary:
    """What a training run did and measured."""

    model_dir: Path
    """The fused, deployable model (`mlx:<model_dir>`)."""
    adapter_dir: Path
    """The LoRA adapter inside it (`adapters.safetensors`, `adapter_config.json`)."""
    iters: int
    batch_size: int
    num_layers: int
    max_seq_length: int
    learning_rate: float
    train_examples: int
    valid_examples: int
    train_losses: tuple[float, ...]
    """Training loss per report (one per iteration)."""
    valid_losses: tuple[tuple[int, float], ...]
    """`(iterations done, validation loss)`: before training and at the end."""
    trained_tokens: int
    seconds_per_iteration: float
    """Mean training time per iteration after the first (validation, loading and fusing excluded)."""
    first_iteration_seconds: float
    """The first iteration, which also pays for warm-up."""
    prepare_seconds: float
    """Computing every record's hidden states below the LoRA layers, once (they are frozen)."""
    peak_memory_gb: float
    train_seconds: float
    """The training child's wall time (loading, validation and training)."""
    fuse_seconds: float
    seconds: float
    """The whole run."""
    blas: str | None
    """The BLAS library preloaded for MLX, or `None` (MLX's reference BLAS)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (paths as strings)."""
        data = asdict(self)
        data["model_dir"] = str(self.model_dir)
        data["adapter_dir"] = str(self.adapter_dir)
        return data


def _preloaded_blas(env: dict[str, str]) -> str | None:
    from punie_lsp.models.tiny.blas import find_fast_blas

    path, _ = find_fast_blas(env)
    return None if path is None else str(path)


def _count_lines(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def _log_tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _run_child(
    command: Sequence[str], *, env: dict[str, str], log: Path, on_event: Callable[[dict[str, Any]], None]
) -> None:
    """Run `command`, output to `log`; JSON events come on a pipe (its fd in `PUNIE_TRAIN_EVENTS`)."""
    read_fd, write_fd = os.pipe()
    env = {**env, "PUNIE_TRAIN_EVENTS": str(write_fd), "TOKENIZERS_PARALLELISM": "false"}
    with log.open("ab") as out:
        try:
            process = subprocess.Popen(
                list(command), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                pass_fds=(write_fd,),
            )  # fmt: skip
        finally:
            os.close(write_fd)
        try:
            with os.fdopen(read_fd, encoding="utf-8") as events:
                for line in events:
                    if line.startswith(_EVENT_PREFIX):
                        on_event(json.loads(line[len(_EVENT_PREFIX) :]))
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
    if code != 0:
        raise TrainError(
            f"`{' '.join(command[:4])}` failed (exit {code}); the end of {log}:\n{_log_tail(log)}"
        )


def train_tiny(
    punie_home: Path,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    iters: int = RECIPE_ITERS,
    batch_size: int = RECIPE_BATCH_SIZE,
    num_layers: int = RECIPE_LAYERS,
    max_seq_length: int = RECIPE_MAX_SEQ_LENGTH,
    learning_rate: float = RECIPE_LEARNING_RATE,
    val_batches: int = -1,
    seed: int = 0,
    out_dir: Path | None = None,
    progress: TrainProgressCallback | None = None,
) -> TrainSummary:
    """LoRA-train the installed punie-tiny on chat records and fuse it into a deployable MLX model.

    Args:
        punie_home: Punie's home directory (punie-tiny must be installed there).
        data_dir: a directory with `train.jsonl` and `valid.jsonl` (`{"messages": [...], "tools": [...]}`).
        iters: training iterations.
        batch_size: records per iteration.
        num_layers: how many of the top layers (of 18) get LoRA adapters (rank 8, scale 20); the layers
            below are frozen and run once per record, before training.
        max_seq_length: tokens kept per record (the seed records are 400–1,850 tokens).
        learning_rate: Adam's peak learning rate (10 warm-up iterations, cosine decay to a tenth).
        val_batches: validation batches before and after training (`-1`: the whole validation set).
        seed: the random seed (batch order, LoRA initialisation).
        out_dir: where the fused model goes (default `PUNIE_HOME/models/punie-tiny-tuned`); replaced.
        progress: receives `TrainProgress` reports.

    Returns:
        The run's summary; the model is in `summary.model_dir` (`mlx:<dir>` loads it).

    Raises:
        TrainError: punie-tiny is not installed, the data is missing or empty, or training/fusing failed.
    """
    from punie_lsp.models.spec import punie_tiny_dir
    from punie_lsp.models.tiny.blas import fast_blas_env

    started = time.perf_counter()
    base = punie_tiny_dir(punie_home)
    if not is_installed(base):
        raise TrainError(f"punie-tiny is not installed in `{base}`; run `punie model install punie-tiny`")
    refresh_serving_files(base)
    data_dir = Path(data_dir)
    for split in ("train", "valid"):
        if not (data_dir / f"{split}.jsonl").is_file():
            raise TrainError(f"no `{split}.jsonl` in `{data_dir}`")
    train_examples = _count_lines(data_dir / "train.jsonl")
    valid_examples = _count_lines(data_dir / "valid.jsonl")
    if train_examples < batch_size or valid_examples < batch_size:
        raise TrainError(f"`{data_dir}` needs at least {batch_size} train and valid records (the batch size)")
    if iters < 1 or batch_size < 1 or num_layers < 1 or max_seq_length < 2:
        raise TrainError("iters, batch size, layers and sequence length must be positive")
    target = Path(out_dir) if out_dir is not None else punie_home / "models" / TUNED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    env = fast_blas_env()
    config = {
        "model": str(base),
        "data": str(data_dir.resolve()),
        "iters": iters,
        "batch_size": batch_size,
        "num_layers": num_layers,
        "max_seq_length": max_seq_length,
        "learning_rate": learning_rate,
        "val_batches": val_batches,
        "seed": seed,
    }
    train_losses: list[float] = []
    valid_losses: list[tuple[int, float]] = []
    seconds: list[float] = []
    state: dict[str, float] = {"trained_tokens": 0, "peak_memory": 0.0, "frozen_seconds": 0.0}

    def emit(event: TrainProgress) -> None:
        if progress is not None:
            progress(event)

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "load":
            emit(TrainProgress(stage="load", iteration=0, iters=iters))
        elif kind == "preparing":
            emit(TrainProgress(stage="preparing", iteration=int(event["done"]), iters=int(event["total"])))
        elif kind == "frozen":
            state["frozen_seconds"] = float(event["seconds"])
            emit(TrainProgress(stage="prepare", iteration=0, iters=iters))
        elif kind == "valid":
            valid_losses.append((int(event["iteration"]), float(event["val_loss"])))
            emit(
                TrainProgress(
                    stage="valid",
                    iteration=int(event["iteration"]),
                    iters=iters,
                    valid_loss=event["val_loss"],
                )
            )
        elif kind == "train":
            train_losses.append(float(event["train_loss"]))
            per_iteration = 1.0 / float(event["iterations_per_second"])
            seconds.append(per_iteration)
            state["trained_tokens"] = float(event["trained_tokens"])
            state["peak_memory"] = max(state["peak_memory"], float(event["peak_memory"]))
            emit(
                TrainProgress(
                    stage="train",
                    iteration=int(event["iteration"]),
                    iters=iters,
                    train_loss=float(event["train_loss"]),
                    seconds_per_iteration=per_iteration,
                    tokens_per_second=float(event["tokens_per_second"]),
                    peak_memory_gb=float(event["peak_memory"]),
                )
            )

    lock = (target.parent / f".{target.name}.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        lock.close()
        raise TrainError(f"another `train-tiny` run is writing `{target}`") from error
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        staging.chmod(0o755)
        adapters = staging / "adapters"
        config["adapter_path"] = str(adapters)
        config_file = staging / "train-config.json"
        config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        log = staging / "train.log"
        tic = time.perf_counter()
        _run_child([sys.executable, "-m", __name__, str(config_file)], env=env, log=log, on_event=on_event)
        train_seconds = time.perf_counter() - tic
        emit(TrainProgress(stage="fuse", iteration=iters, iters=iters))
        tic = time.perf_counter()
        _run_child(fuse_command(base, adapters, staging), env=env, log=log, on_event=on_event)
        fuse_seconds = time.perf_counter() - tic
        restore_base_files(base, staging)
        summary = TrainSummary(
            model_dir=target,
            adapter_dir=target / "adapters",
            iters=iters,
            batch_size=batch_size,
            num_layers=num_layers,
            max_seq_length=max_seq_length,
            learning_rate=learning_rate,
            train_examples=train_examples,
            valid_examples=valid_examples,
            train_losses=tuple(train_losses),
            valid_losses=tuple(valid_losses),
            trained_tokens=int(state["trained_tokens"]),
            seconds_per_iteration=_steady_mean(seconds),
            first_iteration_seconds=seconds[0] if seconds else 0.0,
            prepare_seconds=round(state["frozen_seconds"], 2),
            peak_memory_gb=state["peak_memory"],
            train_seconds=round(train_seconds, 2),
            fuse_seconds=round(fuse_seconds, 2),
            seconds=round(time.perf_counter() - started, 2),
            blas=_preloaded_blas(env),
        )
        _write_marker(staging, summary)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            target.rename(old / target.name)
            shutil.rmtree(old, ignore_errors=True)
        staging.rename(target)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise TrainError(f"training punie-tiny failed: {error}") from error
        raise
    finally:
        lock.close()
    emit(TrainProgress(stage="finish", iteration=iters, iters=iters))
    return summary


def _steady_mean(seconds: Sequence[float]) -> float:
    """The mean of the iteration times after the first (warm-up); the first alone when it is the only one."""
    steady = seconds[1:] or seconds
    return sum(steady) / len(steady) if steady else 0.0


def fuse_command(base: Path, adapter: Path, save_path: Path) -> list[str]:
    """The `mlx_lm fuse` command folding `adapter` into `base`'s float32 weights under `save_path`.

    Run it with `fast_blas_env()`, then `restore_base_files`.
    """
    command = [sys.executable, "-m", "mlx_lm", "fuse", "--model", str(base), "--adapter-path", str(adapter)]
    return [*command, "--save-path", str(save_path)]


def restore_base_files(base: Path, model_dir: Path) -> None:
    """Make a fused model's tokenizer and serving files exactly the base model's.

    mlx-lm re-saves the tokenizer its own way; Punie's Gemma chat template and `punie.json` must survive.
    """
    for name in TOKENIZER_FILES:
        source, destination = base / name, model_dir / name
        if source.is_file():
            shutil.copyfile(source, destination)
        elif destination.exists():
            destination.unlink()
    from punie_lsp.models.tiny.chat_template import PUNIE_GEMMA_CHAT_TEMPLATE

    template = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8")).get(
        "chat_template"
    )
    if template != PUNIE_GEMMA_CHAT_TEMPLATE:
        raise TrainError("the fused model's tokenizer does not carry Punie's Gemma chat template")


def _write_marker(directory: Path, summary: TrainSummary) -> None:
    from punie_lsp import __version__

    record = {
        "name": TUNED_NAME,
        "base_model": "punie-tiny (Gemma 3 270M) + LoRA on Punie's seed set, fused",
        "dtype": "float32",
        "punie_version": __version__,
        "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training": {
            key: value for key, value in summary.to_dict().items() if key not in ("model_dir", "adapter_dir")
        },
    }
    marker = directory / INSTALL_MARKER
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    with marker.open("rb") as handle:
        os.fsync(handle.fileno())


def _check_template(tokenizer: Any, record: dict[str, Any]) -> None:
    """The tokenizer renders `record` as `render_gemma_chat` does, and tokenizes it with a single `<bos>`."""
    from punie_lsp.models.tiny.chat_template import render_gemma_chat

    messages, tools = record["messages"], record.get("tools")
    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)
    expected = render_gemma_chat(messages, tools=tools or (), add_generation_prompt=False)
    if text != expected:
        raise SystemExit("the tokenizer's chat template is not Punie's Gemma template (render_gemma_chat)")
    tokens = tokenizer.apply_chat_template(messages, tools=tools, return_dict=False)
    if list(tokens) != tokenizer.encode(expected, add_special_tokens=False):
        raise SystemExit("the chat template's tokens differ from the rendered text's (a doubled <bos>?)")


def _read_records(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _child_main(config_file: str) -> None:
    """The training child: load, check the template, train (`lora.train_lora`), report events on the pipe."""
    from mlx_lm import load

    from punie_lsp.models.tiny.lora import LoraConfig, build_examples, train_lora

    config = json.loads(Path(config_file).read_text(encoding="utf-8"))
    events = os.fdopen(int(os.environ["PUNIE_TRAIN_EVENTS"]), "w", encoding="utf-8", buffering=1)

    def send(kind: str, info: dict[str, Any]) -> None:
        events.write(_EVENT_PREFIX + json.dumps({"event": kind, **info}) + "\n")

    loaded: tuple[Any, ...] = load(config["model"])
    model, tokenizer = loaded[0], loaded[1]
    train_records = _read_records(Path(config["data"], "train.jsonl"))
    valid_records = _read_records(Path(config["data"], "valid.jsonl"))
    _check_template(tokenizer, train_records[0])
    hf_tokenizer = tokenizer._tokenizer
    train_set = build_examples(train_records, hf_tokenizer, max_seq_length=config["max_seq_length"])
    valid_set = build_examples(valid_records, hf_tokenizer, max_seq_length=config["max_seq_length"])
    if len(train_set) < config["batch_size"] or not valid_set:
        raise SystemExit("too few records with a model turn to train on")
    send("load", {"train": len(train_set), "valid": len(valid_set)})
    lora = LoraConfig(
        iters=config["iters"],
        batch_size=config["batch_size"],
        num_layers=config["num_layers"],
        learning_rate=config["learning_rate"],
        max_seq_length=config["max_seq_length"],
        val_batches=config["val_batches"],
        seed=config["seed"],
    )
    adapter_dir = Path(config["adapter_path"])
    train_lora(
        model, train_set, valid_set, lora, adapter_dir=adapter_dir, base_model="punie-tiny", report=send
    )
    events.close()


if __name__ == "__main__":
    _child_main(sys.argv[1])
