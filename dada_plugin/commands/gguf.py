"""``dada gguf``: a merged model folder -> a GGUF file for llama.cpp (Q8_0 by default)."""

from __future__ import annotations

import click

from dada_plugin.llamacpp.export import GgufSettings, export_gguf
from dada_plugin.settings import from_options, options


@click.command("gguf", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The GGUF file to write (e.g. merged-Q8_0.gguf).")
@options(GgufSettings)
@click.option("--progress/--no-progress", default=True, help="Print each tensor (or the converter's progress) as it is written.")
def gguf(model_dir, output, progress, **values):
    """Convert a model folder to one GGUF file that llama.cpp, koboldcpp and llama-cpp-python
    run (Q8_0 by default, as the seed's model was tested). Mixtral (either expert layout),
    Mistral and Llama with a SentencePiece vocabulary: dada's own writer (the vocabulary with
    scores and types, BOS/EOS, the chat template; one tensor in memory at a time). Any other
    architecture or vocabulary (Qwen2/3, Gemma 3, byte-level BPE): llama.cpp's own
    convert_hf_to_gguf.py, the copy `make` fetches (or --llama-cpp DIR). Offline either way.

    Example usage:

    \b
        dada gguf merged/ -o merged-Q8_0.gguf
        dada gguf merged/ -o merged-f16.gguf --type f16
        dada gguf gemma-merged/ -o gemma-Q8_0.gguf --llama-cpp ~/src/llama.cpp
        llama-server -m merged-Q8_0.gguf        # or koboldcpp, or: python -m llama_cpp.server --model ...
    """
    echo = (lambda line: click.echo(line, err=True)) if progress else None
    path = export_gguf(model_dir, output, from_options(GgufSettings, values), progress=echo)
    click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
