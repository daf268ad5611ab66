"""The environment dada runs axolotl, mergekit and model loading in: offline, no telemetry.

Applied to the process at the entry points only (the ``dada`` CLI, and the modules axolotl
imports: the plugin and the prompt strategy), never from inside a library function; child
processes (``axolotl train``, ``mergekit-yaml``) get :func:`offline_env` explicitly."""

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
