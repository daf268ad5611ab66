"""llama.cpp's own converter (``convert_hf_to_gguf.py``) for the models dada's writer does not
know (Qwen2/3, Gemma 3, ... and byte-level BPE vocabularies), run by ``dada gguf`` behind the
same interface: the llama.cpp tree ``make`` fetches (the llama-cpp-python source distribution's
``vendor/llama.cpp``, in the environment) or ``--llama-cpp DIR``; offline, never a download.

Two things dada adds, in the converter's own process (a small runner around it):

- its writer key (``dada.writer``, sealed afterwards as dada's own writer's files are), so a rerun
  may replace the file and nothing else's;
- a byte-level BPE tokenizer the converter's table of tokenizer hashes does not know (one trained
  with the ``tokenizers`` library, or re-saved by transformers) is named by the splitting its
  tokenizer.json declares, where llama.cpp has that splitting (GPT-2's, Qwen2's, Llama 3's
  pattern: :data:`PRE_TOKENIZERS`); any other is refused in one line.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from pathlib import Path
from typing import Callable

from dada_plugin.errors import ConfigError, InputError, ToolError
from dada_plugin.io import loads_json, read_text
from dada_plugin.offline import offline_env
from dada_plugin.tools import stream

SCRIPT = "convert_hf_to_gguf.py"
UNKNOWN_PRE = "BPE pre-tokenizer was not recognized"

# argv: tree, writer key, its blank value, fallback pre-tokenizer name ("" for none), converter args
RUNNER = r"""
import os, runpy, sys
tree, key, blank, pre, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
sys.path[:0] = [tree, os.path.join(tree, "gguf-py")]
from conversion import base

known_pre = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    try:
        return known_pre(self, tokenizer)
    except NotImplementedError:
        if not pre:
            raise
        print(f"dada: the tokenizer.json pre-tokenizer splits as llama.cpp's {pre!r}", flush=True)
        return pre
base.TextModel.get_vocab_base_pre = get_vocab_base_pre

metadata = base.ModelBase.prepare_metadata
def prepare_metadata(self, vocab_only):
    metadata(self, vocab_only=vocab_only)
    self.gguf_writer.add_string(key, blank)
base.ModelBase.prepare_metadata = prepare_metadata

sys.argv = [os.path.join(tree, "convert_hf_to_gguf.py"), *args]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def converter_tree(explicit: str | None = None) -> Path:
    """The llama.cpp source tree holding convert_hf_to_gguf.py: ``explicit``, else the one
    ``make`` unpacks into the environment; ConfigError saying how to get one."""
    if explicit:
        tree = Path(explicit)
        if not (tree / SCRIPT).is_file():
            raise ConfigError(f"--llama-cpp {explicit}: no {SCRIPT} there (give a llama.cpp source tree)")
        return tree
    found = sorted((Path(sys.prefix) / "llama-cpp-src").glob(f"llama_cpp_python-*/vendor/llama.cpp/{SCRIPT}"))
    if not found:
        raise ConfigError(f"llama.cpp's converter ({SCRIPT}) is not in this environment: `make venv` unpacks it, "
                          "or pass --llama-cpp DIR (a llama.cpp source tree)")
    return found[-1].parent


# llama.cpp's pre-tokenizer names by the splitting a tokenizer.json declares: a Split regex before a
# plain ByteLevel, or ByteLevel's own GPT-2 pattern (None)
PRE_TOKENIZERS = {
    None: "gpt-2",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+":
        "qwen2",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+":
        "llama-bpe",
}


def pre_tokenizer_name(folder: Path) -> str:
    """llama.cpp's name for the splitting of the folder's byte-level BPE tokenizer.json (GPT-2's,
    Qwen2's or Llama 3's pattern), or "" when it is none of those."""
    try:
        data = loads_json(read_text(folder / "tokenizer.json"))
    except (OSError, ValueError):
        return ""
    if not isinstance(data, dict) or (data.get("model") or {}).get("type") != "BPE":
        return ""
    pre = data.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers") or [] if pre.get("type") == "Sequence" else [pre]
    if steps and steps[-1].get("type") == "ByteLevel" and steps[-1].get("add_prefix_space") is False:
        # (a leading space added to the text is not what llama.cpp's splitting does)
        if len(steps) == 1 and steps[0].get("use_regex", True):
            return PRE_TOKENIZERS[None]
        split = steps[0] if len(steps) == 2 and not steps[-1].get("use_regex", True) else {}
        if split.get("type") == "Split" and split.get("behavior") == "Isolated" and not split.get("invert"):
            return PRE_TOKENIZERS.get((split.get("pattern") or {}).get("Regex"), "")
    return ""


def run_converter(folder: Path, outfile: Path, outtype: str, *, name: str | None, tree: str | None,
                  writer_key: str, blank: str, progress: Callable[[str], None] | None = None) -> None:
    """Convert ``folder`` to ``outfile`` with llama.cpp's converter; its progress goes to
    ``progress`` line by line; a failure raises with its last lines (an unknown pre-tokenizer
    as one line saying so)."""
    where = converter_tree(tree)
    args = [str(folder), "--outfile", str(outfile), "--outtype", outtype, "--no-lazy"]
    if name:
        args += ["--model-name", name]
    pre = pre_tokenizer_name(folder)
    env = {k: v for k, v in offline_env().items() if k != "NO_LOCAL_GGUF"}
    tail: deque[str] = deque(maxlen=40)
    pending = [""]

    def handle(text: str) -> None:
        *parts, pending[0] = re.split(r"[\r\n]", pending[0] + text)  # tqdm redraws with carriage returns
        for part in parts:
            if part.strip():
                tail.append(part)
                if progress:
                    progress(part)

    returncode = stream([sys.executable, "-c", RUNNER, str(where), writer_key, blank, pre, *args], handle, env=env)
    handle("\n")
    if returncode == 0:
        return
    if any(UNKNOWN_PRE in line for line in tail):
        raise InputError(folder / "tokenizer.json", f"llama.cpp's converter does not know this tokenizer's "
                         f"pre-tokenizer (\"{UNKNOWN_PRE}\"); add it with llama.cpp's "
                         "convert_hf_to_gguf_update.py, or give a tokenizer llama.cpp knows")
    from dada_plugin.llamacpp.serve import crash_message

    raise ToolError(crash_message(f"llama.cpp's converter ({where / SCRIPT}) on {folder}", returncode,
                                  list(tail)))
