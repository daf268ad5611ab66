"""Peak memory of ``dada gguf`` on a synthetic multi-shard Mixtral of a few hundred MB: the
growth of peak RSS during the conversion (a fresh process, after its imports) is printed next to
the model's size and its largest tensor. Tensors are converted one at a time, so the growth
should stay near the largest tensor (x a small factor for the conversion's copies), not the
model."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ARCH = dict(vocab_size=32000, hidden_size=512, intermediate_size=1024, num_hidden_layers=6,
            num_attention_heads=8, num_key_value_heads=4, num_local_experts=8, num_experts_per_tok=2,
            max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=1e6)

CHILD = """
import sys, threading, time
from dada_plugin.llamacpp.export import GgufSettings, export_gguf
import gguf, safetensors, sentencepiece, torch  # imports first: the baseline

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

base, peak, done = rss(), [0], []
def watch():
    while not done:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
t = threading.Thread(target=watch); t.start()
export_gguf(sys.argv[1], sys.argv[2], GgufSettings(outtype=sys.argv[3]))
done.append(1); t.join()
print(base, peak[0])
"""


def make_model(folder: Path) -> tuple[int, int]:
    import torch
    from safetensors.torch import save_file

    from dataset_builders.tokens import write_hf_tokenizer

    folder.mkdir()
    h, i, e = ARCH["hidden_size"], ARCH["intermediate_size"], ARCH["num_local_experts"]
    kv = h // ARCH["num_attention_heads"] * ARCH["num_key_value_heads"]
    (folder / "config.json").write_text(json.dumps({"architectures": ["MixtralForCausalLM"],
                                                     "model_type": "mixtral", **ARCH}))
    write_hf_tokenizer(folder)
    g = torch.Generator().manual_seed(0)
    total, largest, weight_map = 0, 0, {}
    shards = [{"model.embed_tokens.weight": torch.randn(ARCH["vocab_size"], h, generator=g),
               "model.norm.weight": torch.ones(h), "lm_head.weight": torch.randn(ARCH["vocab_size"], h, generator=g)}]
    for layer in range(ARCH["num_hidden_layers"]):
        p = f"model.layers.{layer}"
        t = {f"{p}.self_attn.q_proj.weight": torch.randn(h, h, generator=g),
             f"{p}.self_attn.k_proj.weight": torch.randn(kv, h, generator=g),
             f"{p}.self_attn.v_proj.weight": torch.randn(kv, h, generator=g),
             f"{p}.self_attn.o_proj.weight": torch.randn(h, h, generator=g),
             f"{p}.input_layernorm.weight": torch.ones(h), f"{p}.post_attention_layernorm.weight": torch.ones(h),
             f"{p}.block_sparse_moe.gate.weight": torch.randn(e, h, generator=g)}
        for x in range(e):
            t[f"{p}.block_sparse_moe.experts.{x}.w1.weight"] = torch.randn(i, h, generator=g)
            t[f"{p}.block_sparse_moe.experts.{x}.w2.weight"] = torch.randn(h, i, generator=g)
            t[f"{p}.block_sparse_moe.experts.{x}.w3.weight"] = torch.randn(i, h, generator=g)
        shards.append(t)
    for n, tensors in enumerate(shards, 1):
        name = f"model-{n:05d}-of-{len(shards):05d}.safetensors"
        save_file(tensors, str(folder / name), metadata={"format": "pt"})
        for k, v in tensors.items():
            weight_map[k] = name
            total += v.numel() * 4
            largest = max(largest, v.numel() * 4)
    largest = max(largest, e * i * h * 4)  # a layer's stacked experts, the largest output tensor
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return total, largest


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        total, largest = make_model(folder)
        for outtype in ("f32", "q8_0"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(Path(tmp) / f"m-{outtype}.gguf"),
                                  outtype], check=True, capture_output=True, text=True).stdout.split()
            base, peak = (int(x) * 1024 for x in out[-2:])
            grown = peak - base
            print(f"{outtype}: model {total / 1e6:.0f} MB in {len(list(folder.glob('*.safetensors')))} shards, "
                  f"largest tensor {largest / 1e6:.0f} MB; peak RSS growth {grown / 1e6:.0f} MB = "
                  f"{grown / total:.2f}x the model, {grown / largest:.1f}x the largest tensor")


if __name__ == "__main__":
    main()
