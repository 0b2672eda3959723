"""run_pretraining's settings: the original flags (same names and defaults)
and ours, and the checks of their combinations that need no file.

The command line (albert_tf/run_pretraining.py) is this dataclass through
cli/flag_table; Python callers build it with defaults(**values) and hand it
to training/pretraining_job.py.
"""

import dataclasses
import re

from albert_tf import settings as settings_lib
from albert_tf.errors import FlagError
from albert_tf.modeling.layers.recompute import RECOMPUTE_MODES
from albert_tf.settings import setting
from albert_tf.training import distillation_loss
from albert_tf.training import distribution
from albert_tf.training import optimization

MIXED_PRECISION = ("none", "bfloat16", "float16")
REQUIRED = ("albert_config_file", "output_dir")


class UsageError(FlagError):
  """A flag, file or record that cannot work; the message says which."""


@dataclasses.dataclass
class PretrainingSettings(distribution.DistributionSettings):
  """The original run_pretraining flags (same names and defaults) and ours."""
  albert_config_file: str | None = setting(
      None, "The ALBERT model config JSON (original format).")
  input_file: str | None = setting(
      None, "Comma-separated globs of pretraining TFRecords "
      "(create_pretraining_data output).")
  eval_input_file: str | None = setting(
      None, "TFRecords for --do_eval (default: --input_file, as in the "
      "original).")
  output_dir: str | None = setting(
      None, "Where checkpoints, summaries and results go.")
  init_checkpoint: str | None = setting(
      None, "Initial weights: an original TF1 checkpoint (Google or "
      "albert_zh), one of ours (prefix or directory) or a Hugging Face "
      "ALBERT directory (whose config.json and spiece.model then serve as "
      "--albert_config_file and --spm_model_file unless given). Used only "
      "when --output_dir has no checkpoint yet.")
  init_from_group0: bool = setting(
      False, "Initialise every group from group_0 of init_checkpoint.")
  max_seq_length: int = setting(512, "Sequence length of the records.")
  max_predictions_per_seq: int = setting(20, "Masked positions per record.")
  do_train: bool = setting(False, "Whether to train.")
  do_eval: bool = setting(False, "Whether to evaluate.")
  train_batch_size: int = setting(
      4096, "Global training batch, split across replicas.")
  eval_batch_size: int = setting(64, "Global eval batch.")
  optimizer: str = setting("lamb", "lamb or adamw, with the original's math.",
                           choices=optimization.OPTIMIZERS)
  learning_rate: float = setting(0.00176, "Peak learning rate.")
  poly_power: float = setting(1.0, "Power of the polynomial decay.")
  num_train_steps: int = setting(125000, "Training steps.")
  num_warmup_steps: int = setting(3125, "Linear warmup steps.")
  start_warmup_step: int = setting(0, "Step warmup starts at.")
  save_checkpoints_steps: int = setting(
      5000, "Checkpoint (and, with --do_eval, evaluate) every this many "
      "steps.")
  keep_checkpoint_max: int = setting(5, "Checkpoints to keep.")
  iterations_per_loop: int = setting(
      1000, "Steps per tf.function call (and per progress line).")
  max_eval_steps: int = setting(100, "Maximum eval batches.")
  use_xla: bool = setting(False, "Compile the training step with XLA.")
  mixed_precision: str = setting(
      "none", "Compute dtype: bfloat16 (TPU, recent CPUs/GPUs) or float16 "
      "(GPUs; with dynamic loss scaling). Weights stay float32.",
      choices=MIXED_PRECISION)
  dynamic_masking: bool = setting(
      False, "Re-mask every epoch in the input pipeline; needs data written "
      "with --masked_lm_prob=0 and --spm_model_file or --vocab_file.")
  spm_model_file: str | None = setting(
      None, "SentencePiece model (--dynamic_masking only).")
  vocab_file: str | None = setting(
      None, "WordPiece vocab (--dynamic_masking only).")
  masked_lm_prob: float = setting(0.15, "Dynamic masking probability.")
  ngram: int = setting(3, "Dynamic masking: maximum n-gram.")
  do_whole_word_mask: bool = setting(True, "Dynamic masking: whole words.")
  favor_shorter_ngram: bool = setting(
      True, "Dynamic masking: favor shorter n-grams.")
  gradient_accumulation_steps: int = setting(
      1, "Split each replica's batch into this many micro-batches, run one "
      "after the other, and take one optimizer step on their summed "
      "gradients: the same update as --train_batch_size at once, with a "
      "K-th of the activation memory. --train_batch_size stays the global "
      "batch and must be divisible by K x replicas.")
  recompute_activations: str = setting(
      "none", "Recompute the shared transformer block's activations in the "
      "backward pass instead of keeping them: attention (the seq x seq "
      "attention tensors) or block (everything but each block's input). "
      "Less memory, more compute, same gradients.", choices=RECOMPUTE_MODES)
  seed: int = setting(12345, "Seed of initialisation and input order; the "
                      "same seed gives the same run.")
  teacher_checkpoint: str | None = setting(
      None, "Distil from a frozen teacher (DistilBERT's recipe): a "
      "pretraining checkpoint prefix (original TF1 or ours), a "
      "run_pretraining --output_dir (its model.ckpt-best, else its newest "
      "checkpoint) or a Hugging Face ALBERT directory. The student "
      "(--albert_config_file) learns from the teacher's MLM distribution "
      "at the masked positions and its final hidden states besides the "
      "gold labels. Same vocabulary as the student; loaded once, never "
      "trained, not saved in the student's checkpoints.")
  teacher_config_file: str | None = setting(
      None, "The teacher's ALBERT config JSON; default: the "
      "albert_config.json (or a Hugging Face config.json) beside "
      "--teacher_checkpoint.")
  distillation_temperature: float = setting(
      2.0, "With --teacher_checkpoint: the softmax temperature of the soft "
      "MLM targets (the soft loss is scaled by its square).")
  distillation_alpha: float = setting(
      0.5, "With --teacher_checkpoint: the weight of the soft MLM loss; the "
      "gold MLM loss gets 1 - alpha (the SOP loss keeps weight 1).")
  distillation_cosine_weight: float = setting(
      1.0, "With --teacher_checkpoint: the weight of the cosine loss "
      "(1 - cos) between the teacher's and the student's final hidden "
      "states over the real tokens; 0 turns it off. Needs the same "
      "hidden_size.")


def defaults(**values):
  """run()'s settings from Python: the flag defaults with `values` on top."""
  return settings_lib.defaults(PretrainingSettings, **values)


# -- checking the request --------------------------------------------------


# What the example flagfiles (run_scripts/pretrain_*_tpu.flags) leave for
# the user to fill in: gs://YOUR_BUCKET/..., YOUR_TPU.
_PLACEHOLDER = re.compile(r"\bYOUR_[A-Z0-9_]+")


def check_placeholders(values):
  """Refuses flags still holding an example flagfile's placeholders (run as
  written, the TPU flagfiles would otherwise fail deep in a metadata-server
  lookup, with an 87-line traceback)."""
  found = {}
  for field in dataclasses.fields(values):
    value = getattr(values, field.name)
    if isinstance(value, str):
      for placeholder in _PLACEHOLDER.findall(value):
        found.setdefault(placeholder, []).append(f"--{field.name}={value}")
  if found:
    flags_listed = sorted({flag for flags in found.values() for flag in flags})
    raise UsageError(
        f"{', '.join(flags_listed)}: replace the example flagfile's "
        f"placeholder{'s' if len(found) > 1 else ''} "
        f"{' and '.join(sorted(found))} with your own (your bucket, your TPU's "
        "name); flags given after --flagfile override its lines")


def check_flags(values):
  """Raises UsageError for flag combinations that cannot work."""
  missing = [f"--{name}" for name in REQUIRED if not getattr(values, name)]
  if not values.do_train and not values.do_eval:
    missing.append("--do_train and/or --do_eval")
  if not values.input_file:
    missing.append("--input_file")
  if missing:
    raise UsageError(f"missing required flags: {', '.join(missing)}")
  positive = ("train_batch_size", "eval_batch_size", "num_train_steps",
              "save_checkpoints_steps", "keep_checkpoint_max",
              "iterations_per_loop", "max_eval_steps", "max_seq_length",
              "max_predictions_per_seq")
  for name in positive:
    if getattr(values, name) <= 0:
      raise UsageError(f"--{name} must be positive, got "
                       f"{getattr(values, name)}")
  if not values.learning_rate > 0:
    raise UsageError(f"--learning_rate must be positive, got "
                     f"{values.learning_rate}")
  if not values.poly_power > 0:
    # (1 - step/decay_steps)^p with p <= 0 is >= 1: the rate would climb
    # above its peak (or to infinity at the last step) instead of decaying.
    raise UsageError(f"--poly_power must be positive (1.0 is the original's "
                     f"linear decay), got {values.poly_power}")
  if values.num_warmup_steps < 0 or values.start_warmup_step < 0:
    raise UsageError("--num_warmup_steps and --start_warmup_step must not "
                     "be negative")
  if values.start_warmup_step >= values.num_train_steps:
    raise UsageError(f"--start_warmup_step ({values.start_warmup_step}) must "
                     f"be below --num_train_steps ({values.num_train_steps})")
  if values.gradient_accumulation_steps < 1:
    raise UsageError("--gradient_accumulation_steps must be at least 1, got "
                     f"{values.gradient_accumulation_steps}")
  if values.dynamic_masking and not 0 < values.masked_lm_prob <= 1:
    raise UsageError(f"--masked_lm_prob must be in (0, 1] for "
                     f"--dynamic_masking, got {values.masked_lm_prob}")
  if values.dynamic_masking and not (values.spm_model_file or
                                     values.vocab_file):
    raise UsageError("--dynamic_masking needs --spm_model_file or "
                     "--vocab_file (for the [CLS]/[SEP]/[MASK] ids)")
  check_distillation_flags(values)


def check_distillation_flags(values):
  """The distillation flags: ranges, and nothing without a teacher."""
  if not values.teacher_checkpoint:
    if values.teacher_config_file:
      raise UsageError("--teacher_config_file needs --teacher_checkpoint")
    return
  distillation_loss.check_flags(values.distillation_temperature,
                                values.distillation_alpha)
  if not values.distillation_cosine_weight >= 0:
    raise UsageError(f"--distillation_cosine_weight must not be negative, "
                     f"got {values.distillation_cosine_weight}")
