#!/usr/bin/env bash
# Print a Python >= 3.12 interpreter (axolotl 0.21 needs it); exit 1 if none is found.
for cand in "${DADA_PYTHON:-}" python3.13 python3.12 /root/.pyenv/versions/3.12*/bin/python python3; do
  [ -n "$cand" ] || continue
  if "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
    command -v "$cand" || echo "$cand"
    exit 0
  fi
done
echo "no Python >= 3.12 found (set DADA_PYTHON=/path/to/python3.12)" >&2
exit 1
