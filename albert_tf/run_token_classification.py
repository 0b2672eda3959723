"""Fine-tunes ALBERT for token classification (BIO tagging, e.g. NER).

  python -m albert_tf.run_token_classification --data_dir=dishes \
      --albert_config_file=albert_base/albert_config.json \
      --spm_model_file=albert_base/30k-clean.model \
      --init_checkpoint=albert_base/model.ckpt-best --output_dir=out/dishes \
      --entity_type=DISH --do_train --do_eval --do_predict \
      --max_seq_length=128 --train_step=2000 --warmup_step=200 \
      --learning_rate=3e-5 --train_batch_size=32 --export_dir=out/dishes/serving

data_dir holds train/dev/test as CoNLL files (.txt or .conll: `token
[columns] tag` lines, blank lines between sentences) or as "text,entity" CSV
files (.csv; the entity is located in the text; --text_column and
--entity_column name other header columns). See
albert_tf/tasks/token_data.py for the formats.

Writes to output_dir: label_list.txt, checkpoints, best/ (best span F1 on
dev), eval_results.txt (span precision/recall/F1, seqeval style),
eval_predictions.txt, and for --do_predict test_predictions.txt (CoNLL:
word, predicted tag) and test_spans.tsv (source, the extracted spans); the
spans are also printed. --export_dir writes a TF Serving model whose
serving_default takes one raw `text` and returns test_spans.tsv's spans in
the text's own words: `entities`, `entity_types`, `entity_starts` /
`entity_ends` (offsets in Unicode code points, end exclusive) and
`entity_scores`, at most --max_entities per text (padded with ""), and
`num_entities`; also `tag_ids` per word piece (label_list.txt names them)
and their `probabilities`:

  tensorflow_model_server --rest_api_port=8501 --model_name=dishes \
      --model_base_path=$PWD/out/dishes/serving
  curl -X POST http://localhost:8501/v1/models/dishes:predict \
      -d '{"instances": [{"text": "The pad thai was great."}]}'

The task: albert_tf/tasks/token_classification.py.
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from albert_tf.cli import finetuning_flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from albert_tf.tasks import runner
from albert_tf.tasks.token_classification import TokenClassificationTask as TASK

defaults = runner.settings_maker(TASK)
run = runner.task_runner(TASK)

if __name__ == "__main__":
  finetuning_flags.main(TASK)
