"""Fixtures for the mergekit tests: a random peft LoRA adapter on the tiny Mixtral, tensor
loading in the transformers-5 fused layout, and a runner for the real ``mergekit-yaml``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dada_plugin.offline import offline_env

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "mergekit_configs").glob("*.yml"))
MERGEKIT_YAML = Path(sys.executable).with_name("mergekit-yaml")


@pytest.fixture(scope="session", autouse=True)
def _mergekit_imported():
    """Import mergekit once, outside CliRunner, so its import-time chatter stays out of outputs."""
    import mergekit.config  # noqa: F401
    import mergekit.merge_methods.registry  # noqa: F401


def load_tensors(folder: Path) -> dict[str, np.ndarray]:
    """Every tensor of every .safetensors file in ``folder``, as float64 numpy."""
    from safetensors.numpy import load_file

    out = {}
    for file in sorted(Path(folder).glob("*.safetensors")):
        out.update({k: v.astype(np.float64) for k, v in load_file(file).items()})
    return out


def fused(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The transformers-4 layout ``save_pretrained`` writes (``block_sparse_moe.experts.N.w1``)
    in the fused transformers-5 layout mergekit writes: ``mlp.experts.gate_up_proj [E, 2I, H]``
    (w1 then w3 per expert), ``mlp.experts.down_proj [E, H, I]``, router ``mlp.gate``."""
    out, experts = {}, {}
    for name, value in tensors.items():
        if ".block_sparse_moe.experts." in name:
            prefix, rest = name.split(".block_sparse_moe.experts.")
            index, proj = rest.split(".")[:2]
            experts.setdefault(prefix, {}).setdefault(int(index), {})[proj] = value
        else:
            out[name.replace(".block_sparse_moe.gate.", ".mlp.gate.")] = value
    for prefix, by_index in experts.items():
        order = [by_index[i] for i in sorted(by_index)]
        out[f"{prefix}.mlp.experts.gate_up_proj"] = np.stack([np.concatenate([e["w1"], e["w3"]]) for e in order])
        out[f"{prefix}.mlp.experts.down_proj"] = np.stack([e["w2"] for e in order])
    return out


def run_mergekit_yaml(config: Path, out: Path) -> subprocess.CompletedProcess:
    """The real ``mergekit-yaml`` CLI, offline; fails the test with its output on error."""
    proc = subprocess.run([str(MERGEKIT_YAML), str(config), str(out), "--no-write-model-card"],
                          env=offline_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def make_lora_adapter(model_dir: Path, out: Path, seed: int) -> Path:
    """A random (non-zero B) peft LoRA adapter on attention and the fused experts."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir))
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                        target_parameters=["mlp.experts.gate_up_proj", "mlp.experts.down_proj"],
                        init_lora_weights=False)
    torch.manual_seed(seed)
    get_peft_model(model, config).save_pretrained(str(out))
    return out


def peft_merged(model_dir: Path, adapter: Path) -> dict[str, np.ndarray]:
    """peft's own merge_and_unload of ``adapter`` into ``model_dir`` (in-memory, fused names)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(str(model_dir))
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    return {k: v.detach().double().numpy() for k, v in merged.state_dict().items()}


@pytest.fixture(scope="session")
def lora_adapter(tiny_mixtral, tmp_path_factory) -> Path:
    return make_lora_adapter(tiny_mixtral, tmp_path_factory.mktemp("lora") / "adapter", seed=3)
