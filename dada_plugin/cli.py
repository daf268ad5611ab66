"""The ``dada`` command: one click group, subcommands loaded lazily so ``dada --help`` stays fast.

Each subcommand lives in ``dada_plugin/commands/<name>.py``; it parses options, calls one library
function and reports. Library code raises typed errors (``dada_plugin.errors``); this module is
the only place that turns them (and pydantic ``ValidationError``) into messages and exit codes.
"""

from __future__ import annotations

import errno
import importlib

import click

from dada_plugin import __version__
from dada_plugin.errors import DadaError, validation_lines  # noqa: F401  (re-exported)
from dada_plugin.offline import set_offline

# name -> "module:attribute"; add a line here to add a subcommand.
COMMANDS: dict[str, str] = {
    "build": "dada_plugin.commands.build:build",
    "decompile": "dada_plugin.commands.build:decompile",
    "demo": "dada_plugin.commands.demo:demo",
    "run": "dada_plugin.commands.run:run",
    "slop": "dada_plugin.commands.slop:slop",
    "eval": "dada_plugin.commands.eval:eval_",
    "merge-config": "dada_plugin.commands.merge:merge_config",
    "merge": "dada_plugin.commands.merge:merge",
    "axolotl-config": "dada_plugin.commands.axolotl:axolotl_config",
    "plan": "dada_plugin.commands.axolotl:plan",
    "gguf": "dada_plugin.commands.gguf:gguf",
}

_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
                errno.EISDIR, errno.ENOTDIR}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class DadaGroup(click.Group):
    """A group that loads subcommands on demand and turns library errors into one message."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        from dada_plugin.outputs import release_locks

        try:
            return super().invoke(ctx)
        except DadaError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:  # a full disk or a read-only folder met while writing: one line
            if exc.errno not in _DISK_ERRORS:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from exc
        except Exception as exc:  # pydantic is imported lazily: match it by type name
            if type(exc).__name__ == "ValidationError" and hasattr(exc, "errors"):
                title = getattr(exc, "title", "configuration")
                if title.endswith("Settings"):  # BuildSettings -> build settings
                    title = f"{title[:-len('Settings')].lower()} settings"
                raise click.ClickException(
                    f"invalid {title}:\n" + "\n".join(f"  {line}" for line in validation_lines(exc))
                ) from exc
            raise
        finally:
            release_locks()  # the command is over: its output folders are free again


@click.group(cls=DadaGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="dada")
def dada():
    """DADA: Dialogue Augmentation via Dictional Atrophy.

    Rewrite an Alpaca set in toddler diction, compile it to Mixtral-Instruct sequences, train
    with axolotl, SLERP-merge with mergekit, and measure the clichés.

    Example usage:

    \b
        dada demo -o demo-out
        dada build alpaca_data.json -o out --backend openai --base-url http://127.0.0.1:8000/v1
    """


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # SIGTERM unwinds like Ctrl-C: temp files and folders are removed


# libraries whose import-time warnings are about GPU kernels dada's own process never uses
# (bitsandbytes' kernels-community lookup offline, torchao's pytree registrations)
QUIET_LOGGERS = ("bitsandbytes", "kernels", "torch.utils._pytree")


def main() -> None:
    import logging
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    set_offline()  # before any model library is imported: nothing is fetched from a hub
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    dada(prog_name="dada")


if __name__ == "__main__":
    main()
