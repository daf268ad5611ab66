"""The merge stage's settings: ``dada merge-config``'s and ``dada merge``'s options, the
``merge:`` section of a ``dada run`` recipe, and the argument of :func:`merge_config` and
:func:`dada_plugin.mergekit.run.run_merge` (see :mod:`dada_plugin.settings`)."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationInfo, field_validator


from dada_plugin.seed import SEED_MERGE_BASE, SEED_T, check_t
from dada_plugin.settings import Settings, opt
from dataset_builders.card import check_card_text

DTYPES = ("bfloat16", "float16", "float32")
# the fields of `dada merge` (running mergekit); the others write the mergekit YAML
RUN_FIELDS = ("axolotl_config", "base_model_ids", "license", "dataset_ids", "title", "out_shard_size",
              "device", "quiet")
CONFIG_FIELDS = ("method", "base", "model", "lora", "t", "t_self_attn", "t_mlp", "dtype", "tokenizer_source")


class MergeSettings(Settings):
    method: Literal["slerp", "fold"] = opt("slerp", "'slerp': MODEL onto BASE; 'fold': fold --lora into "
                                                    "MODEL (a passthrough).")
    base: str = opt(SEED_MERGE_BASE, "Merge base, the t=0 end (local folder or hub id).")
    model: str | None = opt(None, "The other model (local folder or hub id); MODEL+ADAPTER folds an "
                                  "adapter in.")
    lora: str | None = opt(None, "A PEFT LoRA adapter folder to fold into MODEL before merging.")
    t: float | list[float] = opt(SEED_T, "SLERP t (0 = base, 1 = model): a number or a gradient list "
                                         "like 0,0.5,1.")
    t_self_attn: float | list[float] | None = opt(None, "t for attention tensors (filter 'self_attn').")
    t_mlp: float | list[float] | None = opt(None, "t for the MoE block: experts and router (filter 'mlp').")
    dtype: Literal[DTYPES] = opt("bfloat16", "dtype mergekit computes and writes in.")
    tokenizer_source: str = opt("base", "'base', 'union', 'model' (MODEL's tokenizer) or a model folder.")
    axolotl_config: str | None = opt(None, "The axolotl YAML that trained the adapter, quoted in the "
                                           "model card.")
    base_model_ids: dict[str, str] = opt({}, "The Hub id of a local model folder, for the card's base_model "
                                             "(repeatable) [default: the id its config.json or Hub cache "
                                             "path records; else left out].", flag="--base-model-id",
                                         metavar="PATH=ID")
    license: str | None = opt(None, "Licence of the merge, for the card [default: the training data's, "
                                    "read from the dada build card beside the axolotl config's dataset].")
    dataset_ids: list[str] = opt([], "Hub id of a dataset the merge was trained on, for the card "
                                     "(repeatable; the training data's sources are added).",
                                 flag="--dataset-id", metavar="ID")
    title: str | None = opt(None, "The card's title [default: the models' names and the method].")
    out_shard_size: str | None = opt(None, "Params per output shard (e.g. 1B); default: sized to the "
                                           "RAM available.")
    device: str = opt("cpu", "Where mergekit does the arithmetic: cpu, cuda or auto.")
    quiet: bool = opt(False, "Do not show mergekit's progress.")
    force: bool = opt(False, "Replace the output if dada wrote it (a merge folder: only a merge dada "
                             "wrote, unchanged).")

    @field_validator("license", "title")
    @classmethod
    def _card_text(cls, value, info: ValidationInfo):
        if value is not None:
            check_card_text(info.field_name, value)
        return value

    @field_validator("t", "t_self_attn", "t_mlp", mode="before")
    @classmethod
    def _t(cls, value):
        return None if value is None else check_t(value)
