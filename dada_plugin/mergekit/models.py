"""What a mergekit model reference points at, offline.

A reference is ``PATH[@REVISION][+ADAPTER]``. PATH is either a local folder (must be written
absolute: mergekit looks up relative paths with one slash on the hub) or a hub id. Local folders
are read from their ``config.json``; a hub id (or a local path absent from this machine) is
described by the numbers shipped in ``known_models.json`` (Gemma 3 270M), or the built-in
Mixtral-8x7B numbers when its name says Mixtral or 8x7B, and is otherwise unknown, so the
checks that need its config are skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dada_plugin.seed import MIXTRAL_NAME

# Mixtral-8x7B (v0.1, base and Instruct): the numbers the checks need, from its config.json.
MIXTRAL_8X7B = {
    "architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "num_hidden_layers": 32,
    "hidden_size": 4096, "intermediate_size": 14336, "num_local_experts": 8,
    "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

# Old (transformers 4) module names and their transformers-5 replacements, for filter hints.
OLD_TENSOR_NAMES = {"block_sparse_moe": "mlp", ".w1": "mlp.experts.gate_up_proj",
                    ".w3": "mlp.experts.gate_up_proj", ".w2": "mlp.experts.down_proj"}


def parse_ref(ref: str):
    """mergekit's own ``ModelReference`` of ``PATH[@REV][+ADAPTER[@REV]]``; ValueError when
    mergekit cannot read it."""
    from mergekit.common import ModelReference

    try:
        return ModelReference.model_validate(str(ref).strip())
    except Exception as exc:  # noqa: BLE001 - mergekit raises RuntimeError for a bad reference
        raise ValueError(f"'{ref}': {exc}") from None


def paths(ref: str) -> tuple[str, str | None]:
    """(model path, adapter path or None) of a reference, revisions left out."""
    parsed = parse_ref(ref)
    return parsed.model.path, parsed.lora.path if parsed.lora else None


def path_kind(path: str) -> str:
    """``"local"``: an absolute path, or a relative one to a folder that exists (mergekit uses it,
    resolved against the working directory); ``"hub"``: a Hub id; ``"hub-shaped"``: a local
    ``name/sub`` folder that mergekit's card step would take for a Hub id; ``"relative"``: any
    other relative path (absent here: mergekit would look it up on the Hub)."""
    if path.startswith("/"):
        return "local"
    exists = Path(path).expanduser().exists()
    if path.startswith(("~", "./", "../", ".\\")) or path in (".", ".."):
        return "local" if exists else "relative"
    if exists:
        return "hub-shaped" if "/" in path and _HUB_ID.match(path) else "local"
    return "hub" if _HUB_ID.match(path) else "relative"


def absolute(ref: str) -> str:
    """A reference with every local part made absolute (revisions kept); hub ids stay."""
    parsed = parse_ref(ref)

    def fix(part):
        if part is None or path_kind(part.path) == "hub":
            return part
        return part.model_copy(update={"path": str(Path(part.path).expanduser().resolve())})

    return str(parsed.model_copy(update={"model": fix(parsed.model), "lora": fix(parsed.lora)}))


@dataclass(frozen=True)
class ModelInfo:
    """What the checks know about one model: its architecture and layer count, and from where."""

    ref: str
    architecture: str | None
    num_layers: int | None
    source: str  # "config.json", "built-in Mixtral-8x7B numbers" or why nothing is known

    @property
    def known(self) -> bool:
        return self.num_layers is not None


def _from_config(ref: str, config: dict, source: str) -> ModelInfo:
    archs = config.get("architectures") or [None]
    layers = config.get("num_hidden_layers")
    if layers is None and isinstance(config.get("text_config"), dict):
        layers = config["text_config"].get("num_hidden_layers")
    return ModelInfo(ref, archs[0], int(layers) if layers is not None else None, source)


def read_config(path: str | Path) -> dict:
    """A local model's config.json as a dict (ValueError when missing or unreadable)."""
    file = Path(path) / "config.json"
    if not file.is_file():
        if (Path(path) / "adapter_config.json").is_file():
            raise ValueError(f"{path} is a LoRA adapter, not a model: write BASE+{path}")
        raise ValueError(f"{path}: no config.json (not a Hugging Face model folder)")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file}: unreadable ({exc})") from exc


@lru_cache(maxsize=1)
def known_models() -> dict[str, dict]:
    """The hub models whose numbers ship with dada (``known_models.json``: data, not code)."""
    data = json.loads((Path(__file__).with_name("known_models.json")).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def model_info(ref: str) -> ModelInfo:
    """Describe the model behind ``ref`` (the adapter part does not change the architecture).

    Raises ValueError for a local folder that exists but is not a model."""
    path = paths(ref)[0]
    if path_kind(path) != "hub" and Path(path).expanduser().exists():
        return _from_config(ref, read_config(Path(path).expanduser()), "config.json")
    where = "a hub id" if path_kind(path) == "hub" else "not on this machine"
    known = known_models().get(path.rstrip("/"))
    if known is not None:
        return _from_config(ref, known, f"{where}: built-in numbers of {path}")
    if MIXTRAL_NAME.search(path):
        return _from_config(ref, MIXTRAL_8X7B, f"{where}: built-in Mixtral-8x7B numbers")
    return ModelInfo(ref, None, None, f"{where}: no config.json readable offline")


def num_layers(ref: str) -> int:
    """Layer count of ``ref``; ValueError when it cannot be known offline."""
    info = model_info(ref)
    if info.num_layers is None:
        raise ValueError(f"cannot read the layer count of {ref} ({info.source}); "
                         "pass a local folder with a config.json")
    return info.num_layers


@lru_cache(maxsize=32)
def architecture_tensors(architecture: str) -> tuple[str, ...] | None:
    """Tensor names mergekit writes for ``architecture`` (layer index 0), from mergekit's own
    JSON architecture definitions; None when mergekit has no JSON definition for it."""
    from importlib.resources import files

    for entry in files("mergekit._data.architectures").iterdir():
        if not entry.name.endswith(".json"):
            continue
        spec = json.loads(entry.read_text(encoding="utf-8"))
        if architecture not in spec.get("architectures", []):
            continue
        weights = spec.get("pre_weights", []) + spec.get("layer_templates", {}).get("weights", [])
        weights += spec.get("post_weights", [])
        # mergekit matches filters against the output name only (not aliases)
        return tuple(w["name"].replace("${layer_index}", "0") for w in weights)
    return None


def filter_hint(filter_name: str) -> str:
    """``" ('block_sparse_moe' is the transformers-4 name; use 'mlp')"`` or ``""``."""
    for old, new in OLD_TENSOR_NAMES.items():
        if old.strip(".") in filter_name:
            return f" ('{old.strip('.')}' is the transformers-4 name; use '{new}')"
    return ""
