"""``dada build`` and ``dada decompile``."""

from __future__ import annotations

import click

from dada_plugin.settings import from_options, options
from dataset_builders.decompile import ROW_FORMATS, decompile_file
from dataset_builders.pipeline import build as run_build
from dataset_builders.settings import BuildSettings


def _summary(stats: dict) -> str:
    lines = [f"{'stage':<9} {'in':>7} {'out':>7}  rejected", "-" * 48]
    for name, s in stats["stages"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s["rejected"].items())) or "-"
        lines.append(f"{name:<9} {s['in']:>7} {s['out']:>7}  {reasons}")
    t = stats["rewrite"]
    lines.append("-" * 48)
    lines.append(f"kept {stats['kept']} of {stats['records_read']} records; rewrites: "
                 f"{t['requested']} new, {t['cached']} from cache; {stats['elapsed_s']:.1f} s")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False),
              help="Output folder: dada.jsonl, rejected.jsonl, stats.json, README.md, cache/.")
@options(BuildSettings, first=("backend", "model", "base_urls", "concurrency"))
def build(input_path, outdir, **values):
    """Instruction set -> DADA sequences: load, rewrite, clean, compile, filter.

    INPUT: Alpaca JSON (a list) or JSONL, Parquet, or a folder written by datasets'
    save_to_disk; Alpaca columns (rename with --instruction-field/--input-field/--output-field)
    or chat rows (messages or ShareGPT conversations: the first user/assistant pair).

    Rerunning the same command after a crash redoes only the missing rewrites (they are kept
    in OUTDIR/cache/).

    Example usage:

    \b
        dada build alpaca_data.json -o out
        dada build train.parquet -o out --instruction-field prompt --input-field '' \\
            --output-field response
        dada build alpaca_data.json -o out --backend openai --model mixtral \\
            --base-url http://127.0.0.1:8000/v1 --base-url http://127.0.0.1:8001/v1
    """

    result = run_build(input_path, outdir, from_options(BuildSettings, values, input=input_path))
    click.echo(_summary(result.stats))
    click.echo(f"wrote {result.outdir}/dada.jsonl ({result.stats['kept']} sequences)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output JSONL: one row per sequence, {turns: [...]} for multi-turn.")
@click.option("--fields", type=click.Choice(list(ROW_FORMATS)), default="alpaca", show_default=True,
              help="Row shape: alpaca {instruction, input, output} (the whole user turn as the "
                   "instruction, input empty), or {question, answer}.")
@click.option("--chat-format", default=None, help="Conversation format of sequences whose row does not "
                                                  "name one (chat_format): mistral-v1 (default), chatml, "
                                                  "llama3, gemma3.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists (never the input).")
def decompile(file, output, fields, chat_format, force):
    """Raw sequences -> pairs.

    FILE is JSONL with a 'text' field (e.g. dada.jsonl, each row read in its chat_format) or plain
    text, one Mixtral-Instruct sequence per line.

    Example usage:

    \b
        dada decompile out/dada.jsonl -o pairs.jsonl
        dada decompile out/dada.jsonl -o qa.jsonl --fields question-answer
    """

    n = decompile_file(file, output, fields=fields, force=force, chat_format=chat_format)
    click.echo(f"wrote {output} ({n} pairs)")
