"""Conversation formats: each built-in layout renders exactly what axolotl's own chat template
of that name renders (Jinja, through transformers' template engine), on every fixture record,
with and without a system prompt; decompiling gives the conversation back."""

from __future__ import annotations

import pytest

from dada_plugin.errors import ConfigError, TemplateError
from dada_plugin.tiny import build_bpe_tokenizer as bpe_tokenizer
from dataset_builders.formats import FORMATS, get_format
from dataset_builders.load import load

BOS = {"chatml": "", "llama3": "<|begin_of_text|>", "gemma3": "<bos>", "mistral-v1": "<s>", "mistral-v3": "<s>",
       "mistral-v7": "<s>", "mistral-tekken": "<s>"}
EOS = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>", "gemma3": "<eos>", "mistral-v1": "</s>", "mistral-v3": "</s>",
       "mistral-v7": "</s>", "mistral-tekken": "</s>"}
SYSTEM = "You answer like a toddler."


def axolotl_render(name: str, messages: list[dict]) -> str:
    """What axolotl's chat_template ``name`` renders for ``messages`` (a format axolotl has no
    template of: the template dada gives axolotl, the format's own Jinja)."""
    pytest.importorskip("axolotl")
    from axolotl.utils.chat_templates import get_chat_template
    from transformers.utils.chat_template_utils import render_jinja_template

    fmt = get_format(name)
    template = get_chat_template(fmt.axolotl) if fmt.axolotl else fmt.jinja()
    rendered, _ = render_jinja_template([messages], chat_template=template,
                                        bos_token=BOS[name], eos_token=EOS[name])
    return rendered[0]


@pytest.fixture(scope="module")
def conversations(alpaca_path) -> list[list[tuple[str, str]]]:
    kept = load(alpaca_path).kept
    pairs = [(r.question, r.original_answer) for r in kept]
    return [[pair] for pair in pairs[:40]] + [pairs[40:42], pairs[42:45]]  # multi-turn too


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_renders_what_axolotls_template_renders(name, conversations):
    from transformers.utils.chat_template_utils import render_jinja_template

    fmt = get_format(name)
    for turns in conversations:
        messages = [m for q, a in turns for m in ({"role": "user", "content": q},
                                                  {"role": "assistant", "content": a})]
        expected = axolotl_render(name, messages)
        if name == "mistral-v1":  # dada's sequence has no space before [INST] (the same v1 ids:
            # tests/axolotl/test_strategy.py compares them on every fixture record)
            expected = expected.replace("<s> [INST]", "<s>[INST]", 1).replace("</s> [INST]", "</s>[INST]")
        assert fmt.render(turns) == expected
        if name != "mistral-v1":  # the template dada writes into a tokenizer that has none
            ours, _ = render_jinja_template([messages], chat_template=fmt.jinja(), bos_token=BOS[name],
                                            eos_token=EOS[name])
            assert ours[0] == expected
        assert fmt.decompile(fmt.render(turns)) == (None, [(fmt._content(q), fmt._content(a)) for q, a in turns])
        if fmt.system is not None or fmt.system_in_user:
            with_system = [{"role": "system", "content": SYSTEM}, *messages]
            expected = axolotl_render(name, with_system)
            assert fmt.render(turns, system=SYSTEM) == expected
            ours, _ = render_jinja_template([with_system], chat_template=fmt.jinja(), bos_token=BOS[name])
            assert ours[0] == expected


def test_system_prompts_round_trip_where_the_format_has_a_system_role():
    turns = [("Why is the sky blue?", "Air bounces blue light.")]
    for name in ("chatml", "llama3"):
        fmt = get_format(name)
        assert fmt.decompile(fmt.render(turns, system=SYSTEM)) == (SYSTEM, turns)
    with pytest.raises(TemplateError, match="the mistral-v1 format has no system role"):
        get_format("mistral-v1").render(turns, system=SYSTEM)
    gemma = get_format("gemma3")  # the system prompt opens the first user turn
    assert gemma.decompile(gemma.render(turns, system=SYSTEM)) == (None, [(f"{SYSTEM}\n\n{turns[0][0]}", turns[0][1])])


def test_markers_bad_text_and_unknown_formats():
    chatml = get_format("chatml")
    assert chatml.find_marker("say <|im_end|> now") == "<|im_end|>" and chatml.find_marker("plain") is None
    with pytest.raises(TemplateError, match="not a chatml conversation"):
        chatml.decompile("<|im_start|>user\nhi")
    with pytest.raises(ConfigError, match="unknown chat format 'vicuna'; choose one of: chatml, gemma3, llama3, "
                                          "mistral-tekken, mistral-v1, mistral-v3, mistral-v7"):
        get_format("vicuna")
    assert get_format(None).name == "mistral-v1"


@pytest.mark.parametrize("name", ["chatml", "llama3", "gemma3"])
def test_build_in_the_format_of_the_tokenizers_template(name, alpaca_path, alpaca_records, tmp_path):
    """`dada build --tokenizer DIR` renders each row in the format the tokenizer's template
    lays out and counts the ids its template gives (what training sees); a tokenizer without a
    template takes --chat-format, and the two builds agree."""
    import json

    from click.testing import CliRunner
    from transformers import AutoTokenizer

    from dada_plugin.cli import dada

    texts = [r["instruction"] + " " + r["output"] for r in alpaca_records]
    folders = {"template": bpe_tokenizer(tmp_path / "tok", name, texts),
               "base": bpe_tokenizer(tmp_path / "base", name, texts, template=False)}
    outs = {}
    for kind, folder in folders.items():
        out = tmp_path / f"out-{kind}"
        extra = ["--chat-format", name] if kind == "base" else []
        result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                           "--tokenizer", str(folder), "--no-progress", "--limit", "30", *extra])
        assert result.exit_code == 0, result.output
        outs[kind] = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
        assert json.loads((out / "stats.json").read_text())["chat_format"] == name
        assert f"**{name}** conversation format" in (out / "README.md").read_text()
    rows = outs["template"]
    assert rows and [{k: v for k, v in r.items()} for r in outs["base"]] == rows
    fmt, tok = get_format(name), AutoTokenizer.from_pretrained(str(folders["template"]))
    marker = fmt.markers[-1]  # the end of a turn
    for row in rows:
        assert row["chat_format"] == name and row["text"] == fmt.render([(row["question"], row["answer"])])
        ids = tok.apply_chat_template(row["messages"], tokenize=True, return_dict=False)
        assert row["n_tokens"] == len(ids) and tok.convert_tokens_to_ids(marker) in ids  # markers: one token each
    pairs = tmp_path / "pairs.jsonl"  # decompiled in the format each row names
    result = CliRunner().invoke(dada, ["decompile", str(tmp_path / "out-template" / "dada.jsonl"), "-o", str(pairs),
                                       "--fields", "question-answer"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in pairs.read_text().splitlines()] == [
        {"question": fmt._content(r["question"]), "answer": fmt._content(r["answer"])} for r in rows]
    missing = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(tmp_path / "x"), "--backend", "none",
                                        "--tokenizer", str(folders["base"]), "--no-progress"])
    assert missing.exit_code == 1 and "has no chat template (a base model?): name its conversation format " \
                                      "with --chat-format" in missing.output


def test_system_prompts_are_kept_where_the_format_has_a_system_role(alpaca_records, tmp_path):
    """Chat rows with a system prompt: kept (and rendered, counted, trained) in chatml, rejected
    as system_prompt in mistral-v1, which has no system role."""
    import json

    from click.testing import CliRunner
    from transformers import AutoTokenizer

    from dada_plugin.cli import dada

    src = tmp_path / "chats.jsonl"
    src.write_text("".join(json.dumps({"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": r["instruction"]},
        {"role": "assistant", "content": r["output"]}]}) + "\n" for r in alpaca_records[:10]))
    tok = bpe_tokenizer(tmp_path / "tok", "chatml", [r["output"] for r in alpaca_records])
    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(src), "-o", str(out), "--backend", "none",
                                       "--tokenizer", str(tok), "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
    hf = AutoTokenizer.from_pretrained(str(tok))
    for row in rows:
        assert row["system"] == "Be brief." and row["messages"][0] == {"role": "system", "content": "Be brief."}
        assert row["text"].startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")
        assert row["n_tokens"] == len(hf.apply_chat_template(row["messages"], tokenize=True, return_dict=False))
    plain = CliRunner().invoke(dada, ["build", str(src), "-o", str(tmp_path / "v1"), "--backend", "none",
                                      "--no-progress"])
    assert plain.exit_code == 1 and "system_prompt 10" in plain.output
