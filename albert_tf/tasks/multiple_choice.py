"""RACE-style multiple choice reading comprehension.

Data: tasks/race_data.py (JSON files under data_dir/{train,dev,test}/).
Model: tasks/multiple_choice_model.py (one logit per option).
Export: tasks/race_serving.py packs (article, question+option) in graph.

Defaults are the original run_race's (max_seq_length 512, max_qa_length 128,
learning_rate 1e-5, train_step 12000, warmup_step 1000, batch 32,
checkpoints every 1200 steps). Writes eval_predictions.tsv and, with
--do_predict, test_predictions.tsv (id, predicted letter, probabilities).
"""

import dataclasses

import numpy as np
import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.settings import setting
from albert_tf.tasks import base_task
from albert_tf.tasks import metrics
from albert_tf.tasks import race_data
from albert_tf.tasks import race_serving
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.tasks.finetuning_settings import task_default
from albert_tf.tasks.multiple_choice_model import MultipleChoiceModel
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.training import distillation_loss

# The model's outputs → the names the TF Serving export gives them.
SERVING_OUTPUTS = {"logits": "logits", "probabilities": "probabilities",
                   "predictions": "predicted_choice"}


@dataclasses.dataclass
class MultipleChoiceSettings(FinetuningSettings):
  """run_race: the original run_race defaults."""
  learning_rate: float = task_default("learning_rate", 1e-5)
  train_step: int = task_default("train_step", 12000)
  warmup_step: int = task_default("warmup_step", 1000)
  save_checkpoints_steps: int = task_default("save_checkpoints_steps", 1200)
  iterations_per_loop: int = task_default("iterations_per_loop", 1200)
  task_name: str | None = task_default("task_name", "race")
  max_qa_length: int = setting(
      128, "Maximum word pieces of the question + option segment (its end "
      "is kept).")
  num_choices: int = setting(4, "Options per question.")

  def check(self, needs_data_dir=True):
    super().check(needs_data_dir)
    if self.max_qa_length < 1 or self.num_choices < 1:
      raise FlagError(
          f"--max_qa_length ({self.max_qa_length}) and --num_choices "
          f"({self.num_choices}) must be positive")


class MultipleChoiceTask(base_task.FinetuningTask):
  """Picks one of num_choices options per question."""

  settings_class = MultipleChoiceSettings
  best_metric = "accuracy"

  @classmethod
  def export_settings(cls, settings):
    # The served packing (race_serving.RacePacking).
    return {"num_choices": settings.num_choices,
            "max_qa_length": settings.max_qa_length}

  def __init__(self, settings, config, tokenizer):
    super().__init__(settings, config, tokenizer)
    self.packer = Packer(tokenizer, settings.max_seq_length)
    self.letters = [chr(ord("A") + i) for i in range(settings.num_choices)]
    self._examples = {}

  def check_split_files(self, split):
    race_data.split_files(self.settings.data_dir, split)

  def read_split(self, split):
    self.examples(split)

  def examples(self, split):
    if split not in self._examples:
      self._examples[split] = race_data.read_split(
          self.settings.data_dir, split, self.settings.num_choices,
          require_answers=split != base_task.TEST)
    return self._examples[split]

  def build_inputs(self, split, batch_size, is_training):
    settings = self.settings
    shape = [settings.num_choices, settings.max_seq_length]
    spec = {"input_word_ids": (shape, tf.int32),
            "input_mask": (shape, tf.int32),
            "input_type_ids": (shape, tf.int32),
            "label_ids": ([], tf.int64)}
    examples = self.examples(split)
    dataset, _ = self.record_inputs(
        split, lambda: (race_data.encode(e, self.packer,
                                         settings.max_qa_length)
                        for e in examples),
        spec, batch_size, is_training)
    return dataset

  def build_model(self):
    return MultipleChoiceModel(self.build_encoder(),
                               self.settings.num_choices)

  def build_losses(self, labels, outputs):
    return classification_loss(labels, outputs)

  def distillation_losses(self, labels, outputs, teacher_outputs,
                          temperature):
    # Over the options of each question.
    return distillation_loss.soft_cross_entropy(
        teacher_outputs["logits"], outputs["logits"], temperature)

  def aggregate(self, split, outputs):
    metrics_dict = None
    if self.has_gold(split):
      gold = np.array([e.label for e in self.examples(split)])
      metrics_dict = {"accuracy": metrics.accuracy(gold,
                                                   outputs["predictions"])}
    return metrics_dict, outputs

  def write_predictions(self, split, predictions):
    with_gold = split == self.eval_split
    name = "eval_predictions.tsv" if with_gold else "test_predictions.tsv"
    lines = ["id\t" + ("answer\t" if with_gold else "") + "prediction\t"
             + "\t".join(f"p_{l}" for l in self.letters)]
    for example, prediction, probabilities in zip(
        self.examples(split), predictions["predictions"],
        predictions["probabilities"]):
      gold = [self.letters[example.label]] if with_gold else []
      lines.append("\t".join([example.guid] + gold +
                             [self.letters[prediction]] +
                             [f"{p:.6f}" for p in probabilities]))
    self.write_lines(name, lines)
    return [] if with_gold else [f"wrote {self.output_path(name)}"]

  def serving_outputs(self):
    return SERVING_OUTPUTS

  def serving_options(self):
    return {"multiple_choice": race_serving.RacePacking(
        self.settings.num_choices, self.settings.max_qa_length)}
