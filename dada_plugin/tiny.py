"""Tiny random Mixtrals with the real Mixtral tokenizer: stand-ins for 46.7B models in tests and
the demo (hidden 64, 2 layers, 4 experts, vocab 32,000; fixed seed, so the same every time)."""

from __future__ import annotations

from pathlib import Path

from dataset_builders.tokens import write_hf_tokenizer

TINY_ARCH = dict(
    vocab_size=32000,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    num_local_experts=4,
    num_experts_per_tok=2,
    max_position_embeddings=512,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
)


# the last token of a Mixtral-Instruct prompt ("[/INST]" ends in "]") and the word the
# answering stand-in says before it stops
PROMPT_END, ANSWER_WORD, EOS = 28793, "▁Yes", 2


def build_tiny_mixtral(directory: str | Path, seed: int = 0, answers: bool = False, **overrides) -> Path:
    """Write a random tiny Mixtral (safetensors, float32) plus the real tokenizer to ``directory``.

    ``answers``: a stand-in whose replies end (a random model never says EOS, so every reply
    would be cut at the length limit): the hidden state's first dimension is made +10 after
    every token but the prompt's last, and the output layer reads only that dimension for two
    tokens, so after the prompt it says "Yes", then EOS."""
    import torch
    from transformers import MixtralConfig, MixtralForCausalLM

    directory = Path(directory)
    arch = {**TINY_ARCH, **overrides}
    config = MixtralConfig(bos_token_id=1, eos_token_id=EOS, **arch)
    torch.manual_seed(seed)
    model = MixtralForCausalLM(config).to(torch.float32)
    if answers:
        from sentencepiece import SentencePieceProcessor

        from dataset_builders.tokens import v1_model_path

        word = SentencePieceProcessor(model_file=str(v1_model_path())).piece_to_id(ANSWER_WORD)
        with torch.no_grad():
            embed, head = model.model.embed_tokens.weight, model.lm_head.weight
            embed[:, 0] = 10.0
            embed[PROMPT_END, 0] = -10.0
            head[:, 0] = 0.0
            head[EOS, 0] = 5.0
            head[word, 0] = -5.0
    model.save_pretrained(str(directory), safe_serialization=True)
    write_hf_tokenizer(directory)
    return directory


DENSE = {  # family -> (transformers config and model class, extra config keys, chat format)
    "llama": ("LlamaConfig", "LlamaForCausalLM", {}, "llama3"),
    "mistral": ("MistralConfig", "MistralForCausalLM", {}, "mistral-v1"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {}, "chatml"),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", {"head_dim": 16}, "chatml"),
    "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM",
               {"head_dim": 16, "sliding_window": 64, "query_pre_attn_scalar": 16}, "gemma3"),
}


def build_tiny_dense(directory: str | Path, family: str = "llama", seed: int = 0,
                     tokenizer: str | Path | None = None) -> Path:
    """A tiny random dense model of ``family`` (llama, mistral, qwen2, qwen3, gemma3: the
    Mixtral stand-in's sizes, no experts) with ``tokenizer`` (a Hugging Face tokenizer folder,
    copied in; default the real Mistral v1 tokenizer): the stand-in of current dense models for
    training, merges and GGUF. The vocabulary is the tokenizer's size."""
    import shutil

    import torch
    import transformers
    from transformers import AutoTokenizer

    config_class, model_class, extra, _ = DENSE[family]
    directory = Path(directory)
    if tokenizer is None:
        write_hf_tokenizer(directory)
    else:
        shutil.copytree(tokenizer, directory, dirs_exist_ok=True)
    tok = AutoTokenizer.from_pretrained(str(directory))
    arch = {k: v for k, v in TINY_ARCH.items() if k not in ("num_local_experts", "num_experts_per_tok")}
    arch.update(extra, vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    config = getattr(transformers, config_class)(**arch)
    getattr(transformers, model_class)(config).to(torch.float32).save_pretrained(str(directory),
                                                                                 safe_serialization=True)
    return directory


BPE_SPECIALS = {  # per format: special tokens, BOS, EOS
    "chatml": (["<|endoftext|>", "<|im_start|>", "<|im_end|>"], None, "<|im_end|>"),
    "llama3": (["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
               "<|begin_of_text|>", "<|eot_id|>"),
    "gemma3": (["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"], "<bos>", "<eos>"),
}


def build_bpe_tokenizer(folder: str | Path, name: str, texts: list[str], template: bool = True) -> Path:
    """A byte-level BPE tokenizer trained on ``texts`` with the special tokens of the format
    ``name`` (chatml, llama3, gemma3), as Qwen and Llama 3 ship theirs, saved as a Hugging Face
    folder with that format's chat template (``template`` False: none, as a base model's) -- a
    stand-in where no real tokenizer of the family is at hand offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from dataset_builders.formats import get_format

    specials, bos, eos = BPE_SPECIALS[name]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos,
                                 additional_special_tokens=[t for t in specials if t not in (bos, eos)])
    if template:
        hf.chat_template = get_format(name).jinja()
    hf.save_pretrained(str(folder))
    return Path(folder)
