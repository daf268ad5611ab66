"""``dada run``."""

from __future__ import annotations

import click

from dada_plugin.run import run_recipe


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command("run", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("recipe", type=click.Path(dir_okay=False))
@click.option("--only", help="Comma-separated steps to run (build, axolotl-config, train, merge, gguf, "
                             "eval-dataset, eval-models).")
@click.option("--skip", help="Comma-separated steps to leave out.")
@click.option("--force", is_flag=True, help="Redo finished steps instead of skipping them.")
@click.option("--dry-run", is_flag=True, help="Validate the recipe and print the steps' commands only.")
def run(recipe, only, skip, force, dry_run):
    """The whole DADA chain for real models from one recipe file.

    Steps: build -> axolotl-config -> train -> merge -> gguf -> eval-dataset -> eval-models; each is
    skipped on a rerun once finished (delete WORKDIR/.steps/NAME.json or pass --force to redo).

    Example usage:

    \b
        dada run examples/seed-recipe.yml --dry-run
        dada run examples/seed-recipe.yml --only build,axolotl-config
    """

    run_recipe(recipe, only=_names(only), skip=_names(skip), force=force, dry_run=dry_run,
               echo=click.echo)
