"""``dada eval``: a side-by-side slop/diversity report with bootstrap confidence intervals."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("eval", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dataset", type=click.Path(dir_okay=False, path_type=Path),
              help="A dada.jsonl: its original and rewritten answers are compared "
                   "(any input `dada slop` reads works; each column is one side).")
@click.option("--model", "models", multiple=True, metavar="NAME=URL_OR_PATH",
              help="A model to generate from: NAME=URL (OpenAI-compatible, served model id NAME), "
                   "NAME=MODEL_ID@URL, or NAME=PATH (local transformers model). Repeat per model.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Report folder: report.md, report.json, charts/<metric>.png "
                   "(model mode also: generations.jsonl and cache/).")
@click.option("--prompts", "prompts_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Prompts for model mode: a JSON list or one prompt per line. Default: the first "
                   "12 slop-score benchmark prompts plus the first 12 bundled Alpaca questions.")
@click.option("--temperature", type=float, default=0.7, show_default=True,
              help="Sampling temperature, the same for every model.")
@click.option("--max-new-tokens", type=int, default=512, show_default=True,
              help="Most tokens per generation, the same for every model.")
@click.option("--gen-seed", type=int, default=None, help="Sampling seed sent with every request.")
@click.option("--concurrency", type=int, default=8, show_default=True,
              help="Requests in flight per endpoint.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Environment variable holding the API key for URL models.")
@click.option("--bootstrap", "n_resamples", type=click.IntRange(min=0), default=200,
              show_default=True, help="Bootstrap resamples of the prompts for the intervals.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap resampling.")
@click.option("--legacy-normalization", is_flag=True,
              help="Normalise list entries as slop-score's published leaderboard did.")
@click.option("--no-charts", is_flag=True, help="Skip the PNG charts (no matplotlib needed).")
@click.option("--progress/--no-progress", default=True, help="Progress bars while generating.")
@click.option("--force", is_flag=True,
              help="Write into a non-empty folder that is not an earlier report folder (its own "
                   "report files are still never replaced).")
def eval_(dataset, models, output, prompts_file, temperature, max_new_tokens, gen_seed,
          concurrency, api_key_env, n_resamples, seed, legacy_normalization, no_charts, progress,
          force):
    """Compare slop and diversity metrics side by side, with bootstrap confidence intervals.

    Dataset mode (--dataset): did the rewrite simplify and de-cliché? Compares the
    original_answer and answer columns of a dada.jsonl.

    Model mode (--model, several): generate answers from each model on one prompt set with the
    same sampling settings (cached and resumable), then compare them.

    Example usage:

    \b
        dada eval --dataset out/dada.jsonl -o out/report
        dada eval -o eval-out --model base=http://127.0.0.1:8000/v1 \\
            --model dada=http://127.0.0.1:8001/v1 --model merge=/models/verdict-dada
    """
    from dada_plugin.eval.report import claim_folder, write_report

    if bool(dataset) == bool(models):
        raise click.UsageError("give either --dataset or at least one --model")
    if dataset:
        from dada_plugin.eval.sources import read_source

        columns = read_source(dataset).columns
        claim_folder(output, force, {"dataset": dataset})
        paths = write_report(columns, output, legacy=legacy_normalization, n_resamples=n_resamples,
                             seed=seed, charts=not no_charts, title=f"Slop and diversity: {dataset.name}")
    else:
        from dada_plugin.eval.generate import compare_models, default_prompts, read_prompts
        from dataset_builders.rewrite import BackendOptions

        prompts = read_prompts(prompts_file) if prompts_file else default_prompts()
        claim_folder(output, force, {"prompts": prompts_file})
        sampling = BackendOptions(temperature=temperature, max_new_tokens=max_new_tokens,
                                  seed=gen_seed, concurrency=concurrency, api_key_env=api_key_env)
        result = compare_models(list(models), prompts, output, sampling, progress=progress,
                                legacy=legacy_normalization, n_resamples=n_resamples, seed=seed,
                                charts=not no_charts)
        for name, n in result["failures"].items():
            if n:
                click.echo(f"warning: {name}: {n} of {len(prompts)} generations failed", err=True)
        paths = result["paths"]
    click.echo(f"wrote {paths['markdown']}")
    click.echo(f"wrote {paths['json']}")
    if "charts" in paths:
        click.echo(f"wrote {len(paths['charts'])} charts in {output / 'charts'}")
