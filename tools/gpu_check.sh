#!/usr/bin/env bash
# One GPU check, prepared before a GPU is at hand; meant to finish within 8
# minutes on one H100 (not yet run on one). Prints the device, then for
# mnist_dcgan and cifar10_sngan the steps/s of every rule, float32 vs
# mixed_float16, XLA on vs off (interleaved rounds in one process), with peak
# GPU memory per variant, and writes one JSON file (default gpu_check.json).
# Without a GPU it runs a small CPU version and says so. Flags pass through:
#   bash tools/gpu_check.sh --out /tmp/gpu.json --configs mnist_dcgan
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" tools/gpu_check.py "$@"
