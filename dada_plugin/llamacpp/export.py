"""``dada gguf``: a local Mixtral (or Mistral/Llama) folder -> one GGUF file llama.cpp runs.

Built on llama.cpp's own Python library, the ``gguf`` package: its writer, its tensor-name map
(``TensorNameMap``), its quantizers (``gguf.quants``: Q8_0 by default, the seed's) and its
``SpecialVocab`` (BOS/EOS ids, the chat template). The conversion follows llama.cpp's
``convert_hf_to_gguf.py`` for the ``llama`` architecture: q/k rows permuted for its RoPE, the
experts of a layer stacked into ``ffn_{gate,down,up}_exps``, norms and the router kept in F32.
Both expert layouts are read (the Hub's ``block_sparse_moe.experts.E.w1/w2/w3`` and
transformers-5's fused ``mlp.experts.gate_up_proj/down_proj``).

Memory: the tensor list is planned from the safetensors headers, then each output tensor is
read, converted and written before the next (the largest is one layer's stacked experts), so a
47B model converts on a box with far less RAM than its size. The file is written under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import glob
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from dada_plugin.errors import ConfigError, InputError
from dada_plugin.io import file_mode, fsync_dir, loads_json, read_text
from dada_plugin.llamacpp.checks import check_config, check_tensors
from dada_plugin.outputs import check_file
from dada_plugin.settings import Settings, opt

ARCHITECTURES = ("MixtralForCausalLM", "MistralForCausalLM", "LlamaForCausalLM")
HUB_EXPERT = re.compile(r"^model\.layers\.(\d+)\.block_sparse_moe\.experts\.(\d+)\.(w[123])\.weight$")
FUSED_EXPERT = re.compile(r"^model\.layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)$")
FUSED_ROUTER = re.compile(r"^model\.layers\.(\d+)\.mlp\.gate\.weight$")
EXPERT_TENSOR = {"w1": "FFN_GATE_EXP", "w2": "FFN_DOWN_EXP", "w3": "FFN_UP_EXP"}
WRITER_KEY = "dada.writer"  # in every file dada writes, sealed: a rerun may replace its own file
# the key's value: this text, then the sha256 of the file's header (metadata and tensor index, this
# value zeroed), its size and its identity (device, inode: a rename keeps them, a copy does not);
# a copy, re-templated or re-quantized by another tool or not, keeps the key but not the seal, so
# it is not dada's to replace
SEAL_PREFIX = b"dada gguf sha256:"
SEAL_BLANK = b"0" * 64
BLOCK = 32  # Q8_0 block: a row whose length is not a multiple falls back to F16, as llama.cpp does


class GgufSettings(Settings):
    """``dada gguf``'s options and the ``gguf:`` step of a ``dada run`` recipe."""

    outtype: Literal["q8_0", "f16", "bf16", "f32"] = opt(
        "q8_0", "Weight type: q8_0 (the seed's, ~8.5 bits per weight), f16, bf16 or f32 (norms and "
                "the router stay f32, as llama.cpp's converter keeps them).", flag="--type")
    name: str | None = opt(None, "general.name in the file [default: the model folder's name].")
    vocab_from: str | None = opt(None, "A GGUF whose vocabulary (every tokenizer.* key but the chat template) "
                                       "replaces the one written from the folder: the model's original release, "
                                       "when the folder's tokenizer is a lossy copy of it.", metavar="GGUF")
    license: str | None = opt(None, "general.license in the file (e.g. gemma) [default: none, or the converter's].")
    llama_cpp: str | None = opt(None, "A llama.cpp source tree whose convert_hf_to_gguf.py converts the models "
                                      "dada's own writer does not know (Qwen, Gemma 3, BPE vocabularies) "
                                      "[default: the copy `make` unpacks into the environment].",
                                metavar="DIR")
    force: bool = opt(False, "Replace OUTPUT if it exists.")


@dataclass
class Planned:
    """One tensor of the output: its GGUF name, shape (numpy order), type and how to load it."""

    name: str
    shape: tuple[int, ...]
    qtype: object
    load: Callable[[], object] | list  # a list: one loader per expert, stacked


def _qtypes():
    from gguf import GGMLQuantizationType as Q
    from gguf import LlamaFileType as F

    return {"q8_0": (Q.Q8_0, F.MOSTLY_Q8_0), "f16": (Q.F16, F.MOSTLY_F16),
            "bf16": (Q.BF16, F.MOSTLY_BF16), "f32": (Q.F32, F.ALL_F32)}


def read_config(folder: Path) -> dict:
    """config.json of a model folder, checked (InputError naming the file otherwise)."""
    if not folder.is_dir():
        raise InputError(folder, "not a folder")
    if not (folder / "config.json").is_file():
        raise InputError(folder, "no config.json: not a Hugging Face model folder")
    try:
        config = loads_json(read_text(folder / "config.json"))
    except ValueError as exc:
        raise InputError(folder / "config.json", f"malformed JSON: {exc}") from None
    return check_config(folder / "config.json", config)


def own_writer(folder: Path, config: dict) -> bool:
    """dada's own writer converts the folder: an architecture it lays out (Mixtral, Mistral,
    Llama) with a SentencePiece vocabulary; anything else goes to llama.cpp's converter."""
    arch = (config.get("architectures") or ["?"])[0]
    return arch in ARCHITECTURES and (folder / "tokenizer.model").is_file()


def read_model(folder: Path) -> tuple[dict, dict[str, tuple[Path, tuple[int, ...]]]]:
    """(config.json, {tensor name: (shard, shape)}) from the safetensors headers only."""
    from safetensors import safe_open

    config = read_config(folder)
    arch = (config.get("architectures") or ["?"])[0]
    if arch not in ARCHITECTURES:
        raise ConfigError(f"{folder}: architecture {arch}: dada's writer lays out {', '.join(ARCHITECTURES)}")
    index = folder / "model.safetensors.index.json"
    if index.is_file():  # only the shards the index names (a folder may hold stale ones)
        try:
            weight_map = loads_json(read_text(index))["weight_map"]
            shards = sorted({folder / name for name in weight_map.values()})
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(index, f"unreadable: {exc}") from None
        for shard in shards:
            if not shard.is_file():
                raise InputError(index, f"names the shard {shard.name}, which is not in {folder}")
    else:
        shards = sorted(folder.glob("*.safetensors"))
    if not shards:
        raise InputError(folder, "no *.safetensors weights")
    tensors = {}
    for shard in shards:
        try:
            with safe_open(str(shard), "pt") as fh:
                for name in fh.keys():
                    if name in tensors:
                        raise InputError(shard, f"tensor {name} is also in {tensors[name][0].name} "
                                                "(two weight sets in one folder?)")
                    tensors[name] = (shard, tuple(fh.get_slice(name).get_shape()))
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - safetensors' own errors name no file
            raise InputError(shard, f"not a readable safetensors file (truncated?): {exc}") from None
    check_tensors(folder, config, tensors)
    return config, tensors


def _loader(shard: Path, name: str, transform=None):
    def load():
        from safetensors import safe_open

        try:
            with safe_open(str(shard), "pt") as fh:
                t = fh.get_tensor(name)
        except Exception as exc:  # noqa: BLE001 - safetensors' own errors name no file
            raise InputError(shard, f"cannot read tensor {name} (truncated?): {exc}") from None
        return (transform(t) if transform else t).float().numpy()
    return load


def permute(weights, n_head: int, n_head_kv: int | None = None):
    """llama.cpp's row order for q/k (its RoPE pairs neighbouring values), as its converter."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def plan(config: dict, tensors: dict, outtype: str) -> list[Planned]:
    """Every output tensor, in the order of the input's names (experts stacked per layer)."""
    import gguf

    q_type = _qtypes()[outtype][0]
    n_layers = int(config["num_hidden_layers"])
    n_head, n_kv = int(config["num_attention_heads"]), int(config.get("num_key_value_heads") or config["num_attention_heads"])
    inter = int(config.get("intermediate_size", 0))
    names = gguf.TensorNameMap(gguf.MODEL_ARCH.LLAMA, n_layers)
    out: list[Planned] = []
    experts: dict[tuple[int, str], dict[int, str]] = {}

    def qtype_for(name: str, shape: tuple) -> object:
        if len(shape) <= 1 or name.endswith("_norm.weight") or ".ffn_gate_inp." in name:
            return gguf.GGMLQuantizationType.F32
        if q_type == gguf.GGMLQuantizationType.Q8_0 and shape[-1] % BLOCK:
            return gguf.GGMLQuantizationType.F16
        return q_type

    def add(name: str, shape: tuple, load) -> None:
        out.append(Planned(name, shape, qtype_for(name, shape), load))

    def gguf_name(key: str, bid: int) -> str:
        return gguf.TENSOR_NAMES[gguf.MODEL_TENSOR[key]].format(bid=bid) + ".weight"

    for hf_name, (shard, shape) in tensors.items():
        if m := HUB_EXPERT.match(hf_name):
            experts.setdefault((int(m.group(1)), m.group(3)), {})[int(m.group(2))] = hf_name
            continue
        if m := FUSED_EXPERT.match(hf_name):
            bid = int(m.group(1))
            if m.group(2) == "gate_up_proj":  # [E, 2I, H]: w1 rows then w3 rows
                e, two_i, h = shape
                i = inter or two_i // 2
                for key, part in (("FFN_GATE_EXP", slice(0, i)), ("FFN_UP_EXP", slice(i, two_i))):
                    add(gguf_name(key, bid), (e, i, h),
                        _loader(shard, hf_name, lambda t, p=part: t[:, p, :].contiguous()))
            else:  # down_proj [E, H, I]
                add(gguf_name("FFN_DOWN_EXP", bid), shape, _loader(shard, hf_name))
            continue
        if m := FUSED_ROUTER.match(hf_name):
            add(gguf_name("FFN_GATE_INP", int(m.group(1))), shape, _loader(shard, hf_name))
            continue
        new = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ConfigError(f"tensor {hf_name}: no llama.cpp name for it (gguf's TensorNameMap)")
        kv = n_head if hf_name.endswith("q_proj.weight") else n_kv if hf_name.endswith("k_proj.weight") else None
        transform = None if kv is None else (lambda t, kv=kv: permute(t, n_head, kv))
        add(new, shape, _loader(shard, hf_name, transform))

    for (bid, w), by_expert in sorted(experts.items()):
        order = [by_expert[e] for e in sorted(by_expert)]
        # loaded (and quantized) one expert at a time: see convert()
        add(gguf_name(EXPERT_TENSOR[w], bid), (len(order), *tensors[order[0]][1]),
            [_loader(tensors[n][0], n) for n in order])
    return out


def convert(p: Planned):
    """The bytes of one output tensor. Stacked experts are converted expert by expert (Q8_0
    blocks lie within a row, so the result equals converting the stack): memory holds the
    output and one expert in float32, not the stack."""
    import gguf
    import numpy as np
    from gguf.quants import quantize

    def one(array):
        if p.qtype == gguf.GGMLQuantizationType.F32:
            return array
        if p.qtype == gguf.GGMLQuantizationType.F16:
            return array.astype(np.float16)
        return quantize(array, p.qtype)

    if not isinstance(p.load, list):
        return one(p.load())
    first = one(p.load[0]())
    out = np.empty((len(p.load), *first.shape), dtype=first.dtype)
    out[0] = first
    for i, load in enumerate(p.load[1:], 1):
        out[i] = one(load())
    return out


def vocabulary(folder: Path, vocab_size: int) -> tuple[list[bytes], list[float], list[int]]:
    """The SentencePiece vocabulary with scores and token types, as llama.cpp's converter
    reads it (padded to the model's vocab_size)."""
    import gguf
    from sentencepiece import SentencePieceProcessor

    model = folder / "tokenizer.model"
    if not model.is_file():
        raise InputError(folder, "no tokenizer.model (the SentencePiece vocabulary llama.cpp needs)")
    try:
        sp, T = SentencePieceProcessor(model_file=str(model)), gguf.TokenType
    except Exception as exc:  # noqa: BLE001 - sentencepiece raises RuntimeError/OSError alike
        raise InputError(model, f"not a SentencePiece model: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    known, pad = range(sp.vocab_size()), range(sp.vocab_size(), vocab_size)
    tokens = [sp.id_to_piece(i).encode("utf-8") for i in known] + [f"[PAD{i}]".encode("utf-8") for i in pad]
    scores = [sp.get_score(i) for i in known] + [-1000.0] * len(pad)
    types = [int(T.UNKNOWN if sp.is_unknown(i) else T.CONTROL if sp.is_control(i) else T.UNUSED if sp.is_unused(i)
                 else T.BYTE if sp.is_byte(i) else T.NORMAL) for i in known] + [int(T.UNUSED)] * len(pad)
    for token_id, content, special in added_tokens(folder):  # into the padding slots only
        if token_id < len(tokens) and types[token_id] == int(gguf.TokenType.UNUSED):
            tokens[token_id] = content.encode("utf-8")
            scores[token_id] = -1000.0
            looks_special = re.fullmatch(r"<\|.*\|>|<[^<>\s]+>|\[[A-Z_]+\]", content) is not None
            types[token_id] = int(gguf.TokenType.CONTROL if special or looks_special else gguf.TokenType.USER_DEFINED)
    return tokens, scores, types


def added_tokens(folder: Path) -> list[tuple[int, str, bool]]:
    """(id, text, special) of tokens added beside the SentencePiece model (ChatML's
    ``<|im_start|>``...), from added_tokens.json and tokenizer_config.json."""
    found: dict[int, tuple[str, bool]] = {}
    for name in ("added_tokens.json", "tokenizer_config.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if name == "added_tokens.json" and isinstance(data, dict):
            found.update({int(i): (t, False) for t, i in data.items() if isinstance(i, int)})
        elif isinstance(data, dict) and isinstance(data.get("added_tokens_decoder"), dict):
            for i, entry in data["added_tokens_decoder"].items():
                if isinstance(entry, dict) and isinstance(entry.get("content"), str):
                    found[int(i)] = (entry["content"], bool(entry.get("special")))
    return [(i, text, special) for i, (text, special) in sorted(found.items())]


def export_gguf(model_dir: str | Path, output: str | Path, settings: GgufSettings | None = None,
                progress: Callable[[str], None] | None = None) -> Path:
    """Write ``output`` (a GGUF file) from the model in ``model_dir``; returns its path. dada's
    own writer where it knows the architecture and vocabulary (:func:`own_writer`), llama.cpp's
    converter otherwise (:mod:`dada_plugin.llamacpp.convert`); either way the file is sealed
    as dada's and appears only when complete."""
    try:
        import gguf  # noqa: F401
    except ImportError:
        raise ConfigError("dada gguf needs the gguf package: pip install 'dada[gguf]'") from None
    from dada_plugin.llamacpp.convert import run_converter

    settings = settings or GgufSettings()
    folder, output = Path(model_dir), Path(output)
    check_file(output, {"vocabulary": settings.vocab_from} if settings.vocab_from else {}, force=settings.force,
               ours=written_by_dada, within={"model": folder})
    config = read_config(folder)
    if settings.vocab_from:
        vocab_source(settings.vocab_from)  # a bad --vocab-from is refused before the conversion
    if own_writer(folder, config):
        config, tensors = read_model(folder)
        planned = plan(config, tensors, settings.outtype)
        vocab = vocabulary(folder, int(config.get("vocab_size") or 0))

        def write(tmp: Path) -> None:
            _write_own(tmp, folder, config, planned, vocab, settings, progress)
    else:
        if "{" in output.name or "}" in output.name:  # the converter fills {ftype} & co. into its output name
            raise InputError(output, "a name with { or } cannot go through llama.cpp's converter; rename it")
        if progress:
            progress(f"{(config.get('architectures') or ['?'])[0]}: llama.cpp's converter writes the file")

        def write(tmp: Path) -> None:
            run_converter(folder.resolve(), tmp.resolve(), settings.outtype, name=settings.name or folder.name,
                          tree=settings.llama_cpp, writer_key=WRITER_KEY,
                          blank=(SEAL_PREFIX + SEAL_BLANK).decode(), progress=progress)

    output.parent.mkdir(parents=True, exist_ok=True)
    for left in output.parent.glob(f".{glob.escape(output.name)}.*.tmp*"):  # a killed run's
        found = re.fullmatch(rf"\.{re.escape(output.name)}\.(\d+)\.tmp(\.meta)?", left.name)
        if found and not pid_alive(int(found[1])):
            left.unlink(missing_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        if settings.vocab_from or settings.license:
            _rewrite_metadata(tmp, settings.vocab_from, settings.license)
        if _header_seal(tmp) is None:
            raise InputError(tmp, "the converter wrote no dada.writer key (another llama.cpp tree?)")
        _seal(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, output)
        fsync_dir(output.parent)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a full disk (numpy's short write carries no errno)
            raise InputError(output, f"cannot write: {exc.strerror or exc}") from exc
        raise
    return output


def _write_own(tmp: Path, folder: Path, config: dict, planned: list[Planned], vocab: tuple,
               settings: GgufSettings, progress: Callable[[str], None] | None) -> None:
    """dada's own writer: the llama architecture's metadata, the SentencePiece vocabulary, the
    tensors one at a time."""
    import gguf

    from dataset_builders.template import CHAT_TEMPLATE

    tokens, scores, types = vocab
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    try:
        writer.add_name(settings.name or folder.name)
        writer.add_string(WRITER_KEY, (SEAL_PREFIX + SEAL_BLANK).decode())
        writer.add_context_length(int(config.get("max_position_embeddings", 4096)))
        writer.add_embedding_length(int(config["hidden_size"]))
        writer.add_block_count(int(config["num_hidden_layers"]))
        writer.add_feed_forward_length(int(config.get("intermediate_size", 0)))
        n_head = int(config["num_attention_heads"])
        writer.add_head_count(n_head)
        writer.add_head_count_kv(int(config.get("num_key_value_heads") or n_head))
        writer.add_rope_dimension_count(int(config.get("head_dim") or config["hidden_size"] // n_head))
        rope_params = config.get("rope_parameters") or config.get("rope_scaling") or {}
        rope = config.get("rope_theta") or rope_params.get("rope_theta")
        writer.add_rope_freq_base(float(rope or 10000.0))  # transformers 5 nests it in rope_parameters
        if rope_params.get("rope_type", rope_params.get("type")) == "linear" and rope_params.get("factor"):
            writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            writer.add_rope_scaling_factor(float(rope_params["factor"]))
        if config.get("head_dim"):
            writer.add_key_length(int(config["head_dim"]))
            writer.add_value_length(int(config["head_dim"]))
        writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-5)))
        if config.get("num_local_experts"):
            writer.add_expert_count(int(config["num_local_experts"]))
            writer.add_expert_used_count(int(config["num_experts_per_tok"]))
        writer.add_vocab_size(len(tokens))
        writer.add_file_type(_qtypes()[settings.outtype][1])
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)  # as llama.cpp's converter does
        writer.add_tokenizer_model("llama")
        writer.add_tokenizer_pre("default")
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
        special = gguf.SpecialVocab(folder, n_vocab=len(tokens))
        if special.chat_template is None:
            special.chat_template = CHAT_TEMPLATE  # Mixtral-Instruct's, as dada compiles its data
        special.add_to_gguf(writer, quiet=True)
        for p in planned:
            writer.add_tensor_info(p.name, *_tensor_info(p.shape, p.qtype))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for i, p in enumerate(planned, 1):  # one tensor in memory at a time
            writer.write_tensor_data(convert(p))
            if progress:
                progress(f"[{i}/{len(planned)}] {p.name} {p.qtype.name}")
    finally:
        writer.close()


def vocab_source(path: str):
    """The GGUF whose vocabulary ``--vocab-from`` names, read (InputError naming it otherwise)."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable GGUF file: {getattr(exc, 'strerror', None) or exc}") from None
    if "tokenizer.ggml.tokens" not in reader.fields:
        raise InputError(path, "has no tokenizer.ggml.tokens: not a model GGUF")
    return reader


def _rewrite_metadata(path: Path, vocab_from: str | None, license: str | None) -> None:
    """Rewrite ``path`` in place (through a sibling temp file) with the tokenizer keys of
    ``vocab_from`` (its chat template excepted: the folder's stays) and ``general.license``;
    the tensors are copied byte for byte. InputError when the vocabulary does not fit the
    model's embedding."""
    import gguf

    current = gguf.GGUFReader(str(path))
    source = vocab_source(vocab_from) if vocab_from else None
    replace: dict[str, object] = {}
    if source is not None:
        replace = {k: f for k, f in source.fields.items() if k.startswith("tokenizer.") and k != "tokenizer.chat_template"}
        rows = next((int(t.shape[1]) for t in current.tensors if t.name == "token_embd.weight"), None)
        n_tokens = len(source.fields["tokenizer.ggml.tokens"].data)
        if rows is not None and rows != n_tokens:
            raise InputError(vocab_from, f"its vocabulary has {n_tokens:,} tokens, the model's embedding {rows:,} rows")
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    def details(field) -> MetadataDetails:
        kind = field.types[0]
        return MetadataDetails(kind, field.contents(), sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY
                               else None)

    new = {name: details(field) for name, field in replace.items()}
    if license:
        new["general.license"] = MetadataDetails(gguf.GGUFValueType.STRING, license)
    dropped = [name for name in current.fields if name.startswith("tokenizer.") and name not in new
               and name != "tokenizer.chat_template"] if source is not None else []
    arch = bytes(current.fields["general.architecture"].parts[-1]).decode()
    out = path.with_name(path.name + ".meta")
    writer = gguf.GGUFWriter(str(out), arch)
    try:  # gguf's own copy (what its gguf_new_metadata script does): the tensors byte for byte
        copy_with_new_metadata(current, writer, new, dropped)
        os.replace(out, path)
    except BaseException:
        writer.close()
        out.unlink(missing_ok=True)
        raise


def pid_alive(pid: int) -> bool:
    """Process ``pid`` is still running (a temp file named after it is not a leftover)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _header_seal(path: Path) -> tuple[int, str] | None:
    """(offset of the seal's hex digits, the sha256 the file's header, size and identity give
    with those digits zeroed), or None when the file has no dada seal."""
    import hashlib

    import gguf

    start = gguf.GGUFReader(str(path)).data_offset  # where the tensor data begins
    with open(path, "rb") as fh:
        header = bytearray(fh.read(start))
        st = os.fstat(fh.fileno())
    at = header.find(SEAL_PREFIX)
    if at < 0 or len(header) < at + len(SEAL_PREFIX) + 64:
        return None
    at += len(SEAL_PREFIX)
    header[at:at + 64] = SEAL_BLANK
    identity = f"{st.st_size}:{st.st_dev}:{st.st_ino}".encode()
    return at, hashlib.sha256(bytes(header) + identity).hexdigest()


def _seal(path: Path) -> None:
    at, digest = _header_seal(path)
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(digest.encode())


def written_by_dada(path: Path) -> bool:
    """``path`` is a GGUF file dada wrote and nobody changed since (its seal holds): a rerun
    may replace it. A copy that another tool re-templated or re-quantized is not ours."""
    if not path.is_file() or path.is_symlink():
        return False
    try:
        found = _header_seal(path)
        if found is None:
            return False
        with open(path, "rb") as fh:
            fh.seek(found[0])
            return fh.read(64).decode() == found[1]
    except Exception:  # noqa: BLE001 - not a GGUF we can read: not ours
        return False


def _tensor_info(shape: tuple, qtype) -> tuple:
    """(shape, dtype, nbytes, raw_dtype) for GGUFWriter.add_tensor_info, from the header alone:
    plain types by element size, quantized ones (stored as bytes) by their byte shape."""
    import gguf
    import numpy as np
    from gguf.quants import quant_shape_to_byte_shape

    plain = {gguf.GGMLQuantizationType.F32: np.float32, gguf.GGMLQuantizationType.F16: np.float16}.get(qtype)
    if plain is not None:
        return shape, plain, np.dtype(plain).itemsize * int(np.prod(shape)), None
    byte_shape = quant_shape_to_byte_shape(shape, qtype)
    return byte_shape, np.uint8, int(np.prod(byte_shape)), qtype
