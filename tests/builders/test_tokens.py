import json

import pytest
from mistral_common.protocol.instruct.messages import AssistantMessage, UserMessage
from mistral_common.protocol.instruct.request import InstructRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from dada_plugin.errors import TemplateError
from dataset_builders.load import load
from dataset_builders.pipeline import build
from dataset_builders.settings import BuildSettings
from dataset_builders.tokens import MISTRAL_COMMON, load_tokenizer


def reference_ids(mt, turns):
    messages = []
    for q, a in turns:
        messages += [UserMessage(content=q), AssistantMessage(content=a)]
    return mt.instruct_tokenizer.encode_instruct(InstructRequest(messages=messages)).tokens


def test_ids_equal_mistral_common_on_every_record(alpaca_path):
    mt = MistralTokenizer.v1()
    tok = load_tokenizer()
    records = load(alpaca_path).kept
    convs = [[(r.question, r.original_answer)] for r in records]
    ours = tok.encode_batch(convs)
    assert len(ours) == 99
    for conv, ids in zip(convs, ours):
        assert ids == reference_ids(mt, conv)
    # multi-turn: one BOS, EOS after each answer
    conv = [("Hi?", "Hello."), ("2+2?", "4")]
    assert tok.encode_batch([conv])[0] == reference_ids(mt, conv)


def test_built_n_tokens_match_reference(alpaca_path, tmp_path):
    mt = MistralTokenizer.v1()
    result = build(alpaca_path, tmp_path / "out", BuildSettings(backend="none", progress=False,
                                                                max_tokens=10_000))
    assert len(result.kept) == 99
    for rec in result.kept:
        assert rec.n_tokens == len(reference_ids(mt, [(rec.question, rec.answer)]))


def test_fast_counts_equal_full_encoding(alpaca_path):
    tok = load_tokenizer()
    records = load(alpaca_path).kept
    convs = [[(r.question, r.original_answer)] for r in records]
    convs += [[("code", "def f():\n    return  1\n\n\n  x  =  2")], [("a  b", "c   d")],
              [(" lead", "trail ")], [("q", "")], [("x", "  ")], [("1, 2", "3 4"), ("again?", " yes ")],
              [("Bars: \u2581 \u2582 \u2583", "a \u2581  b")], [("\u2581 1", "\u2581\u2581x")],
              [("tab\t and \u00a0nbsp", "new\n line \n\n  two")]]
    assert tok.count_batch(convs) == [len(ids) for ids in tok.encode_batch(convs)]


def test_hf_tokenizer_with_chat_template_matches_mistral_common(alpaca_path, tmp_path):
    """write_hf_tokenizer + CHAT_TEMPLATE, reloaded by AutoTokenizer, give mistral-common's ids
    on every fixture record but one (runs of spaces in code tokenise differently in HF)."""
    from dataset_builders.tokens import HFChatTokenizer, write_hf_tokenizer

    hf = HFChatTokenizer(str(write_hf_tokenizer(tmp_path / "tok")))
    records = load(alpaca_path).kept
    convs = [[(r.question, r.original_answer)] for r in records]
    ours, theirs = hf.encode_batch(convs), load_tokenizer().encode_batch(convs)
    differ = [r.index for r, a, b in zip(records, ours, theirs) if a != b]
    assert differ == [17]
    assert ours[0][:4] == [1, 733, 16289, 28793]


def test_hf_tokenizer_with_another_chat_template_is_refused(tmp_path):
    """A template that lays conversations out in no format dada knows would count tokens of text
    that is never compiled: one clear error naming the formats dada knows."""
    import pytest
    from transformers import AutoTokenizer

    from dada_plugin.errors import InputError
    from dataset_builders.tokens import HFChatTokenizer, write_hf_tokenizer

    path = write_hf_tokenizer(tmp_path / "tok")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    tok.chat_template = "{% for m in messages %}{{ m['role'].upper() }}: {{ m['content'] }}\n{% endfor %}"
    tok.save_pretrained(str(path))
    with pytest.raises(InputError, match=r"tok: the tokenizer's chat template is not one of dada's formats "
                                         r"\(chatml, gemma3, llama3, mistral-tekken, mistral-v1, mistral-v3, mistral-v7\) \(it renders 'USER: Who are you\?"):
        HFChatTokenizer(str(path))
    with pytest.raises(InputError, match=r"is not the chatml format"):
        HFChatTokenizer(str(write_hf_tokenizer(tmp_path / "mixtral")), chat_format="chatml")

@pytest.mark.parametrize("spec", sorted(MISTRAL_COMMON))
def test_later_mistral_tokenizers_equal_mistral_commons_encoders(spec, alpaca_path):
    """mistral-common:v3 / :v7 / :tekken give exactly the ids of mistral-common's own instruct
    encoder of that file on every fixture record, multi-turn and (v7) with a system prompt; the
    format renders mistral-common's text (SentencePiece shows spaces as "▁")."""
    from importlib.resources import files

    from mistral_common.protocol.instruct.messages import SystemMessage

    tok = load_tokenizer(spec)
    mt = MistralTokenizer.from_file(str(files("mistral_common") / "data" / MISTRAL_COMMON[spec][0]))
    convs = [[(r.question, r.original_answer)] for r in load(alpaca_path).kept]
    convs += [[("Hi?", "Hello."), ("2+2?", "4")], [("code", "def f():\n    return  1")]]
    systems = [None] * len(convs)
    if tok.format.system is not None:
        convs, systems = convs + [[("Who?", "Me.")]], systems + ["Answer like a toddler."]
    ours = tok.encode_batch(convs, systems)
    assert tok.count_batch(convs, systems) == [len(ids) for ids in ours]
    for conv, system, ids in zip(convs, systems, ours):
        messages = [SystemMessage(content=system)] if system else []
        for q, a in conv:
            messages += [UserMessage(content=q), AssistantMessage(content=a)]
        ref = mt.instruct_tokenizer.encode_instruct(InstructRequest(messages=messages))
        assert ids == ref.tokens
        if "<0x" not in ref.text:  # byte pieces (a newline) are shown as <0x0A>
            assert tok.format.render(conv, system=system) == ref.text.replace("\u2581", " ")
    if tok.format.system is None:
        with pytest.raises(TemplateError, match=f"the {tok.format.name} format has no system role"):
            tok.encode_batch([[("q", "a")]], ["sys"])


def test_build_with_a_later_mistral_tokenizer(alpaca_path, tmp_path):
    from click.testing import CliRunner

    from dada_plugin.cli import dada

    out = tmp_path / "out"
    result = CliRunner().invoke(dada, ["build", str(alpaca_path), "-o", str(out), "--backend", "none",
                                       "--tokenizer", "mistral-common:tekken", "--no-progress"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "dada.jsonl").read_text().splitlines()]
    assert rows and {r["chat_format"] for r in rows} == {"mistral-tekken"}
    tok = load_tokenizer("mistral-common:tekken")
    assert [r["n_tokens"] for r in rows] == tok.count_batch([[(r["question"], r["answer"])] for r in rows])
    assert rows[0]["text"] == f"<s>[INST]{rows[0]['question']}[/INST]{rows[0]['answer']}</s>"
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["tokenizer"], stats["chat_format"]) == ("mistral-common:tekken", "mistral-tekken")


def test_labels_train_an_answer_token_that_starts_at_the_templates_space(tmp_path):
    """SentencePiece's "▁Four" spans the template's space before the answer: it is trained."""
    from dataset_builders.tokens import HFChatTokenizer, write_hf_tokenizer

    tok = HFChatTokenizer(str(write_hf_tokenizer(tmp_path / "tok")))
    ids, labels = tok.encode_labelled([("What is 2+2?", "Four is the answer.")])
    pieces = tok._tok.convert_ids_to_tokens(ids)
    trained = [p for p, label in zip(pieces, labels) if label != -100]
    assert trained[0] == "\u2581Four" and trained[-1] == "</s>" and "[" not in "".join(trained)
