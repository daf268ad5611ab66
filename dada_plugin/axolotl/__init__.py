"""axolotl integration of DADA.

- :mod:`.strategy`  prompt strategy for ``dada.jsonl`` (``type: dada_plugin.axolotl.strategy``)
- :mod:`.plugin`    the axolotl plugin (``plugins: [dada_plugin.axolotl.plugin.DadaPlugin]``)
- :mod:`.recipe`    the seed recipe as an axolotl YAML (``dada axolotl-config``)
- :mod:`.validate`  axolotl's own ``validate_config`` plus what it lets through, one line per field
- :mod:`.plan`      exact trainable parameters on the meta device and a GPU memory estimate

Only :mod:`.strategy` and :mod:`.plugin` import axolotl at module level; the others import it
(and torch) inside functions.
"""

STRATEGY = "dada_plugin.axolotl.strategy"
PLUGIN = "dada_plugin.axolotl.plugin.DadaPlugin"
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
# transformers 5 fuses Mixtral's experts into 3-D parameters: LoRA reaches them only through
# peft's ``target_parameters`` (there are no w1/w2/w3 modules any more).
EXPERTS = ("mlp.experts.gate_up_proj", "mlp.experts.down_proj")
TARGETS = {"attention": (ATTENTION, ()), "attention+experts": (ATTENTION, EXPERTS)}


def slerp_t(value: float) -> float:
    """A SLERP t for a pydantic validator: within [0, 1] (mergekit extrapolates outside)."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be within [0, 1] (0 = the merge base, 1 = the trained model), got {value}")
    return value
