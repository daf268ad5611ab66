"""Mixtral's two expert layouts, and writing a merge in the layout its inputs had.

transformers 5 (and mergekit 0.1.5's output) fuse each layer's experts:
``mlp.experts.gate_up_proj [E, 2I, H]`` (w1 then w3 per expert), ``mlp.experts.down_proj
[E, H, I]``, router ``mlp.gate.weight``. Every Mixtral on the Hub, llama.cpp's converter,
exllamav2 and transformers 4 use ``block_sparse_moe.experts.E.w1/w2/w3.weight`` and
``block_sparse_moe.gate.weight``. Unfusing is exact (slices of the same numbers).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from dada_plugin.io import file_mode, fsync_dir, temp_open

FUSED = re.compile(r"^(?P<layer>.*\.layers\.\d+)\.mlp\.(?:experts\.(?P<kind>gate_up_proj|down_proj)|(?P<gate>gate)\.weight)$")
HUB = re.compile(r"\.block_sparse_moe\.(?:experts\.\d+\.w[123]|gate)\.weight$")
INDEX = "model.safetensors.index.json"


def tensor_names(folder: str | Path) -> list[str]:
    """The tensor names of a local safetensors model folder (from its index, or its one file)."""
    folder = Path(folder)
    index = folder / INDEX
    if index.is_file():
        return list(json.loads(index.read_text(encoding="utf-8"))["weight_map"])
    from safetensors import safe_open

    names = []
    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), "np") as fh:
            names += list(fh.keys())
    return names


def layout(folder: str | Path) -> str | None:
    """``"hub"``, ``"fused"`` or None (no Mixtral experts, or not a local safetensors folder)."""
    try:
        names = tensor_names(folder)
    except (OSError, ValueError, KeyError):
        return None
    if any(HUB.search(n) for n in names):
        return "hub"
    if any(FUSED.match(n) for n in names):
        return "fused"
    return None


def unfuse(name: str, tensor, intermediate: int) -> list[tuple[str, object]]:
    """The Hub-layout tensors for one tensor of the fused layout (others pass through)."""
    m = FUSED.match(name)
    if m is None:
        return [(name, tensor)]
    layer = m.group("layer")
    if m.group("gate"):
        return [(f"{layer}.block_sparse_moe.gate.weight", tensor)]
    out = []
    for e in range(tensor.shape[0]):
        prefix = f"{layer}.block_sparse_moe.experts.{e}"
        if m.group("kind") == "gate_up_proj":
            out += [(f"{prefix}.w1.weight", tensor[e, :intermediate].contiguous()),
                    (f"{prefix}.w3.weight", tensor[e, intermediate:].contiguous())]
        else:
            out.append((f"{prefix}.w2.weight", tensor[e].contiguous()))
    return out


def output_layout(inputs: list[Path]) -> str:
    """The expert layout a merge of ``inputs`` (local model folders) is written in: the fused one
    only when an input has it (a folder merged by an earlier dada); otherwise the Hub's."""
    return "fused" if any(layout(p) == "fused" for p in inputs) else "hub"


def to_hub_layout(folder: str | Path) -> int:
    """Rewrite a fused Mixtral folder in the Hub layout, shard by shard (a shard with fused
    experts is rebuilt in memory, as mergekit held it, and replaced atomically; the index
    follows). Returns the number of tensors in the folder."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    intermediate = int(config.get("intermediate_size") or config["text_config"]["intermediate_size"])
    index_path = folder / INDEX
    index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else None
    weight_map: dict[str, str] = {}
    written = 0
    for shard in sorted(folder.glob("*.safetensors")):
        tensors = {}
        with safe_open(str(shard), "pt") as fh:
            names = list(fh.keys())
            if not any(FUSED.match(n) for n in names):  # nothing to split: the shard stays
                weight_map.update({n: shard.name for n in names})
                written += len(names)
                continue
            metadata = fh.metadata() or {"format": "pt"}
            for name in names:
                for new_name, tensor in unfuse(name, fh.get_tensor(name), intermediate):
                    tensors[new_name] = tensor
                    weight_map[new_name] = shard.name
        with temp_open(shard, "wb") as (_, tmp):
            pass
        try:
            save_file(tensors, str(tmp), metadata=metadata)
            os.chmod(tmp, file_mode())
            os.replace(tmp, shard)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        written += len(tensors)
        del tensors
    if index is not None:
        index["weight_map"] = dict(sorted(weight_map.items()))
        with temp_open(index_path) as (fh, tmp):
            json.dump(index, fh, indent=2)
        os.replace(tmp, index_path)
    fsync_dir(folder)
    return written
