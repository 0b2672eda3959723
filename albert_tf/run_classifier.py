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
--init_checkpoint may be a Hugging Face ALBERT directory: --albert_config_file
and --spm_model_file then default to its files, and a fine-tuned
AlbertForSequenceClassification is served or predicted without training
(its id2label names the labels of a csv/tsv task).
--export_dir writes a TF Serving model whose serving_default takes raw text
(`text_a`, plus `text_b` for pair tasks where the exporter supports it) and
returns `probabilities` and `predictions` (or the `predictions` score for
sts-b).
"""

# Before anything loads TensorFlow: keep its start-up chatter off the terminal.
from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

import os
import sys

from absl import app
from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf

from albert_tf.checkpoints import hf_checkpoint
from albert_tf.tasks import classifier_data
from albert_tf.tasks import feature_cache
from albert_tf.tasks import runner
from albert_tf.tasks.classifier_model import ClassifierModel
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.classifier_model import regression_loss
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.cli.finetuning_flags import define_common_flags
from albert_tf.cli.finetuning_flags import flag_namespace
from albert_tf.training.finetuning_trainer import NoCheckpointError
from albert_tf.training.finetuning_trainer import Trainer
from albert_tf.training.finetuning_trainer import TrainingSettings
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.modeling import AlbertEncoder

LABEL_LIST_FILE = "label_list.txt"


def define_flags():
  define_common_flags(max_seq_length=512, learning_rate=5e-5,
                      train_step=1000, train_batch_size=32)
  flags.DEFINE_list("labels", None, "Label set of a csv/tsv task (default: "
                    "the labels of its training file, sorted).")
  flags.mark_flag_as_required("task_name")


def defaults(**values):
  """run()'s arguments from Python: the flag defaults with `values` on top."""
  return flag_namespace(**{"labels": None, **values})


def _spec(max_seq_length, is_regression):
  spec = {name: ([max_seq_length], tf.int32) for name in
          ("input_word_ids", "input_mask", "input_type_ids")}
  if is_regression:
    spec["label_values"] = ([], tf.float32)
  else:
    spec["label_ids"] = ([], tf.int64)
  return spec


def _features(examples, packer, label_list, is_regression):
  label_index = {label: i for i, label in enumerate(label_list)}
  for example in examples:
    feature = packer.pack_text(example.text_a, example.text_b)
    if is_regression:
      feature["label_values"] = example.label if example.label is not None \
          else 0.0
    else:
      feature["label_ids"] = (label_index[example.label]
                              if example.label is not None else 0)
    yield feature


def _label_list(task, values, data_dir, output_dir):
  """The label set: the task's, --labels, the saved one, or train's labels."""
  if task.is_regression:
    return ()
  if isinstance(task, classifier_data.GlueTask):
    return task.labels
  saved = os.path.join(output_dir, LABEL_LIST_FILE)
  if values.labels:
    labels = tuple(values.labels)
  elif os.path.exists(saved):
    with open(saved, encoding="utf-8") as f:
      labels = tuple(line.rstrip("\n") for line in f if line.strip())
  else:
    labels = task.labels_from(task.read(data_dir, classifier_data.TRAIN))
  if len(labels) < 2:
    raise ValueError(f"a classification task needs at least 2 labels, got "
                     f"{list(labels)}")
  write_text_atomically(saved, "".join(f"{label}\n" for label in labels))
  task.labels = labels
  return labels


class ClassifierRun:
  """One run_classifier invocation (kept as an object for the tests)."""

  def __init__(self, values):
    runner.check_common_flags(values)
    if (not getattr(values, "labels", None) and
        values.task_name.lower() in classifier_data.GENERIC_TASKS):
      # A fine-tuned Hugging Face classifier names its labels (id2label).
      values.labels = hf_checkpoint.default_label_names(
          values.init_checkpoint)
    self.values = values
    self.task = classifier_data.get_task(values.task_name,
                                         getattr(values, "labels", None))
    self.config = runner.load_config(values)
    self.tokenizer = runner.make_tokenizer(values)
    runner.check_vocab_fits(self.tokenizer, self.config)
    self.packer = Packer(self.tokenizer, values.max_seq_length)
    os.makedirs(values.output_dir, exist_ok=True)
    self.label_list = _label_list(self.task, values, values.data_dir,
                                  values.output_dir)
    self.spec = _spec(values.max_seq_length, self.task.is_regression)
    self.label_key = ("label_values" if self.task.is_regression
                      else "label_ids")
    runner.set_seed(values.seed)
    strategy = runner.strategy_from_flags(values)
    config, num_labels = self.config, max(len(self.label_list), 1)
    is_regression = self.task.is_regression
    self.trainer = Trainer(
        strategy,
        lambda: ClassifierModel(AlbertEncoder(config), num_labels,
                                is_regression=is_regression),
        regression_loss if is_regression else classification_loss,
        TrainingSettings.from_flags(values))
    self._eval = None

  def _records(self, split):
    values = self.values
    examples = self.task.read(values.data_dir, split)
    path = os.path.join(values.output_dir, f"{split}.tf_record")
    key = {"input": feature_cache.file_signature(
               self.task.file_for(values.data_dir, split)),
           "max_seq_length": values.max_seq_length,
           "vocab": values.spm_model_file or values.vocab_file,
           "do_lower_case": values.do_lower_case,
           "labels": list(self.label_list)}
    feature_cache.cached_records(
        path, key, lambda: _features(examples, self.packer, self.label_list,
                                     self.task.is_regression), self.spec)
    return examples, path

  def _dataset(self, path, batch_size, is_training):
    return feature_cache.records_dataset(
        path, self.spec, batch_size, is_training, label_keys=(self.label_key,),
        seed=self.values.seed)

  def _gold(self, examples):
    if self.task.is_regression:
      return np.array([e.label for e in examples], np.float64)
    index = {label: i for i, label in enumerate(self.label_list)}
    return np.array([index[e.label] for e in examples])

  def evaluate(self, write_predictions=False):
    """Metrics on the dev set with the model as it is now."""
    if self._eval is None:
      self._eval = self._records(classifier_data.DEV)
    examples, path = self._eval
    outputs = self.trainer.predict(
        self._dataset(path, self.values.eval_batch_size, False))
    predictions = outputs["predictions"]
    results = self.task.compute_metrics(self._gold(examples), predictions)
    if write_predictions:
      lines = ["guid\tlabel\tprediction"]
      for example, prediction in zip(examples, predictions):
        lines.append(f"{example.guid}\t{example.label}\t"
                     f"{self._label_name(prediction)}")
      write_text_atomically(
          os.path.join(self.values.output_dir, "eval_predictions.tsv"),
          "\n".join(lines) + "\n")
    return results

  def _label_name(self, prediction):
    if self.task.is_regression:
      return f"{float(prediction):.6f}"
    return self.label_list[int(prediction)]

  def load_for_inference(self):
    """The fine-tuned checkpoint in output_dir, else a fine-tuned Hugging
    Face --init_checkpoint (encoder and classifier head)."""
    try:
      return self.trainer.load_for_inference()
    except NoCheckpointError:
      if not hf_checkpoint.is_hf_directory(self.values.init_checkpoint):
        raise
      return hf_checkpoint.load_hf_checkpoint(self.trainer.model,
                                              self.values.init_checkpoint)

  def train(self):
    logging.info(self.trainer.restore_or_initialize(
        runner.make_init_fn(self.values.init_checkpoint)))
    _, path = self._records(classifier_data.TRAIN)
    dataset = self._dataset(path, self.values.train_batch_size, True)
    evaluate_fn = self.evaluate if self.values.do_eval else None
    return self.trainer.train(dataset, evaluate_fn, self.task.best_metric)

  def predict(self):
    examples, path = self._records(classifier_data.TEST)
    outputs = self.trainer.predict(
        self._dataset(path, self.values.predict_batch_size, False))
    output_dir = self.values.output_dir
    if self.task.is_regression:
      rows = [f"{float(p):.6f}" for p in outputs["predictions"]]
    else:
      rows = ["\t".join(f"{p:.6f}" for p in probabilities)
              for probabilities in outputs["probabilities"]]
    write_text_atomically(os.path.join(output_dir, "test_results.tsv"),
                          "\n".join(rows) + "\n")
    submit = ["index\tprediction"] + [
        f"{example.guid}\t{self._label_name(prediction)}"
        for example, prediction in zip(examples, outputs["predictions"])]
    write_text_atomically(os.path.join(output_dir, "submit_results.tsv"),
                          "\n".join(submit) + "\n")
    return outputs

  def export(self):
    names = (("predictions",) if self.task.is_regression
             else ("probabilities", "predictions"))
    return runner.export_serving(self.trainer.model, names, self.values)


def run(values):
  """Does what the flags ask; returns the ClassifierRun."""
  job = ClassifierRun(values)
  if values.do_train:
    job.train()
  if values.do_eval or values.do_predict or values.export_dir:
    logging.info("using %s", job.load_for_inference())
  if values.do_eval:
    results = job.evaluate(write_predictions=True)
    runner.write_eval_results(
        os.path.join(values.output_dir, "eval_results.txt"), results)
    for key, value in sorted(results.items()):
      print(f"eval {key} = {value:.6f}")
  if values.do_predict:
    job.predict()
    print(f"wrote {os.path.join(values.output_dir, 'test_results.tsv')}")
  if values.export_dir:
    print(f"exported {job.export()}")
  return job


def main(argv):
  del argv
  return runner.run_main(lambda values: run(values) and 0, flags.FLAGS)


if __name__ == "__main__":
  define_flags()
  app.run(main)
