"""mergekit integration: SLERP / LoRA-fold configs that cannot silently go wrong, running
mergekit with safe defaults, and the merged model's card.

- :mod:`.config`  build, check, write and lint mergekit YAML (the API other modules call)
- :mod:`.schema`  pydantic mirror of mergekit's YAML (unknown keys and bad values fail)
- :mod:`.models`  what a model reference points at: local config.json, or built-in Mixtral numbers
- :mod:`.run`     ``dada merge``: mergekit in a subprocess, offline, fresh LoRA cache
- :mod:`.card`    the merged model's README.md (front matter, method, models, the configs)

Nothing here imports mergekit, torch or transformers at module level.
"""
