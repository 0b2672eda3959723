"""Fine-tunes ALBERT on RACE-style multiple choice reading comprehension.

  python -m albert_tf.run_race --data_dir=RACE \
      --albert_config_file=albert_base/albert_config.json \
      --spm_model_file=albert_base/30k-clean.model \
      --init_checkpoint=albert_base/model.ckpt-best --output_dir=out/race \
      --do_train --do_eval --do_predict

Defaults are the original run_race's (max_seq_length 512, max_qa_length 128,
learning_rate 1e-5, train_step 12000, warmup_step 1000, batch 32,
checkpoints every 1200 steps). data_dir/{train,dev,test}/ hold the JSON
files (see albert_tf/tasks/race_data.py). Writes checkpoints, best/
(best dev accuracy), eval_results.txt, eval_predictions.tsv and, with
--do_predict, test_predictions.tsv (id, predicted letter, probabilities).

--export_dir writes a TF Serving model (`<export_dir>/<version>/`) of the
best model whose serving_default takes raw text, article and question
(string [B]) and options (string [B, num_choices]), packs every (article,
question+option) pair in the graph exactly as training does, and returns
logits and probabilities [B, num_choices] and predicted_choice (int32 [B]);
serve_token_ids takes input_word_ids/input_mask/input_type_ids
[B, num_choices, S]. The task: albert_tf/tasks/multiple_choice.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from albert_tf.cli import finetuning_flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import runner
from albert_tf.tasks.multiple_choice import SERVING_OUTPUTS  # pylint: disable=unused-import
from albert_tf.tasks.multiple_choice import MultipleChoiceTask as TASK

defaults = runner.settings_maker(TASK)
run = runner.task_runner(TASK)

if __name__ == "__main__":
  finetuning_flags.main(TASK)
