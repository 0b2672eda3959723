"""Fine-tunes ALBERT on GLUE or a plain CSV/TSV classification task.

  python -m albert_tf.run_classifier --task_name=mnli --data_dir=glue/MNLI \
      --albert_config_file=albert_base/albert_config.json \
      --spm_model_file=albert_base/30k-clean.model \
      --init_checkpoint=albert_base/model.ckpt-best --output_dir=out/mnli \
      --do_train --do_eval --do_predict --max_seq_length=512 \
      --optimizer=adamw --learning_rate=3e-5 --train_step=10000 \
      --warmup_step=1000 --train_batch_size=128 --save_checkpoints_steps=100

Writes to output_dir: training checkpoints, best/ (the best checkpoint on
dev by the task's metric, with best_metrics.json), eval_results.txt,
eval_predictions.tsv (guid, gold, predicted), and for --do_predict
test_results.tsv (class probabilities per line, or the score for sts-b) and
submit_results.tsv (index, predicted label: GLUE's submission format).
csv/tsv tasks read the columns --text_column, --text_b_column and
--label_column name (default text, text_b, label).
--init_checkpoint may be a Hugging Face ALBERT directory: --albert_config_file
and --spm_model_file then default to its files, and a fine-tuned
AlbertForSequenceClassification is served or predicted without training
(its id2label names the labels of a csv/tsv task).
--export_dir writes a TF Serving model whose serving_default takes raw text
(`text_a`, plus `text_b` for pair tasks where the exporter supports it) and
returns `probabilities` and `predictions` (or the `predictions` score for
sts-b). The task: albert_tf/tasks/classification.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from albert_tf.cli import finetuning_flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import runner
from albert_tf.tasks.classification import ClassificationTask as TASK

defaults = runner.settings_maker(TASK)
run = runner.task_runner(TASK)

if __name__ == "__main__":
  finetuning_flags.main(TASK)
