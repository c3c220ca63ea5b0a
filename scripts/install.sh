#!/usr/bin/env bash
# One-shot setup: Debian packages for the synthetic corpora, then a .venv with torch, torchaudio and the
# project in editable mode. Safe to re-run; `make` calls it once and leaves .venv/.installed behind.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.14.1}
TORCHAUDIO_SPEC=${TORCHAUDIO_SPEC:-torchaudio==2.11.*}

bash scripts/install_system.sh

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
echo "python: installing $TORCH_SPEC $TORCHAUDIO_SPEC"
"${PIP[@]}" "$TORCH_SPEC" "$TORCHAUDIO_SPEC"
# tinysoundfont declares pyaudio (needs PortAudio headers) but renders offline without it.
"${PIP[@]}" --no-deps "tinysoundfont>=0.3"
echo "python: installing the project and its dependencies"
"${PIP[@]}" -e ".[dev]"
"$VENV/bin/python" - <<'PY'
import torch, torchaudio, pytorch_lightning, librosa, wandb, tinysoundfont  # noqa: F401
print(f"python: ok (torch {torch.__version__}, torchaudio {torchaudio.__version__}, "
      f"lightning {pytorch_lightning.__version__}, librosa {librosa.__version__}, wandb {wandb.__version__})")
PY
touch "$VENV/.installed"
