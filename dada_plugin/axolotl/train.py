"""Run ``axolotl train`` offline (telemetry off) and read its losses and trainable count."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

from dada_plugin.errors import StepError
from dada_plugin.offline import offline_env
from dada_plugin.tools import stream


def axolotl_train(config: str | Path, log: str | Path, launcher: str = "python",
                  echo: Callable[[str], None] | None = None) -> dict:
    """``axolotl train CONFIG --launcher LAUNCHER`` in CONFIG's folder, output streamed to
    ``log`` (a killed run still has it) and, as it comes, to ``echo`` (its progress bars).
    Raises StepError naming the log on failure."""

    config, log = Path(config), Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("axolotl")
    cmd = [str(exe), "train", str(config), "--launcher", launcher]
    with open(log, "w", encoding="utf-8") as fh:
        if echo is None:
            returncode = subprocess.run(cmd, cwd=config.parent, env=offline_env(), stdout=fh,
                                        stderr=subprocess.STDOUT).returncode
        else:
            def handle(text: str) -> None:
                fh.write(text)
                fh.flush()
                echo(text)

            returncode = stream(cmd, handle, cwd=config.parent, env=offline_env())
    output = log.read_text(encoding="utf-8", errors="replace")
    if returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else "no output"
        raise StepError("train", f"axolotl exited with {returncode}: {last}", str(log))
    trainable = re.search(r"trainable params: ([\d,]+)", output)
    return {"losses": [float(x) for x in re.findall(r"'loss': '?([0-9.eE+-]+)'?", output)],
            "trainable_params": int(trainable.group(1).replace(",", "")) if trainable else None,
            "log": str(log), "output": output}
