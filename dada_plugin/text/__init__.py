"""Text knowledge shared by the build (the style check of rewrites) and the evaluation (slop
metrics), below both: word tokens and syllables (``tokenize``), slop-score's and
antislop-sampler's lists and prompts (``lists``, read from ``data/`` with their licences).
Imports nothing from ``dataset_builders`` or the integrations."""
