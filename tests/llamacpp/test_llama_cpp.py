"""The real engine: llama.cpp (llama-cpp-python) loads the GGUF dada writes from a merged tiny
Mixtral; its logits match transformers' on 12 fixture prompts, 248 positions (f32: within 1e-3,
measured 2.1e-4 with llama.cpp's default f16 KV cache, every argmax equal; q8_0: the next-token
argmax agrees on >= 90 % of positions, measured 242/248, and the largest logit difference is
Q8_0's rounding, measured 0.059 on logits of scale ~0.8, bounded here by 0.1); and
llama.cpp tokenises ``<s>[INST] q [/INST]`` as mistral-common does on the fixture records."""

import numpy as np
import pytest
from mistral_common.protocol.instruct.messages import UserMessage
from mistral_common.protocol.instruct.request import InstructRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from dada_plugin.llamacpp.export import GgufSettings, export_gguf
from dataset_builders.load import load

llama_cpp = pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.llamacpp

PROMPTS = 12


@pytest.fixture(scope="module")
def prompts(alpaca_path) -> list[list[int]]:
    """mistral-common's ids of ``<s>[INST] q [/INST]`` for the first fixture questions."""
    mt = MistralTokenizer.v1()
    questions = [r.question for r in load(alpaca_path).kept[:PROMPTS]]
    return [mt.instruct_tokenizer.encode_instruct(InstructRequest(messages=[UserMessage(content=q)])).tokens
            for q in questions]


def llama(path):
    return llama_cpp.Llama(model_path=str(path), logits_all=True, n_ctx=512, verbose=False)


def hf_logits(model_dir, ids):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    with torch.no_grad():
        return [model(torch.tensor([x])).logits[0].numpy() for x in ids]


@pytest.mark.parametrize("outtype", ["f32", "q8_0"])
def test_llama_cpp_runs_the_file_like_transformers(tiny_mixtral, prompts, tmp_path, outtype):
    path = export_gguf(tiny_mixtral, tmp_path / f"m-{outtype}.gguf", GgufSettings(outtype=outtype))
    expected = hf_logits(tiny_mixtral, prompts)
    llm = llama(path)
    try:
        diffs, agree, total = [], 0, 0
        for ids, ref in zip(prompts, expected):
            llm.reset()
            llm.eval(ids)
            got = np.array(llm.scores[:len(ids)])
            diffs.append(float(np.abs(got - ref).max()))
            agree += int((got.argmax(-1) == ref.argmax(-1)).sum())
            total += len(ids)
    finally:
        llm.close()
    print(f"{outtype}: max |llama.cpp - transformers| = {max(diffs):.3g}, argmax agree {agree}/{total}")
    if outtype == "f32":
        assert max(diffs) < 1e-3 and agree == total
    else:
        assert max(diffs) < 0.1 and agree >= 0.9 * total


def test_llama_cpp_tokenises_as_mistral_common(tiny_mixtral, prompts, alpaca_path, tmp_path):
    path = export_gguf(tiny_mixtral, tmp_path / "m.gguf", GgufSettings(outtype="q8_0"))
    llm = llama(path)
    try:
        questions = [r.question for r in load(alpaca_path).kept[:PROMPTS]]
        for q, ids in zip(questions, prompts):
            assert llm.tokenize(f"[INST] {q} [/INST]".encode("utf-8"), add_bos=True, special=True) == ids
    finally:
        llm.close()
