"""Fine-tunes ALBERT on SQuAD v1.1 or v2.0 and predicts answer spans.

  python -m albert_tf.run_squad \
      --albert_config_file=albert_base/albert_config.json \
      --spm_model_file=albert_base/30k-clean.model \
      --init_checkpoint=albert_base/model.ckpt-best --output_dir=out/squad2 \
      --train_file=train-v2.0.json --predict_file=dev-v2.0.json \
      --version_2_with_negative --do_train --do_predict \
      --max_seq_length=384 --doc_stride=128 --max_query_length=64 \
      --train_batch_size=48 --learning_rate=3e-5 --train_step=8144 \
      --warmup_step=814 --save_checkpoints_steps=1000

The data path, heads, decoding and scoring are the original run_squad_v1.py
/ run_squad_v2.py / squad_utils.py (see albert_tf/tasks/squad). Training runs on
the fine-tuning runner (the original optimizer, tf.distribute); the task is
albert_tf/tasks/squad/task.py.
With --do_predict during --do_train every saved checkpoint is scored on
--predict_file (when it has answers) and the best by F1 is kept in
output_dir/best/, as the original kept model.ckpt-best.

Writes to output_dir: train.tf_record (the cached training features),
checkpoints, best/, eval_history.jsonl, and for --do_predict
predictions.json (question id → answer text, "" for no answer),
nbest_predictions.json (the n-best texts with probability and start/end
scores), for v2 null_odds.json (question id → null score; "" is predicted
when it is ≥ the threshold) and, when the predict file has answers,
eval_results.txt (official EM/F1; for v2 with the tuned
null_score_diff_threshold). --export_dir writes a TF Serving model whose
serving_default takes text_a (question) and text_b (context), packed into
one window, and returns the head's outputs, input_word_ids, p_mask and the
answer decoded in graph (answer_text, answer_start, answer_end,
answer_score; see albert_tf/tasks/squad/serving.py and SERVING_OUTPUTS).
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from albert_tf.cli import finetuning_flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import runner
from albert_tf.tasks.squad.task import SERVING_OUTPUTS  # pylint: disable=unused-import
from albert_tf.tasks.squad.task import SquadTask as TASK

defaults = runner.settings_maker(TASK)
run = runner.task_runner(TASK)

if __name__ == "__main__":
  finetuning_flags.main(TASK)
