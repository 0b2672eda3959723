"""Sentence(-pair) classification and regression: GLUE and plain CSV/TSV.

Data: tasks/classifier_data.py (the GLUE layouts, csv/tsv with a header).
Model: tasks/classifier_model.py (dropout 0.1 + dense on pooled_output).

Writes to output_dir: label_list.txt (csv/tsv tasks), eval_predictions.tsv
(guid, gold, predicted), and for --do_predict test_results.tsv (class
probabilities per line, or the score for sts-b) and submit_results.tsv
(index, predicted label: GLUE's submission format). The export returns
`probabilities` and `predictions` (class ids) with, as TF Serving's Classify
API names them, `classes` (the label names) and their `scores`, and
`predicted_class` (the predicted label's name); for sts-b only the
`predictions` score.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from albert_tf.checkpoints import hf_checkpoint
from albert_tf.errors import FlagError
from albert_tf.settings import setting
from albert_tf.tasks import base_task
from albert_tf.tasks import classifier_data
from albert_tf.tasks import classifier_serving
from albert_tf.tasks import feature_cache
from albert_tf.tasks.classifier_model import ClassifierModel
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.classifier_model import regression_loss
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.tasks.input_files import require_file
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.training import distillation_loss

LABEL_LIST_FILE = "label_list.txt"
_DEFAULT_COLUMNS = classifier_data.DEFAULT_COLUMNS


@dataclasses.dataclass
class ClassificationSettings(FinetuningSettings):
  """run_classifier: the common settings plus the csv/tsv task's."""
  labels: list | None = setting(
      None, "Label set of a csv/tsv task (default: the labels of its "
      "training file, sorted).")
  text_column: str = setting(
      _DEFAULT_COLUMNS.text, "csv/tsv tasks: the header name of the text "
      "column (`text` also accepts `text_a`).")
  text_b_column: str = setting(
      _DEFAULT_COLUMNS.text_b, "csv/tsv tasks: the header name of the "
      "second text of a pair (optional when left at its default).")
  label_column: str = setting(
      _DEFAULT_COLUMNS.label, "csv/tsv tasks: the header name of the label "
      "column.")

  def check(self, needs_data_dir=True):
    if not self.task_name:
      raise FlagError("--task_name is required (one of "
                      f"{', '.join(classifier_data.TASK_NAMES)})")
    if self.labels is not None and len(set(self.labels)) < 2:
      raise FlagError(f"--labels: a classification task needs at least 2 "
                      f"labels, got {list(self.labels)}")
    super().check(needs_data_dir)


class ClassificationTask(base_task.FinetuningTask):
  """GLUE or csv/tsv classification (regression for sts-b)."""

  settings_class = ClassificationSettings

  @classmethod
  def settings_from_manifest(cls, recorded):
    # The run's labels, in their order (the head's classes).
    return {**super().settings_from_manifest(recorded),
            "labels": recorded.get("labels")}

  def __init__(self, settings, config, tokenizer):
    super().__init__(settings, config, tokenizer)
    self.data = classifier_data.get_task(
        settings.task_name, settings.labels, classifier_data.ColumnNames(
            settings.text_column, settings.text_b_column,
            settings.label_column))
    self.packer = Packer(tokenizer, settings.max_seq_length)
    self.is_regression = self.data.is_regression
    self.best_metric = self.data.best_metric
    self.label_keys = (("label_values",) if self.is_regression
                       else ("label_ids",))
    self.label_list = ()
    self._examples = {}

  def prepare(self):
    self.label_list = self._label_list()

  def _label_list(self):
    """The task's labels, --labels, the saved ones, or train's labels."""
    if self.is_regression:
      return ()
    if isinstance(self.data, classifier_data.GlueTask):
      return self.data.labels
    # A fine-tuned Hugging Face classifier names its labels (id2label).
    hf_labels = hf_checkpoint.default_label_names(
        self.settings.init_checkpoint)
    if self.settings.labels:
      labels = tuple(self.settings.labels)
    elif hf_labels:
      labels = tuple(hf_labels)
    elif self._has_saved_labels():
      labels = tuple(self.saved_label_list(LABEL_LIST_FILE))
    else:
      labels = self.data.labels_from(self.examples(base_task.TRAIN))
    if len(labels) < 2:
      raise FlagError(f"a classification task needs at least 2 labels, got "
                      f"{list(labels)}")
    self.saved_label_list(LABEL_LIST_FILE, labels)
    self.data.labels = labels
    return labels

  def _has_saved_labels(self):
    return os.path.exists(self.output_path(LABEL_LIST_FILE))

  def check_split_files(self, split):
    require_file(self.data.file_for(self.settings.data_dir, split),
                 f"{split} file")

  def read_split(self, split):
    self.examples(split)

  def examples(self, split):
    if split not in self._examples:
      self._examples[split] = self.data.read(self.settings.data_dir, split)
    return self._examples[split]

  # Data.

  def _spec(self):
    length = self.settings.max_seq_length
    spec = {name: ([length], tf.int32) for name in
            ("input_word_ids", "input_mask", "input_type_ids")}
    if self.is_regression:
      spec["label_values"] = ([], tf.float32)
    else:
      spec["label_ids"] = ([], tf.int64)
    return spec

  def _features(self, examples):
    label_index = {label: i for i, label in enumerate(self.label_list)}
    for example in examples:
      feature = self.packer.pack_text(example.text_a, example.text_b)
      if self.is_regression:
        feature["label_values"] = (example.label if example.label is not None
                                   else 0.0)
      else:
        feature["label_ids"] = (label_index[example.label]
                                if example.label is not None else 0)
      yield feature

  def build_inputs(self, split, batch_size, is_training):
    examples = self.examples(split)
    settings = self.settings
    key = {"input": feature_cache.file_signature(
               self.data.file_for(settings.data_dir, split)),
           "max_seq_length": settings.max_seq_length,
           "vocab": settings.spm_model_file or settings.vocab_file,
           "do_lower_case": settings.do_lower_case,
           "labels": list(self.label_list)}
    dataset, _ = self.record_inputs(
        split, lambda: self._features(examples), self._spec(), batch_size,
        is_training, cache_key=key)
    return dataset

  # Model.

  def build_model(self):
    return ClassifierModel(self.build_encoder(),
                           max(len(self.label_list), 1),
                           is_regression=self.is_regression)

  def build_losses(self, labels, outputs):
    if self.is_regression:
      return regression_loss(labels, outputs)
    return classification_loss(labels, outputs)

  def distillation_losses(self, labels, outputs, teacher_outputs,
                          temperature):
    if self.is_regression:
      # One score, no distribution to soften: the teacher's score is the
      # soft target (squared error, as the gold loss).
      return tf.square(outputs["predictions"] -
                       tf.stop_gradient(teacher_outputs["predictions"]))
    return distillation_loss.soft_cross_entropy(
        teacher_outputs["logits"], outputs["logits"], temperature)

  # Evaluation and prediction.

  def _gold(self, examples):
    if self.is_regression:
      return np.array([e.label for e in examples], np.float64)
    index = {label: i for i, label in enumerate(self.label_list)}
    return np.array([index[e.label] for e in examples])

  def _label_name(self, prediction):
    if self.is_regression:
      return f"{float(prediction):.6f}"
    return self.label_list[int(prediction)]

  def aggregate(self, split, outputs):
    metrics = None
    if self.has_gold(split):
      metrics = self.data.compute_metrics(self._gold(self.examples(split)),
                                          outputs["predictions"])
    return metrics, outputs

  def write_predictions(self, split, predictions):
    examples = self.examples(split)
    if split == self.eval_split:
      self.write_lines("eval_predictions.tsv", ["guid\tlabel\tprediction"] + [
          f"{example.guid}\t{example.label}\t{self._label_name(prediction)}"
          for example, prediction in zip(examples,
                                         predictions["predictions"])])
      return []
    if self.is_regression:
      rows = [f"{float(p):.6f}" for p in predictions["predictions"]]
    else:
      rows = ["\t".join(f"{p:.6f}" for p in probabilities)
              for probabilities in predictions["probabilities"]]
    self.write_lines("test_results.tsv", rows)
    self.write_lines("submit_results.tsv", ["index\tprediction"] + [
        f"{example.guid}\t{self._label_name(prediction)}"
        for example, prediction in zip(examples, predictions["predictions"])])
    return [f"wrote {self.output_path('test_results.tsv')}"]

  # Export.

  def serving_outputs(self):
    return (("predictions",) if self.is_regression
            else ("probabilities", "predictions")
            + classifier_serving.CLASS_OUTPUTS)

  def serving_model(self, model):
    if self.is_regression:
      return model
    return classifier_serving.LabelledClassifier(model, self.label_list)
