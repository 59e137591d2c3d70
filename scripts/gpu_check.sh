#!/usr/bin/env bash
# The GPU check (issue 26; docs/performance.md#gpu-check): every method trained on CUDA against the
# committed CPU metrics, seconds per epoch on CPU and GPU, the similarity graph at 1M nodes.
# Runs with the machine's own Python (torch, torch-geometric, transformers; nothing is installed):
#   scripts/gpu_check.sh                     # on a GPU machine, about 8 minutes at most
#   scripts/gpu_check.sh --device cpu --quick  # a dry run anywhere
# Extra arguments go to benchmarks/gpu_check.py. The JSON goes to $OUT/gpu_check.json when $OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
PYTHON="${PYTHON:-python}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
exec timeout "${GPU_CHECK_TIMEOUT:-480}" "$PYTHON" benchmarks/gpu_check.py "$@"
