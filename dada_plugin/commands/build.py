"""``dada build`` and ``dada decompile``."""

from __future__ import annotations

import click

BACKEND_NAMES = ["heuristic", "openai", "transformers", "none"]
# what --retry-rejected may name (dataset_builders.pipeline.RETRYABLE; not imported here to keep
# `dada --help` fast)
RETRYABLE = ["truncated", "content_filter", "too_large", "echo", "empty_answer", "refusal", "template_marker"]


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
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False),
              help="Output folder: dada.jsonl, rejected.jsonl, stats.json, README.md, cache/.")
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default="heuristic", show_default=True,
              help="Rewriter. 'openai': any OpenAI-compatible server; 'transformers': a local "
                   "model path; 'heuristic': offline rule-based simplifier (a demo/test stand-in, "
                   "NOT a substitute for an LLM); 'none': keep the original answers.")
@click.option("--base-url", "base_urls", multiple=True, metavar="URL",
              help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1. Repeat to spread "
                   "requests over several servers.")
@click.option("--model", help="Model name on the server (openai) or local model path (transformers).")
@click.option("--concurrency", type=int, default=8, show_default=True,
              help="Requests in flight per endpoint.")
@click.option("--temperature", type=float, default=0.7, show_default=True, help="Sampling temperature.")
@click.option("--top-p", type=float, default=1.0, show_default=True, help="Nucleus sampling top_p.")
@click.option("--max-new-tokens", type=int, default=256, show_default=True,
              help="Most tokens per rewrite; a rewrite cut at this length is rejected as truncated.")
@click.option("--seed", type=int, default=None, help="Sampling seed sent with every request.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Request timeout, seconds.")
@click.option("--max-retries", type=int, default=6, show_default=True,
              help="Retries on 429, 5xx, timeouts and dropped connections (exponential backoff).")
@click.option("--max-consecutive-failures", type=click.IntRange(min=1), default=5, show_default=True,
              help="Circuit breaker: stop when every endpoint has failed this many requests in a "
                   "row (connection refused, 5xx, malformed or empty replies) and answered nothing "
                   "for a while.")
@click.option("--max-reply-bytes", type=click.IntRange(min=1024), default=512 * 1024, show_default=True,
              help="A longer reply is rejected as too_large (and not read further).")
@click.option("--max-failed-share", type=click.FloatRange(0, 1), default=0.2, show_default=True,
              help="Exit non-zero when more than this share of the rewrites failed at the backend.")
@click.option("--retry-rejected", "retry_rejected", multiple=True, metavar="REASON",
              type=click.Choice(RETRYABLE),
              help="Ask again for stored rewrites that were rejected for REASON (repeatable); the "
                   "old answers stay in the store's history.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Environment variable holding the API key (may be unset or dummy).")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="Generation batch size (transformers backend).")
@click.option("--style-prompt", type=click.Path(dir_okay=False),
              help="File with the rewrite prompt template; must contain {question} and {answer}.")
@click.option("--tokenizer", default=None,
              help="HF tokenizer path with a chat template; default: the real Mixtral tokenizer "
                   "(mistral-common tokenizer.model.v1, offline).")
@click.option("--max-tokens", type=click.IntRange(min=8), default=128, show_default=True,
              help="Drop sequences longer than this many tokens (BOS and EOS included).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N loaded records (trial runs).")
@click.option("--source-name", default="Stanford Alpaca (tatsu-lab/stanford_alpaca)", show_default=True,
              help="Name of the source data, for the dataset card.")
@click.option("--license", "source_license", default="cc-by-nc-4.0", show_default=True,
              help="Licence of the source data, carried into the dataset card.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar while rewriting.")
@click.option("--force", is_flag=True,
              help="Write into a non-empty folder that is not an earlier build folder (files dada "
                   "did not write are still never replaced).")
def build(input_path, outdir, backend, base_urls, model, concurrency, temperature, top_p,
          max_new_tokens, seed, timeout, max_retries, max_consecutive_failures, max_reply_bytes,
          max_failed_share,
          retry_rejected, api_key_env, batch_size, style_prompt,
          tokenizer, max_tokens, limit, source_name, source_license, progress, force):
    """Alpaca JSON/JSONL -> DADA sequences: load, rewrite, clean, compile, filter.

    Rerunning the same command after a crash redoes only the missing rewrites (they are kept
    in OUTDIR/cache/).

    Example usage:

    \b
        dada build alpaca_data.json -o out
        dada build alpaca_data.json -o out --backend openai --model mixtral \\
            --base-url http://127.0.0.1:8000/v1 --base-url http://127.0.0.1:8001/v1
    """
    from dataset_builders.pipeline import BuildOptions, build as run_build
    from dataset_builders.rewrite import BackendOptions

    backend_options = BackendOptions(
        model=model, base_urls=list(base_urls), api_key_env=api_key_env, concurrency=concurrency,
        temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed,
        timeout=timeout, max_retries=max_retries, batch_size=batch_size,
        max_consecutive_failures=max_consecutive_failures, max_reply_bytes=max_reply_bytes)
    options = BuildOptions(backend=backend, backend_options=backend_options,
                           style_prompt=style_prompt, tokenizer=tokenizer, max_tokens=max_tokens,
                           limit=limit, progress=progress, source_name=source_name,
                           source_license=source_license, force=force,
                           retry_rejected=tuple(retry_rejected), max_failed_share=max_failed_share)
    result = run_build(input_path, outdir, options)
    click.echo(_summary(result.stats))
    click.echo(f"wrote {result.outdir}/dada.jsonl ({result.stats['kept']} sequences)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output JSONL: {input, output} per sequence, {turns: [...]} for multi-turn.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists (never the input).")
def decompile(file, output, force):
    """Raw Mixtral-Instruct sequences -> pairs.

    FILE is JSONL with a 'text' field (e.g. dada.jsonl) or plain text, one sequence per line.

    Example usage:

    \b
        dada decompile out/dada.jsonl -o pairs.jsonl
    """
    from dataset_builders.decompile import decompile_file

    n = decompile_file(file, output, force=force)
    click.echo(f"wrote {output} ({n} pairs)")
