"""Slop and diversity metrics ("measure the shiver factor").

* ``sources.read_source``: files -> {column: [(prompt, output), ...]}
* ``metrics.analyse``: samples -> slop-score-compatible metrics and top offenders
* ``report.write_report``: {name: samples} -> report.md, report.json, charts/ (the hook for
  the model-generation mode of ``dada eval``: pass each model's generated samples)
* the metric registry (``registry.METRICS``, ``@metric``) and the bundled lists (``data/``)
"""

Sample = tuple[str | None, str]  # (prompt, output): the unit every metric counts over
