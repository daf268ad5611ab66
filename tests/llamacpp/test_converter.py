"""dada gguf equals llama.cpp's own converter (convert_hf_to_gguf.py from the llama.cpp tree in
the llama-cpp-python 0.3.36 source distribution, fetched by `make venv`) on the same merged
folder: the same tensor names, shapes, types and bytes (Q8_0 included). The converter runs with
the gguf-py vendored beside it (the published gguf 0.19.0 lacks a class it now uses), dada with
the published package. Their metadata differ only in descriptive general.* keys the converter
takes from the model card (base models, tags, size label), the name's capital letter, and the
``dada.writer`` key dada adds (so a rerun may replace its own file)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dada_plugin.llamacpp.export import GgufSettings, export_gguf

gguf = pytest.importorskip("gguf")
CONVERTER = Path(sys.prefix) / "llama-cpp-src" / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp"
DESCRIPTIVE = {"general.base_model.count", "general.size_label", "general.tags", "general.type", "general.name"}


@pytest.fixture(scope="module")
def chatml_mixtral(tmp_path_factory):
    """A tiny Mixtral with ChatML's two added tokens (ids 32000-32001) and a head_dim."""
    import json

    from dada_plugin.tiny import build_tiny_mixtral

    folder = build_tiny_mixtral(tmp_path_factory.mktemp("chatml") / "model", seed=2, vocab_size=32002, head_dim=16)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.setdefault("added_tokens_decoder", {}).update({
        "32000": {"content": "<|im_start|>", "special": True}, "32001": {"content": "<|im_end|>", "special": True}})
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


CASES = [("q8_0", "plain"), ("f16", "plain"), ("f32", "plain"), ("q8_0", "chatml")]
# llama.cpp's converter run as its command line would, once per case, in one process (it imports
# torch once instead of once per file)
RUN_CONVERTER = """
import runpy, sys
script, jobs = sys.argv[1], sys.argv[2:]
for i in range(0, len(jobs), 3):
    model, outfile, outtype = jobs[i:i + 3]
    sys.argv = [script, model, "--outfile", outfile, "--outtype", outtype]
    runpy.run_path(script, run_name="__main__")
"""


@pytest.fixture(scope="module")
def references(tiny_mixtral, chatml_mixtral, tmp_path_factory) -> dict:
    """llama.cpp's own GGUF of every case, keyed like CASES."""
    if not (CONVERTER / "convert_hf_to_gguf.py").is_file():
        pytest.skip(f"llama.cpp's converter not at {CONVERTER} (make venv fetches it)")
    root = tmp_path_factory.mktemp("converter")
    models = {"plain": tiny_mixtral, "chatml": chatml_mixtral}
    refs = {case: root / f"ref-{case[1]}-{case[0]}.gguf" for case in CASES}
    jobs = [str(x) for (outtype, which), ref in refs.items() for x in (models[which], ref, outtype)]
    proc = subprocess.run([sys.executable, "-c", RUN_CONVERTER, str(CONVERTER / "convert_hf_to_gguf.py"), *jobs],
                          capture_output=True, text=True, cwd=CONVERTER, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return refs


@pytest.mark.parametrize("outtype,which", CASES)
def test_same_file_as_llama_cpps_converter(tiny_mixtral, chatml_mixtral, references, tmp_path, outtype, which):
    model = tiny_mixtral if which == "plain" else chatml_mixtral
    ref = references[outtype, which]
    ours = export_gguf(model, tmp_path / "ours.gguf", GgufSettings(outtype=outtype))
    a, b = gguf.GGUFReader(str(ref)), gguf.GGUFReader(str(ours))
    ta, tb = {t.name: t for t in a.tensors}, {t.name: t for t in b.tensors}
    assert sorted(ta) == sorted(tb)
    for name in ta:
        assert [int(x) for x in ta[name].shape] == [int(x) for x in tb[name].shape], name
        assert ta[name].tensor_type == tb[name].tensor_type, name
        assert np.array_equal(np.array(ta[name].data), np.array(tb[name].data)), name
    theirs = {k for k in a.fields if not k.startswith(("GGUF.", "general.base_model."))} - DESCRIPTIVE
    mine = set(b.fields) - {k for k in b.fields if k.startswith("GGUF.")} - DESCRIPTIVE - {"dada.writer"}
    assert theirs == mine
    for key in theirs:
        assert a.fields[key].contents() == b.fields[key].contents(), key
