"""The layers: the shared base (errors, atomic io, output ownership, the settings base, the
offline environment, shared text knowledge) imports nothing above it; ``dataset_builders``
imports only the base (never the evaluation or an integration); nothing imports the CLI's
commands but the CLI. Read from the sources' import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = ("dada_plugin.errors", "dada_plugin.io", "dada_plugin.outputs", "dada_plugin.settings",
        "dada_plugin.offline", "dada_plugin.text")
FORMATS = ("dataset_builders.formats", "dataset_builders.template")  # the format registry: base + itself


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("dada_plugin", "dataset_builders")}


MODULES = {module_name(p): p for pkg in ("dada_plugin", "dataset_builders") for p in (ROOT / pkg).rglob("*.py")}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def allowed(importer: str, imported: str) -> bool:
    if within(importer, BASE):
        return within(imported, BASE) or imported == "dada_plugin"
    if within(importer, FORMATS):
        return within(imported, BASE + FORMATS) or imported in ("dada_plugin", "dataset_builders")
    if importer.startswith("dataset_builders"):
        return within(imported, BASE) or imported.startswith("dataset_builders") or imported == "dada_plugin"
    if within(imported, ("dada_plugin.commands", "dada_plugin.cli")):
        return within(importer, ("dada_plugin.commands", "dada_plugin.cli"))
    return True


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_imports_only_its_layer_and_below(name):
    wrong = sorted(i for i in imports(MODULES[name]) if not allowed(name, i))
    assert wrong == [], f"{name} imports {wrong}"


def test_the_check_sees_a_violation():
    assert not allowed("dataset_builders.style", "dada_plugin.eval.metrics")
    assert not allowed("dada_plugin.io", "dataset_builders.tokens")
    assert not allowed("dataset_builders.formats", "dataset_builders.tokens")
    assert allowed("dada_plugin.eval.metrics", "dada_plugin.text.lists")
