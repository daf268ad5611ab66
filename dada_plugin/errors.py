"""Typed errors. Library code raises these; only ``dada_plugin.cli`` turns them into messages."""

from __future__ import annotations


def validation_lines(exc) -> list[str]:
    """One readable line per field of a pydantic ValidationError: ``field.path: message``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        lines.append(f"{loc}: {msg}")
    return lines


class DadaError(Exception):
    """Base of every error dada raises on purpose."""


class InputError(DadaError):
    """Bad user input: names the file and, where known, the record index or line number."""

    def __init__(self, path, message: str, *, record: int | None = None, line: int | None = None):
        self.path = str(path)
        self.record = record
        self.line = line
        where = self.path
        if record is not None:
            where += f", record {record}"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {message}")


class ConfigError(DadaError):
    """A YAML/CLI configuration that fails validation; one readable line per problem."""

    def __init__(self, problems: list[str] | str, source: str | None = None):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(self.problems) if len(self.problems) == 1
                         else head + "invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems))


class BackendError(DadaError):
    """A rewrite/generation backend that cannot be used (bad URL, unknown model, dead server)."""


class ToolError(DadaError):
    """A tool dada runs (llama.cpp's converter, axolotl, mergekit) that failed: its exit status
    or signal and its last lines."""


class ResultError(DadaError):
    """A run that finished without a result worth reporting as success (nothing kept, too many
    requests failed, a model with no samples); what it did produce is on disk."""


class TemplateError(DadaError):
    """Text that is not a Mixtral-Instruct sequence."""


class StepError(DadaError):
    """A step of a multi-step run (demo, recipe) that failed; names the step and its log."""

    def __init__(self, step: str, message: str, log: str | None = None):
        self.step = step
        self.log = log
        tail = f" (log: {log})" if log else ""
        super().__init__(f"step '{step}' failed: {message}{tail}")
