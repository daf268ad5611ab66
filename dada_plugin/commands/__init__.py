"""The subcommands of ``dada`` (one module per stage) and what they share."""

from __future__ import annotations

from typing import Callable

import click


def verdicts(files, check: Callable[[str], tuple[list[str], list[str]]]) -> int:
    """``--check FILE...``: a verdict per file (``check`` gives its problems and skipped checks),
    one line per problem; returns how many files failed."""
    failed = 0
    for path in files:
        problems, skipped = check(path)
        note = f" ({len(skipped)} check(s) skipped)" if skipped else ""
        if problems:
            failed += 1
            click.echo(f"{path}: {len(problems)} problem(s){note}")
        else:
            click.echo(f"{path}: ok{note}")
        for line in problems:
            click.echo(f"  - {line}")
        for line in skipped:
            click.echo(f"  skipped: {line}")
    return failed
