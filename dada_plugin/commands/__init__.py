"""The subcommands of ``dada`` (one module per stage) and what they share."""

from __future__ import annotations

from typing import Callable

import click


def verdicts(files, check: Callable[[str], tuple[list[str], ...]]) -> int:
    """``--check FILE...``: a verdict per file (``check`` gives its problems, skipped checks and,
    optionally, warnings or notes), one line per problem; returns how many files failed."""
    failed = 0
    for path in files:
        problems, skipped, *rest = check(path)
        warnings, notes = (list(rest) + [[], []])[:2]
        counts = [f"{len(skipped)} check(s) skipped"] * bool(skipped) + [f"{len(warnings)} warning(s)"] * bool(warnings)
        note = f" ({', '.join(counts)})" if counts else ""
        if problems:
            failed += 1
            click.echo(f"{path}: {len(problems)} problem(s){note}")
        else:
            click.echo(f"{path}: ok{note}")
        for line in problems:
            click.echo(f"  - {line}")
        for line in skipped:
            click.echo(f"  skipped: {line}")
        for line in warnings:
            click.echo(f"  warning: {line}")
        for line in notes:
            click.echo(f"  note: {line}")
    return failed
