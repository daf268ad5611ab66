"""The environment dada runs axolotl, mergekit and model loading in: offline, no telemetry.

Applied to a process only by the ``dada`` command itself (``cli.main``), never on import: the
axolotl plugin and prompt strategy set nothing, so a user's own ``axolotl train`` keeps the
user's environment (``WANDB_MODE=online`` and the ``wandb_*`` keys work). The processes dada
starts (``axolotl train``, ``mergekit-yaml``, llama.cpp's server) get :func:`offline_env`."""

from __future__ import annotations

import os

OFFLINE = {
    "AXOLOTL_DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "WANDB_MODE": "disabled",
}


def offline_env(env: dict | None = None) -> dict:
    """``env`` (default: this process's environment) with the offline variables set."""
    return {**(os.environ if env is None else env), **OFFLINE}


def set_offline() -> None:
    """Apply the offline variables to this process (before transformers & co. are imported)."""
    os.environ.update(OFFLINE)
