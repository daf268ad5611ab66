"""The merged model's README.md, in the layout mergekit and the community use: front matter
(huggingface_hub's ModelCardData: Hub-id base_model, license, datasets, tags), a title, the
method, the models, the mergekit YAML and, when known, the axolotl YAML that trained the
adapter, and the licences. Secrets (API keys, tokens, passwords) are redacted from both YAMLs."""

from __future__ import annotations

import re
from pathlib import Path

from dada_plugin.errors import ConfigError
from dada_plugin.io import loads_yaml
from dada_plugin.mergekit.config import referenced_models
from dada_plugin.mergekit.models import path_kind, paths, read_config

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
        data = loads_yaml(text, "the config")
    except ConfigError:
        return lined  # not YAML (a fragment): the line pass is all there is
    clean = _scrub(data, frozenset(_secrets(data, set())))
    try:
        if loads_yaml(lined, "the config") == clean:
            return lined
    except ConfigError:
        pass
    return yaml.safe_dump(clean, sort_keys=False)


def _method(name: str) -> tuple[str, str]:
    """(pretty name, markdown link) of a merge method."""
    try:
        from mergekit.merge_methods.registry import get

        spec = get(name).spec
    except Exception:  # noqa: BLE001 - an unknown method still gets a card
        return name, name
    pretty = spec.pretty_name or spec.name
    return pretty, f"[{pretty}]({spec.reference_url})" if spec.reference_url else pretty


_CACHE_PATH = re.compile(r"models--([\w.-]+)--([\w.-]+)/snapshots/[^/]+/?$")


def hub_id(path: str, given: dict[str, str] | None = None) -> str | None:
    """The Hub id a model stands for: a hub id as it is; a local folder the id the user gave
    (``--base-model-id PATH=ID``), else the one its ``config.json`` records (``_name_or_path``,
    when it is an id and not a path), else the one its Hub cache path spells
    (``models--ORG--NAME/snapshots/REV``); None when nothing says (left out of the card)."""
    if path_kind(path) == "hub":
        return path
    for key, value in (given or {}).items():
        if key == path or Path(key).expanduser().resolve() == Path(path).expanduser().resolve():
            return value
    try:
        recorded = read_config(path).get("_name_or_path")
    except ValueError:
        recorded = None
    if isinstance(recorded, str) and "/" in recorded and path_kind(recorded) == "hub":
        return recorded
    found = _CACHE_PATH.search(str(Path(path).expanduser().resolve()))
    return f"{found.group(1)}/{found.group(2)}" if found else None


def _card_data(folder: str | Path | None):
    """The front matter of a local folder's README.md (a model or a dada build folder), or None."""
    from huggingface_hub import RepoCard

    file = Path(folder) / "README.md" if folder else None
    if file is None or not file.is_file():
        return None
    try:
        return RepoCard.load(file).data
    except Exception:  # noqa: BLE001 - a card without (valid) front matter says nothing
        return None


def training_data(axolotl_yaml: str | None) -> tuple[str | None, list[str], str | None]:
    """(licence, Hub dataset ids, name) of the data the adapter was trained on, read from the
    dada build card beside the axolotl config's first dataset; (None, [], None) when unknown."""
    try:
        cfg = loads_yaml(axolotl_yaml, "the axolotl config") if axolotl_yaml else None
        data_path = cfg["datasets"][0]["path"]
    except (ConfigError, TypeError, KeyError, IndexError):
        return None, [], None
    data = _card_data(Path(str(data_path)).parent)
    if data is None:
        return None, [], None
    sources = data.get("source_datasets") or []
    ids = [s for s in (sources if isinstance(sources, list) else [sources])
           if isinstance(s, str) and "/" in s and path_kind(s) == "hub"]
    return data.get("license"), ids, data.get("pretty_name")


def model_card(cfg: dict, config_yaml: str, axolotl_yaml: str | None = None, *,
               base_model_ids: dict[str, str] | None = None, license: str | None = None,
               dataset_ids: tuple[str, ...] = (), title: str | None = None) -> str:
    """README.md text for a model merged from ``cfg`` (whose YAML text is ``config_yaml``),
    built with huggingface_hub's ``ModelCard``/``ModelCardData``: ``base_model`` holds Hub ids
    only (:func:`hub_id`), ``license`` is ``license`` or the training data's, ``datasets`` the
    given ids and the training data's sources; the merged models' licences are named in the text."""
    from huggingface_hub import ModelCard, ModelCardData

    refs = referenced_models(cfg)
    models = list(dict.fromkeys(paths(r)[0] for r in refs))
    ids = {m: hub_id(m, base_model_ids) for m in models}
    data_license, data_ids, data_name = training_data(axolotl_yaml)
    license = license or data_license
    datasets = list(dict.fromkeys([*dataset_ids, *data_ids]))
    pretty, method_md = _method(cfg.get("merge_method", "?"))
    data = ModelCardData(base_model=[i for i in ids.values() if i] or None,
                         base_model_relation="merge" if len(models) > 1 else None,
                         datasets=datasets or None, library_name="transformers", license=license,
                         tags=list(TAGS))

    def name(model: str) -> str:
        return (ids[model] or model).rstrip("/").rsplit("/", 1)[-1]

    base = cfg.get("base_model")
    base_text = f", with {ids[paths(base)[0]] or paths(base)[0]} as the base (t = 0)" if base else ""
    listed, parts = [], []
    for r in refs:
        model, lora = paths(r)
        parts.append(name(model) + (f" + {Path(lora).name}" if lora else ""))
        if base and r == str(base):
            continue
        adapter = f" with the LoRA adapter {lora} folded in" if lora else ""
        listed.append(f"* {ids[model] or model}{adapter}")
    title = title or f"{' × '.join(dict.fromkeys(parts))} ({pretty} merge)"
    licences = []
    for model in models:
        given = (_card_data(model) or {}).get("license") if path_kind(model) != "hub" else None
        licences.append(f"* {ids[model] or model}: " + (f"{given} (from its card)" if given
                        else "not known here; see the model's own page"))
    if license:
        why = (" (given with --license)" if license != data_license
               else f" (the licence of its training data{f', {data_name}' if data_name else ''})")
        licence_text = f"This merge is released under **{license}**{why}."
    else:
        licence_text = "No licence was given for this merge (`dada merge --license`)."
    body = [
        f"# {title}\n",
        "This is a merge of pre-trained language models created with "
        "[mergekit](https://github.com/arcee-ai/mergekit) by `dada merge` (the DADA recipe).\n",
        "## Merge Details\n### Merge Method\n",
        f"This model was merged using the {method_md} merge method{base_text}.\n",
        "### Models Merged\n\nThe following models were included in the merge:",
        "\n".join(listed or ["* (the base model only)"]) + "\n",
        "### Configuration\n\nThe following YAML configuration was used to produce this model:\n",
        f"```yaml\n{redact(config_yaml).strip()}\n```\n",
    ]
    if axolotl_yaml:
        body += ["### Training\n\nThe LoRA adapter was trained with "
                 "[axolotl](https://github.com/axolotl-ai-cloud/axolotl) using this configuration:\n",
                 f"```yaml\n{redact(axolotl_yaml).strip()}\n```\n"]
    body += ["## Licence\n", licence_text + " The merged models carry their own licences:\n",
             "\n".join(licences) + "\n"]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n" + "\n".join(body)))
