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
[B, num_choices, S].
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import os

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from albert_tf.tasks import metrics
from albert_tf.tasks import race_data
from albert_tf.tasks import race_serving
from albert_tf.tasks import feature_cache
from albert_tf.tasks import runner
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.cli.finetuning_flags import define_common_flags
from albert_tf.cli.finetuning_flags import flag_namespace
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.multiple_choice_model import MultipleChoiceModel
from albert_tf.training.finetuning_trainer import Trainer
from albert_tf.training.finetuning_trainer import TrainingSettings
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.modeling import AlbertEncoder

TASK_DEFAULTS = dict(max_seq_length=512, learning_rate=1e-5, train_step=12000,
                     warmup_step=1000, train_batch_size=32,
                     save_checkpoints_steps=1200, iterations_per_loop=1200,
                     task_name="race")

# The model's outputs → the names the TF Serving export gives them.
SERVING_OUTPUTS = {"logits": "logits", "probabilities": "probabilities",
                   "predictions": "predicted_choice"}


def define_flags():
  define_common_flags(**TASK_DEFAULTS)
  flags.DEFINE_integer("max_qa_length", 128, "Maximum word pieces of the "
                       "question + option segment (its end is kept).")
  flags.DEFINE_integer("num_choices", 4, "Options per question.")


def defaults(**values):
  return flag_namespace(**{**TASK_DEFAULTS, "max_qa_length": 128,
                             "num_choices": 4, **values})


class RaceRun:
  """One run_race invocation."""

  def __init__(self, values):
    runner.check_common_flags(values)
    if values.max_qa_length < 1 or values.num_choices < 1:
      raise runner.FlagError(
          f"--max_qa_length ({values.max_qa_length}) and --num_choices "
          f"({values.num_choices}) must be positive")
    self.values = values
    self.config = runner.load_config(values)
    self.tokenizer = runner.make_tokenizer(values)
    runner.check_vocab_fits(self.tokenizer, self.config)
    self.packer = Packer(self.tokenizer, values.max_seq_length)
    os.makedirs(values.output_dir, exist_ok=True)
    shape = [values.num_choices, values.max_seq_length]
    self.spec = {"input_word_ids": (shape, tf.int32),
                 "input_mask": (shape, tf.int32),
                 "input_type_ids": (shape, tf.int32),
                 "label_ids": ([], tf.int64)}
    runner.set_seed(values.seed)
    config, num_choices = self.config, values.num_choices
    self.trainer = Trainer(
        runner.strategy_from_flags(values),
        lambda: MultipleChoiceModel(AlbertEncoder(config), num_choices),
        classification_loss, TrainingSettings.from_flags(values))
    self._splits = {}

  def _split(self, split):
    if split not in self._splits:
      examples = race_data.read_split(self.values.data_dir, split,
                                      self.values.num_choices,
                                      require_answers=split != "test")
      path = os.path.join(self.values.output_dir, f"{split}.tf_record")
      feature_cache.write_records(
          path, (race_data.encode(e, self.packer, self.values.max_qa_length)
                 for e in examples), self.spec)
      self._splits[split] = (examples, path)
    return self._splits[split]

  def _dataset(self, path, batch_size, is_training):
    return feature_cache.records_dataset(path, self.spec, batch_size, is_training,
                                   label_keys=("label_ids",),
                                   seed=self.values.seed)

  def _predict(self, split, batch_size):
    examples, path = self._split(split)
    return examples, self.trainer.predict(
        self._dataset(path, batch_size, False))

  def _write(self, name, examples, outputs, with_gold):
    letters = [chr(ord("A") + i) for i in range(self.values.num_choices)]
    lines = ["id\t" + ("answer\t" if with_gold else "") + "prediction\t"
             + "\t".join(f"p_{l}" for l in letters)]
    for example, prediction, probabilities in zip(
        examples, outputs["predictions"], outputs["probabilities"]):
      gold = [letters[example.label]] if with_gold else []
      lines.append("\t".join([example.guid] + gold + [letters[prediction]]
                             + [f"{p:.6f}" for p in probabilities]))
    write_text_atomically(os.path.join(self.values.output_dir, name),
                          "\n".join(lines) + "\n")

  def evaluate(self, write_predictions=False):
    examples, outputs = self._predict("dev", self.values.eval_batch_size)
    gold = np.array([e.label for e in examples])
    if write_predictions:
      self._write("eval_predictions.tsv", examples, outputs, True)
    return {"accuracy": metrics.accuracy(gold, outputs["predictions"])}

  def train(self):
    logging.info(self.trainer.restore_or_initialize(
        runner.make_init_fn(self.values.init_checkpoint)))
    _, path = self._split("train")
    evaluate_fn = self.evaluate if self.values.do_eval else None
    return self.trainer.train(
        self._dataset(path, self.values.train_batch_size, True), evaluate_fn,
        "accuracy")

  def predict(self):
    examples, outputs = self._predict("test", self.values.predict_batch_size)
    self._write("test_predictions.tsv", examples, outputs, False)
    return outputs

  def export(self):
    """The TF Serving export of the best (else newest) fine-tuned model."""
    packing = race_serving.RacePacking(self.values.num_choices,
                                       self.values.max_qa_length)
    return runner.export_serving(self.trainer.model, SERVING_OUTPUTS,
                                 self.values, multiple_choice=packing)


def run(values):
  job = RaceRun(values)
  if values.do_train:
    job.train()
  if values.do_eval or values.do_predict or values.export_dir:
    logging.info("using %s", job.trainer.load_for_inference())
  if values.do_eval:
    results = job.evaluate(write_predictions=True)
    runner.write_eval_results(
        os.path.join(values.output_dir, "eval_results.txt"), results)
    print(f"eval accuracy = {results['accuracy']:.6f}")
  if values.do_predict:
    job.predict()
    print(f"wrote {os.path.join(values.output_dir, 'test_predictions.tsv')}")
  if values.export_dir:
    print(f"exported {job.export()}")
  return job


def main(argv):
  del argv
  return runner.run_main(lambda values: run(values) and 0, flags.FLAGS)


if __name__ == "__main__":
  define_flags()
  app.run(main)
