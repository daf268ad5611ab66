"""The dataset card (README.md) written next to dada.jsonl, so OUTDIR can be shared as is."""

from __future__ import annotations

import re
from pathlib import Path

from dataset_builders.formats import get_format

LICENSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")  # a Hub licence id: apache-2.0, cc-by-nc-4.0


def check_license(value: str) -> None:
    """A licence id the card can quote (a newline would inject keys into its front matter)."""
    if not LICENSE_ID.match(value):
        raise ValueError(f"{value!r} is not a licence id such as cc-by-nc-4.0 or apache-2.0 "
                         "(letters, digits, '.', '-', '+')")


def check_name(value: str) -> None:
    if not value.strip() or any(ch < " " or ch == "\x7f" for ch in value):
        raise ValueError(f"{value!r}: one line of text, please")


def check_card_text(field: str, value: str) -> None:
    """The check of a card field given on the command line: a licence id, or one line of text."""
    (check_license if field.endswith("license") else check_name)(value)


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


# the Hub id of a source named by its default name (the card's source_datasets)
KNOWN_SOURCES = {"Stanford Alpaca (tatsu-lab/stanford_alpaca)": "tatsu-lab/alpaca"}


def card_data(stats: dict, options):
    """The card's metadata as huggingface_hub's own DatasetCardData: the kept rows are the
    default config's train split (so ``load_dataset(OUTDIR)`` reads dada.jsonl only), the
    rejected ones a config of their own."""
    from huggingface_hub import DatasetCardData

    source = KNOWN_SOURCES.get(options.source_name)
    return DatasetCardData(
        license=options.source_license, language=["en"], task_categories=["text-generation"],
        tags=["dada", "alpaca", stats.get("chat_format", "mistral-v1"), "axolotl"], size_categories=[size_category(stats["kept"])],
        pretty_name=f"DADA: toddler-diction rewrites of {options.source_name}",
        source_datasets=[source] if source else None,
        configs=[_config("default", "dada.jsonl", "the kept rows", stats),
                 _config("rejected", "rejected.jsonl", "the rejected records, with reasons", stats)])


def _config(name: str, file: str, what: str, stats: dict) -> dict:
    """A card config; its description names the file's sha256, which puts the content into the
    key ``datasets`` caches a local folder under (it hashes the card, not the files)."""
    digest = stats.get("sha256", {}).get(file)
    return {"config_name": name, "data_files": [{"split": "train", "path": file}],
            **({"description": f"{what} ({file}, sha256 {digest})"} if digest else {})}


def dataset_card(stats: dict, template: str, options) -> str:
    rows = "\n".join(
        f"| {name} | {s['in']} | {s['out']} | "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(s['rejected'].items())) or '-'} |"
        for name, s in stats["stages"].items())
    lengths = stats["token_lengths"]
    cuts = stats["stages"].get("clean", {})
    cut_lines = "".join(
        f"- {e['kind'].replace('_', ' ')}: "
        + (f"~~{e['cut']}~~ {e['answer']}" if e["kind"] in ("praise", "opener") else f"{e['answer']} ~~{e['cut']}~~")
        .replace("\n", " ")[:300] + "\n"
        for e in cuts.get("cut_examples", []))
    cleaning = ("\n## Cleaning\n\nCommentary the rewriter added around answers was cut ("
                + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(cuts["cuts"].items()))
                + "); a few examples, the cut struck through:\n\n" + cut_lines) if cuts.get("cuts") else ""
    style = stats.get("style") or {}
    shift = ("\n## Diction\n\nOriginal answers vs the kept rewrites (medians, prose only; "
             "`grades.png` where drawn):\n\n| | original | rewrite |\n|---|---|---|\n"
             + "".join(f"| {label} | {style[key]['before']} | {style[key]['after']} |\n"
                       for key, label in (("grade", "reading grade (Flesch-Kincaid)"),
                                          ("word_length", "word length (letters)"),
                                          ("sentence_length", "sentence length (words)"),
                                          ("slop_per_1k_words", "slop words and phrases / 1k words (all)")))
             if style else "")
    parquet = ("- `dada.parquet`: the same rows as `dada.jsonl`, as Parquet (written with `datasets`).\n"
               if "dada.parquet" in stats["outputs"] else "")
    fmt = stats.get("chat_format", "mistral-v1")
    example = get_format(fmt).render([("question", "answer")]).replace("\n", "\\n")
    return f"""---
{card_data(stats, options).to_yaml()}
---

# DADA dataset (Dialogue Augmentation via Dictional Atrophy)

Alpaca-style instructions whose answers were rewritten in toddler-like diction (short, simple,
no eloquence) while kept correct, compiled into raw sequences in the **{fmt}** conversation format
(`{example}`) of at most {stats["max_tokens"]} tokens.

- Source: {options.source_name} (`{Path(stats["input"]).name}`), licence **{options.source_license}**;
  this derived set carries the same licence.
- Rewrite backend: {stats["backend"]}
- Tokenizer for lengths: {stats["tokenizer"]}
- Records: {stats["records_read"]} read, **{stats["kept"]} kept**, {stats["rejected"]} rejected
  (see `rejected.jsonl`). Token lengths of compiled sequences: min {lengths.get("min")},
  mean {lengths.get("mean")}, max {lengths.get("max")}.

| stage | in | out | rejected (reason: count) |
|---|---|---|---|
{rows}

{cleaning}{shift}
## Files
- `dada.jsonl` (`load_dataset(THIS_FOLDER)`, split `train`): `id`, `question`, `answer`
  (rewritten), `original_answer`, `text` (raw sequence), `n_tokens`, `messages` (user/assistant,
  for axolotl's `chat_template` type).
{parquet}- `rejected.jsonl` (config `rejected`): `id`, `stage`, `reason` for every dropped record.
- `grades.png`: reading grades of the original answers and the kept rewrites (with matplotlib).
- `review.md`: a random sample of kept pairs (original and rewrite) and the first rejects of
  every reason, to read before training.
- `stats.json`: counts per stage, token-length histogram, rewrite throughput.

## Rewrite prompt

~~~~text
{template}
~~~~

Built with `dada build` (the dada plugin for axolotl and mergekit).
"""
