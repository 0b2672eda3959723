#!/bin/bash
# Fine-tunes and evaluates ALBERT on GLUE with the original release's per-task
# hyperparameters (google-research/albert run_glue.sh; WNLI, which that script
# leaves out, from the ALBERT paper's fine-tuning table).
#
#   run_scripts/run_glue.sh MODEL_DIR GLUE_DIR OUTPUT_DIR [TASK ...]
#
# MODEL_DIR holds albert_config.json, 30k-clean.model and the pretrained
# checkpoint (an original TF1 release, our run_pretraining output or a TF Hub
# encoder SavedModel: set INIT_CHECKPOINT to override MODEL_DIR/model.ckpt-best).
# GLUE_DIR holds the GLUE download (CoLA, SST-2, MNLI, ... subdirectories).
# Without TASK arguments every task runs. Extra flags for run_classifier go in
# $EXTRA_FLAGS (e.g. "--distribution_strategy=mirrored --num_gpus=8").
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 MODEL_DIR GLUE_DIR OUTPUT_DIR [TASK ...]" >&2
  exit 2
fi
MODEL_DIR=$1
GLUE_DIR=$2
OUTPUT_DIR=$3
shift 3
INIT_CHECKPOINT=${INIT_CHECKPOINT:-${MODEL_DIR}/model.ckpt-best}
PYTHON=${PYTHON:-python3}

# task  data subdirectory  warmup_step  learning_rate  train_step
#       save_checkpoints_steps  train_batch_size  max_seq_length
declare -A SETTINGS=(
  [sst-2]="SST-2 1256 1e-5 20935 100 32 512"
  [mnli]="MNLI 1000 3e-5 10000 100 128 512"
  [mismnli]="MNLI 1000 3e-5 10000 100 128 512"
  [cola]="CoLA 320 1e-5 5336 100 16 512"
  [qnli]="QNLI 1986 1e-5 33112 200 32 512"
  [qqp]="QQP 1000 5e-5 14000 100 128 512"
  [rte]="RTE 200 3e-5 800 100 32 512"
  [sts-b]="STS-B 214 2e-5 3598 100 16 512"
  [mrpc]="MRPC 200 2e-5 800 100 32 512"
  [wnli]="WNLI 250 2e-5 2000 250 16 128"
)
TASKS=("$@")
if [[ ${#TASKS[@]} -eq 0 ]]; then
  TASKS=(sst-2 mnli mismnli cola qnli qqp rte sts-b mrpc wnli)
fi

for task in "${TASKS[@]}"; do
  if [[ -z "${SETTINGS[$task]:-}" ]]; then
    echo "unknown task $task; one of ${!SETTINGS[*]}" >&2
    exit 2
  fi
  read -r dir warmup lr steps save batch seq <<< "${SETTINGS[$task]}"
  out="${OUTPUT_DIR}/${task}"
  # Train with a checkpoint every $save steps, evaluate each on dev, keep the
  # best, then evaluate and predict the test set with it.
  "${PYTHON}" -m albert_tf.run_classifier \
    --task_name="${task}" \
    --data_dir="${GLUE_DIR}/${dir}" \
    --output_dir="${out}" \
    --albert_config_file="${MODEL_DIR}/albert_config.json" \
    --spm_model_file="${MODEL_DIR}/30k-clean.model" \
    --init_checkpoint="${INIT_CHECKPOINT}" \
    --do_lower_case \
    --do_train --do_eval --do_predict \
    --optimizer=adamw \
    --max_seq_length="${seq}" \
    --warmup_step="${warmup}" \
    --learning_rate="${lr}" \
    --train_step="${steps}" \
    --save_checkpoints_steps="${save}" \
    --iterations_per_loop="${save}" \
    --train_batch_size="${batch}" \
    ${EXTRA_FLAGS:-}
  echo "== ${task}: ${out}/eval_results.txt"
  cat "${out}/eval_results.txt"
done
