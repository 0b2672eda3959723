"""The quick start's settings (its command line). albert_tf/quickstart.py
turns flags into them; quickstart_job.run(settings) does what they ask."""

import dataclasses

from albert_tf import settings as settings_lib
from albert_tf.errors import FlagError
from albert_tf.files.locations import check_output_dir
from albert_tf.settings import setting


@dataclasses.dataclass
class QuickstartSettings:
  """The quick start's command line."""
  output_dir: str = setting(
      "albert_quickstart", "Where the corpus, vocabulary, data, models and "
      "exports go; a rerun reuses the stages that finished there with the "
      "same settings.")
  vocab_size: int = setting(
      2000, "SentencePiece vocabulary size (the tiny model's vocab_size).")
  dupe_factor: int = setting(
      4, "create_pretraining_data --dupe_factor: times each document is "
      "used, masked differently.")
  num_train_steps: int | None = setting(
      None, "Pretraining steps; default: the tiny flagfile's 600. Warmup, "
      "evaluation and progress intervals scale down with fewer steps. Must "
      "be positive: there is no model to export without pretraining.")
  finetune_steps: int = setting(
      300, "Fine-tuning steps of the dish tagger.")


def defaults(**values):
  """QuickstartSettings from Python: the flag defaults with `values` on top."""
  return settings_lib.defaults(QuickstartSettings, **values)


def check_settings(settings):
  """Raises FlagError for settings that cannot work, before any work."""
  if not settings.output_dir:
    raise FlagError("--output_dir must not be empty")
  # train_sentencepiece checks the vocabulary size in detail.
  for name in ("vocab_size", "dupe_factor", "finetune_steps"):
    if getattr(settings, name) < 1:
      raise FlagError(f"--{name} must be positive, got "
                      f"{getattr(settings, name)}")
  if settings.num_train_steps is not None and settings.num_train_steps < 1:
    raise FlagError(
        f"--num_train_steps must be positive, got {settings.num_train_steps}"
        " (leave it out for the tiny flagfile's steps; every later stage "
        "needs a pretrained model)")
  # A read-only or foreign --output_dir: one line now, not a
  # PermissionError at the first record written.
  check_output_dir(settings.output_dir, "output_dir")
