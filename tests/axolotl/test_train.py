"""Real ``axolotl train`` on the tiny Mixtral (CPU, offline, telemetry off): LoRA and QLoRA, three
steps each on the dada.jsonl rows of the Alpaca fixture, through the shipped tiny config."""

from __future__ import annotations

import math

import pytest

from dada_plugin.axolotl.train import axolotl_train

TINY_TRAINABLE = 39_936  # r=8 on attention + fused experts of the tiny model (dada plan agrees)


@pytest.mark.slow
@pytest.mark.parametrize("adapter", ["lora", "qlora"])
def test_axolotl_train_tiny(adapter, tiny_mixtral, tiny_mixtral_b, dada_jsonl, tiny_config, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from dada_plugin.axolotl.plan import make_plan
    from dada_plugin.io import load_yaml
    from dada_plugin.mergekit.lint import check_merge_config

    extra = {"adapter": "qlora", "load_in_4bit": True} if adapter == "qlora" else {}
    config = tiny_config(tmp_path, model=tiny_mixtral, merge_base=tiny_mixtral_b, data=dada_jsonl, **extra)
    result = axolotl_train(config, tmp_path / "train.log")
    output = result["output"]
    out = tmp_path / "out"

    losses = result["losses"]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses), losses
    print(f"{adapter}: losses {losses}")  # shown with -s / -rP
    trainable = result["trainable_params"]
    assert trainable == TINY_TRAINABLE == make_plan(str(tiny_mixtral), lora_r=8,
                                                    targets="attention+experts").trainable_params
    assert "dada: all 99 rows fit 1024 tokens" in output
    if adapter == "qlora":
        import json

        quant = json.loads((out / "config.json").read_text())["quantization_config"]
        assert quant["_load_in_4bit"] and quant["bnb_4bit_quant_type"] == "nf4"

    # the adapter loads with peft and changes the model (lora_B starts at zero)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_mixtral))
    model = PeftModel.from_pretrained(base, str(out))
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)
    with torch.no_grad():
        logits = model(torch.tensor([[1, 733, 16289, 28793, 12014, 733, 28748, 16289, 28793]])).logits
    assert torch.isfinite(logits).all()

    # the plugin's SLERP recipe, next to the adapter, valid
    recipe = load_yaml(out / "slerp.yml")
    assert check_merge_config(recipe) == []
    assert recipe["base_model"] == str(tiny_mixtral_b)
    assert recipe["slices"][0]["sources"][1]["model"] == f"{tiny_mixtral}+{out}"
    assert recipe["dtype"] == "float32" and recipe["parameters"]["t"] == 0.5
