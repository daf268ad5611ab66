"""The merged model's README.md, in the layout mergekit and the community use: front matter
(base_model, tags), the method, the models, the mergekit YAML and, when known, the axolotl YAML
that trained the adapter. Secrets (API keys, tokens, passwords) are redacted from both YAMLs."""

from __future__ import annotations

import re

from dada_plugin.mergekit.config import referenced_models
from dada_plugin.mergekit.models import paths

TAGS = ("mergekit", "merge", "axolotl", "dada")

# Keys whose values are secrets, and secret-looking values anywhere (hf_..., sk-..., ghp_...,
# "Bearer ...", "password=...", "--token VALUE").
_SECRET_KEY = re.compile(r"(api[_-]?key|apikey|secret|passw(or)?d|passphrase|credential|token|"
                         r"authori[sz]ation|private[_-]?key|cookie|(^|[_-])key$)", re.IGNORECASE)
# tokenizer settings, not secrets
_NOT_SECRET = re.compile(r"^(pad|bos|eos|unk|sep|cls|mask)_token(_id)?$|^(additional_)?special_tokens$|"
                         r"^(max|min|num)_\w*tokens?$|^\w*tokens?_(len|length|count|ids?)$|^tokeni[sz]er",
                         re.IGNORECASE)
_KEY_LINE = re.compile(r"^(\s*(?:-\s+)?)([\w.-]+)(\s*:[ \t]*)(\S.*)$")
_SECRET_VALUE = re.compile(r"\b(hf_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{16,}|"
                           r"xox[abpr]-[A-Za-z0-9-]{10,})\b")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_INLINE = re.compile(r"(?i)((?:--?|\b)[\w-]*(?:passw(?:or)?d|passphrase|secret|api[_-]?key|token|"
                     r"private[_-]?key)[\w-]*)(\s*=\s*|\s+(?=\S*\d)(?=\S{8,}))(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)")
_SECRET_FLAG = re.compile(r"(?i)^--?[\w-]*(passw(or)?d|passphrase|secret|api[_-]?key|token|private[_-]?key)$")
_HARMLESS = {"null", "~", "''", '""', "true", "false"}
REDACTED = "<redacted>"


_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def secret_key(key) -> bool:
    """A mapping key whose value is a secret (``hf_token``, ``*_api_token``, ``private_key``,
    ``Authorization``), not a tokenizer setting (``pad_token``, ``max_tokens``)."""
    return isinstance(key, str) and bool(_SECRET_KEY.search(key)) and not _NOT_SECRET.search(key)


def _inline(m: re.Match) -> str:
    name = m.group(1).lstrip("-")
    return m.group(0) if _NOT_SECRET.search(name) else f"{m.group(1)}{m.group(2)}{REDACTED}"


def _redact_value(value: str) -> str:
    value = _URL_CREDENTIALS.sub(f"{REDACTED}@", value)
    value = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", value)
    value = _INLINE.sub(_inline, value)
    return _SECRET_VALUE.sub(REDACTED, value)


def _redact_lines(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        m = _KEY_LINE.match(line)
        if m and secret_key(m.group(2)) and m.group(4).strip().lower() not in _HARMLESS:
            line = f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}"
        lines.append(_redact_value(line))
    return "\n".join(lines)


def _secrets(obj, found: set) -> set:
    """The string values of secret keys anywhere in ``obj`` (an alias repeats them elsewhere)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if secret_key(k) and isinstance(v, str) and v:
                found.add(v)
            _secrets(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _secrets(v, found)
    return found


def _scrub(obj, secrets: frozenset = frozenset()):
    """The parsed YAML with every secret replaced (keys named like secrets, their values
    wherever else they appear, URL credentials, secret-looking tokens, the value after a
    ``--token``-like flag), at any depth and in any YAML style."""
    if isinstance(obj, dict):
        return {k: REDACTED if secret_key(k) and v not in (None, True, False, "") else _scrub(v, secrets)
                for k, v in obj.items()}
    if isinstance(obj, list):
        out = []
        for i, v in enumerate(obj):
            flag = i > 0 and isinstance(obj[i - 1], str) and _SECRET_FLAG.match(obj[i - 1])
            out.append(REDACTED if flag and isinstance(v, str) else _scrub(v, secrets))
        return out
    if isinstance(obj, str):
        return REDACTED if obj in secrets else _redact_value(obj)
    return obj


def redact(text: str) -> str:
    """``text`` with the values of secret keys, URL credentials and secret-looking tokens
    replaced. The layout (comments included) is kept where a line-by-line pass provably
    removes every secret; otherwise the scrubbed YAML is written out afresh."""
    import yaml

    lined = _redact_lines(text)
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return lined  # not YAML (a fragment): the line pass is all there is
    clean = _scrub(data, frozenset(_secrets(data, set())))
    try:
        if yaml.safe_load(lined) == clean:
            return lined
    except (yaml.YAMLError, RecursionError):
        pass
    return yaml.safe_dump(clean, sort_keys=False)


def _method_md(name: str) -> str:
    try:
        from mergekit.merge_methods.registry import get

        spec = get(name).spec
    except Exception:  # noqa: BLE001 - an unknown method still gets a card
        return name
    pretty = spec.pretty_name or spec.name
    return f"[{pretty}]({spec.reference_url})" if spec.reference_url else pretty


def model_card(cfg: dict, config_yaml: str, name: str, axolotl_yaml: str | None = None) -> str:
    """README.md text for a model merged from ``cfg`` (whose YAML text is ``config_yaml``)."""
    import yaml


    refs = referenced_models(cfg)
    bases = list(dict.fromkeys(paths(r)[0] for r in refs))
    front = yaml.safe_dump({"base_model": bases, "library_name": "transformers", "tags": list(TAGS)},
                           sort_keys=False).strip()
    base = cfg.get("base_model")
    base_text = f", with {paths(base)[0]} as the base (t = 0)" if base else ""
    listed = []
    for r in refs:
        if base and r == str(base):
            continue
        model, lora = paths(r)
        adapter = f" with the LoRA adapter {lora} folded in" if lora else ""
        listed.append(f"* {model}{adapter}")
    out = [
        f"---\n{front}\n---\n# {name}\n",
        "This is a merge of pre-trained language models created with "
        "[mergekit](https://github.com/arcee-ai/mergekit) by `dada merge` (the DADA recipe).\n",
        "## Merge Details\n### Merge Method\n",
        f"This model was merged using the {_method_md(cfg.get('merge_method', '?'))} merge method"
        f"{base_text}.\n",
        "### Models Merged\n\nThe following models were included in the merge:",
        "\n".join(listed or ["* (the base model only)"]) + "\n",
        "### Configuration\n\nThe following YAML configuration was used to produce this model:\n",
        f"```yaml\n{redact(config_yaml).strip()}\n```\n",
    ]
    if axolotl_yaml:
        out += ["### Training\n\nThe LoRA adapter was trained with "
                "[axolotl](https://github.com/axolotl-ai-cloud/axolotl) using this configuration:\n",
                f"```yaml\n{redact(axolotl_yaml).strip()}\n```\n"]
    return "\n".join(out)
