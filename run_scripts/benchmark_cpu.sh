#!/usr/bin/env bash
# Reproduces the README's speed table: albert_tf vs tf-models-official's
# AlbertEncoder on albert_base_v2, batch 8, seq 128, with and without XLA.
# Usage: run_scripts/benchmark_cpu.sh [extra benchmark flags]
set -euo pipefail
for xla in --nouse_xla --use_xla; do
  python -m benchmarks.encoder_benchmark --preset=albert_base_v2 --batch_size=8 \
    --seq_length=128 --rounds=7 "$xla" "$@"
done
