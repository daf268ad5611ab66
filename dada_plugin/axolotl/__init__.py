"""axolotl integration of DADA.

- :mod:`.strategy`  prompt strategy for ``dada.jsonl`` (``type: dada_plugin.axolotl.strategy``)
- :mod:`.plugin`    the axolotl plugin (``plugins: [dada_plugin.axolotl.plugin.DadaPlugin]``)
- :mod:`.config`    the seed recipe as an axolotl YAML (``dada axolotl-config``)
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

