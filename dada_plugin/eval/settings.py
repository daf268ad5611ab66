"""``dada eval``'s settings: its options, the ``eval:`` section of a ``dada run`` recipe, and the
argument of :func:`dada_plugin.eval.evaluate.evaluate` (see :mod:`dada_plugin.settings`)."""

from __future__ import annotations

from pydantic import model_validator

from dada_plugin.settings import opt
from dataset_builders.rewrite import ClientOptions

DEFAULT_RESAMPLES = 200
DEFAULT_SEED = 0
MAX_BATCH = 16


class EvalSettings(ClientOptions):
    """Dataset mode (``dataset``): the original and rewritten answers side by side; model mode
    (``models``): the same prompts and sampling for every model."""

    dataset: str | None = opt(None, "A dada.jsonl: its original and rewritten answers are compared "
                                    "(any input `dada slop` reads works; each column is one side).")
    models: dict[str, str] = opt({}, "A model to generate from: NAME=URL (OpenAI-compatible, served "
                                     "model id NAME), NAME=MODEL_ID@URL, NAME=FILE.gguf (served by "
                                     "llama.cpp for the run) or NAME=PATH (local transformers model). "
                                     "Repeat per model.", flag="--model",
                                 metavar="NAME=URL_OR_PATH")
    prompts: str | None = opt(None, "Prompts for model mode: a JSON list or one prompt per line. "
                                    "Default: the first 12 slop-score benchmark prompts plus the "
                                    "first 12 bundled Alpaca questions.")
    n_prompts: int | None = opt(None, "Size of the default prompt set: half slop-score prompts, half "
                                      "Alpaca questions [default: 24].", ge=2)
    max_new_tokens: int = opt(512, "Most tokens per generation, the same for every model.", ge=1,
                              le=32768)
    seed: int | None = opt(None, "Sampling seed sent with every request.", flag="--gen-seed")
    batch_size: int | None = opt(None, "Generation batch size (local models) [default: the number "
                                       "of prompts, at most 16].", ge=1, le=4096)
    bootstrap: int = opt(DEFAULT_RESAMPLES, "Bootstrap resamples of the prompts for the intervals.",
                         ge=0)
    bootstrap_seed: int = opt(DEFAULT_SEED, "Seed of the bootstrap resampling.", flag="--seed")
    legacy_normalization: bool = opt(False, "Normalise list entries as slop-score's published "
                                            "leaderboard did.")
    charts: bool = opt(True, "Draw the PNG charts (--no-charts: no matplotlib needed).")
    title: str | None = opt(None, "Title of the report [default: what was compared].")
    progress: bool = opt(True, "Progress bars while generating.")
    force: bool = opt(False, "Write into a non-empty folder that is not an earlier report folder "
                             "(its own report files are still never replaced).")

    @model_validator(mode="after")
    def _one_mode(self):
        if self.dataset and self.models:
            raise ValueError("give either a dataset or models, not both")
        if self.n_prompts is not None and self.prompts:
            raise ValueError("n_prompts sizes the default prompt set; it cannot apply to a prompts file")
        return self
