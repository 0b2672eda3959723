"""The settings every fine-tuning job shares, named like the original flags.

A task's settings class derives from FinetuningSettings, adds its own fields
and changes defaults with `task_default` (SQuAD: max_seq_length 384). The
entry point turns the class into absl flags (albert_tf.cli.flag_table);
Python callers build it directly or with `settings.defaults(cls, ...)`.
"""

import dataclasses
import os

from albert_tf.errors import FlagError
from albert_tf.modeling.layers.recompute import RECOMPUTE_MODES
from albert_tf.settings import setting
from albert_tf.training import distillation_loss
from albert_tf.training.distribution import DistributionSettings
from albert_tf.training.optimization import OPTIMIZERS

FINETUNING_RECIPES = ("stable", "original")
# Measured in docs/finetuning.md (benchmarks/finetuning_stability.py).
STABLE_HEAD_LEARNING_RATE_MULTIPLIER = 10.0


@dataclasses.dataclass
class FinetuningSettings(DistributionSettings):
  """Model, tokenizer, data, output and training settings of a task."""
  albert_config_file: str | None = setting(
      None, "The albert_config.json of the pretrained model.")
  preset: str | None = setting(
      None, "A named config (see albert_tf.describe) instead of "
      "--albert_config_file.")
  vocab_file: str | None = setting(
      None, "WordPiece vocabulary (used when --spm_model_file is not given).")
  spm_model_file: str | None = setting(None, "SentencePiece model.")
  do_lower_case: bool = setting(True, "Lower-case the input text.")
  init_checkpoint: str | None = setting(
      None, "Pretrained weights: an original TF1 checkpoint, a TF2 "
      "checkpoint (run_pretraining's output directory or a prefix), an "
      "encoder SavedModel directory (tfhub_export) or a Hugging Face ALBERT "
      "directory (its config.json and spiece.model then serve as "
      "--albert_config_file and --spm_model_file unless given). Used only "
      "when output_dir has no checkpoint to resume from.")
  output_dir: str | None = setting(
      None, "Where checkpoints, the best checkpoint, evaluation results and "
      "predictions go.")
  data_dir: str | None = setting(None, "The task's input files.")
  task_name: str | None = setting(None, "The task to train.")
  max_seq_length: int = setting(
      512, "Maximum input length in word pieces, after packing.")
  do_train: bool = setting(False, "Fine-tune on the training set.")
  do_eval: bool = setting(
      False, "Evaluate on the dev set (after every checkpoint while "
      "training, keeping the best).")
  do_predict: bool = setting(
      False, "Predict the test set with the best checkpoint.")
  train_batch_size: int = setting(32, "Global training batch size.")
  eval_batch_size: int = setting(8, "Evaluation batch size.")
  predict_batch_size: int = setting(8, "Prediction batch size.")
  learning_rate: float = setting(5e-5, "Peak learning rate.")
  train_step: int = setting(1000, "Training steps.")
  warmup_step: int = setting(0, "Linear warmup steps.")
  save_checkpoints_steps: int = setting(
      1000, "Save (and, with --do_eval, evaluate) every this many steps.")
  keep_checkpoint_max: int = setting(
      5, "Training checkpoints kept (the best is kept apart).")
  iterations_per_loop: int = setting(
      1000, "Steps per call into the compiled training loop.")
  gradient_accumulation_steps: int = setting(
      1, "Process each global batch as this many micro-batches and one "
      "optimizer step (the full batch's math, a fraction of the memory).")
  recompute_activations: str = setting(
      "none", "Recompute the shared transformer block's activations in the "
      "backward pass instead of keeping them: attention (the seq x seq "
      "attention tensors) or block (everything but each block's input). "
      "Less memory, more compute, same gradients; inference is unaffected.",
      choices=RECOMPUTE_MODES)
  optimizer: str = setting("adamw", "lamb or adamw (the original's math).",
                           choices=OPTIMIZERS)
  finetuning_recipe: str = setting(
      "stable", "stable: Adam's bias correction and a faster-learning task "
      "head, which keep small-data fine-tuning of pretrained weights from "
      "collapsing (measured in docs/finetuning.md; a model trained from "
      "random initialisation, without --init_checkpoint, keeps the "
      "original's update); original: the original run_classifier's "
      "optimizer update, bit for bit. The two flags below override single "
      "parts.", choices=FINETUNING_RECIPES)
  adam_bias_correction: bool | None = setting(
      None, "Divide Adam's moments by (1 - beta^step) (default: on in the "
      "stable recipe, off in the original).")
  head_learning_rate_multiplier: float | None = setting(
      None, "The task head's learning rate as a multiple of "
      "--learning_rate; the pretrained encoder keeps --learning_rate "
      f"(default: {STABLE_HEAD_LEARNING_RATE_MULTIPLIER:g} in the stable "
      "recipe, 1 in the original).")
  seed: int = setting(
      12345, "Random seed (head initialisation, dropout, shuffling).")
  export_dir: str | None = setting(
      None, "Write a TF Serving SavedModel of the best fine-tuned model here "
      "(serving_default takes raw text).")
  teacher_checkpoint: str | None = setting(
      None, "Distil from a teacher: a fine-tuning output directory of the "
      "same task (its config, labels and best checkpoint). The student "
      "(--albert_config_file) learns from the teacher's soft targets and "
      "the gold labels (docs/distillation.md); teacher and student share "
      "the tokenizer.")
  distillation_temperature: float = setting(
      2.0, "With --teacher_checkpoint: the softmax temperature of the soft "
      "targets (the soft loss is scaled by its square).")
  distillation_alpha: float = setting(
      0.5, "With --teacher_checkpoint: the weight of the soft loss; the "
      "gold loss gets 1 - alpha.")
  # Not a flag: the original's weight decay of AdamW/LAMB.
  weight_decay_rate: float = 0.01

  def optimizer_options(self):
    """{bias_correction, head_learning_rate_multiplier}: the recipe's
    values with the explicit flags on top.

    The stable recipe is for fine-tuning pretrained weights: without an
    --init_checkpoint every variable starts random, there is no pretrained
    encoder to protect from the head, and the original's larger early steps
    train faster (a tiny tagger from scratch, 200 steps: span F1 0.94 with
    the original update, 0.81 with the stable one).
    """
    stable = (self.finetuning_recipe == "stable" and
              bool(self.init_checkpoint))
    bias_correction = self.adam_bias_correction
    if bias_correction is None:
      bias_correction = stable
    multiplier = self.head_learning_rate_multiplier
    if multiplier is None:
      multiplier = STABLE_HEAD_LEARNING_RATE_MULTIPLIER if stable else 1.0
    return {"bias_correction": bool(bias_correction),
            "head_learning_rate_multiplier": float(multiplier)}

  def check(self, needs_data_dir=True):
    """Raises FlagError for missing or inconsistent settings.

    needs_data_dir=False for tasks that name their input files instead
    (run_squad's --train_file / --predict_file).
    """
    if not (self.do_train or self.do_eval or self.do_predict or
            self.export_dir):
      raise FlagError("at least one of --do_train, --do_eval, --do_predict "
                      "or --export_dir is required")
    if not self.output_dir:
      raise FlagError("--output_dir is required")
    if bool(self.albert_config_file) == bool(self.preset):
      raise FlagError("pass exactly one of --albert_config_file or --preset")
    if not self.spm_model_file and not self.vocab_file:
      raise FlagError("pass --spm_model_file (SentencePiece) or --vocab_file "
                      "(WordPiece)")
    for name in ("albert_config_file", "spm_model_file", "vocab_file"):
      path = getattr(self, name)
      if path and not os.path.isfile(path):
        raise FlagError(f"--{name} {path} does not exist")
    if needs_data_dir and (
        self.do_train or self.do_eval or self.do_predict) and (
            not self.data_dir or not os.path.isdir(self.data_dir)):
      raise FlagError(f"--data_dir {self.data_dir} is not a directory")
    self.check_training()

  def check_before_data(self):
    """The checks a run makes before it reads its data (subclasses whose
    schedule depends on the data's size check it later)."""
    self.check_training()

  def check_training(self):
    for name in ("train_step", "train_batch_size", "save_checkpoints_steps",
                 "keep_checkpoint_max", "iterations_per_loop"):
      if getattr(self, name) <= 0:
        raise FlagError(f"--{name} must be positive, got "
                        f"{getattr(self, name)}")
    if not 0 <= self.warmup_step < self.train_step:
      raise FlagError(f"--warmup_step must be in [0, train_step), got "
                      f"{self.warmup_step}")
    if self.learning_rate <= 0:
      raise FlagError(f"--learning_rate must be positive, got "
                      f"{self.learning_rate}")
    if self.finetuning_recipe not in FINETUNING_RECIPES:
      raise FlagError(f"--finetuning_recipe must be one of "
                      f"{', '.join(FINETUNING_RECIPES)}, got "
                      f"{self.finetuning_recipe!r}")
    distillation_loss.check_flags(self.distillation_temperature,
                                  self.distillation_alpha)
    if (self.head_learning_rate_multiplier is not None and
        not self.head_learning_rate_multiplier > 0):
      raise FlagError(f"--head_learning_rate_multiplier must be positive, "
                      f"got {self.head_learning_rate_multiplier}")


def task_default(name, default):
  """A FinetuningSettings field redeclared with a task's own default."""
  field = FinetuningSettings.__dataclass_fields__[name]
  return setting(default, field.metadata["help"],
                 choices=field.metadata.get("choices"))
