"""What every fine-tuning entry point does around its task.

Checking the common flags, building the config/tokenizer/encoder, the
init function, the strategy, the TF Serving export, and turning user errors
into `error: ...` lines (exit status 1).
"""

import os
import sys

from absl import logging
import tensorflow as tf
import tf_keras

from albert_tf import checkpoints
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf import presets
from albert_tf.config import AlbertConfigError
from albert_tf.checkpoints import encoder_init
from albert_tf.tokenization import python_input_packer
from albert_tf.tasks.input_files import InputFormatError
from albert_tf.training.finetuning_trainer import NoCheckpointError
from albert_tf.training.finetuning_trainer import TrainingSettings
from albert_tf.modeling import AlbertEncoder
from albert_tf.training import distribution

# Errors that are the user's input, reported without a stack trace.
USER_ERRORS = (InputFormatError, NoCheckpointError, AlbertConfigError,
               checkpoints.CheckpointMismatchError, FileNotFoundError,
               ValueError)


class FlagError(ValueError):
  """A flag is missing or inconsistent."""


def check_common_flags(values, needs_data_dir=True):
  """Raises FlagError for missing or inconsistent common flags.

  needs_data_dir=False for tasks that name their input files instead
  (run_squad's --train_file / --predict_file).
  """
  # A Hugging Face --init_checkpoint brings its config.json and spiece.model.
  values.albert_config_file, values.spm_model_file = (
      checkpoints.resolve_model_files(
          values.init_checkpoint, values.albert_config_file,
          values.spm_model_file, preset=values.preset,
          vocab_file=values.vocab_file))
  if not (values.do_train or values.do_eval or values.do_predict or
          values.export_dir):
    raise FlagError("at least one of --do_train, --do_eval, --do_predict or "
                    "--export_dir is required")
  if not values.output_dir:
    raise FlagError("--output_dir is required")
  if bool(values.albert_config_file) == bool(values.preset):
    raise FlagError("pass exactly one of --albert_config_file or --preset")
  if not values.spm_model_file and not values.vocab_file:
    raise FlagError("pass --spm_model_file (SentencePiece) or --vocab_file "
                    "(WordPiece)")
  for name in ("albert_config_file", "spm_model_file", "vocab_file"):
    path = getattr(values, name)
    if path and not os.path.isfile(path):
      raise FlagError(f"--{name} {path} does not exist")
  if needs_data_dir and (
      values.do_train or values.do_eval or values.do_predict) and (
      not values.data_dir or not os.path.isdir(values.data_dir)):
    raise FlagError(f"--data_dir {values.data_dir} is not a directory")
  TrainingSettings.from_flags(values).validate()


def load_config(values):
  config = presets.load_config(values.albert_config_file, values.preset)
  if values.max_seq_length > config.max_position_embeddings:
    raise FlagError(
        f"--max_seq_length {values.max_seq_length} exceeds the model's "
        f"max_position_embeddings {config.max_position_embeddings}")
  return config


def make_tokenizer(values):
  return python_input_packer.make_tokenizer(values.vocab_file, values.spm_model_file,
                                 values.do_lower_case)


def check_vocab_fits(tokenizer, config):
  size = len(tokenizer.vocab)
  if size > config.vocab_size:
    raise FlagError(f"the tokenizer has {size} tokens but the model's "
                    f"vocab_size is {config.vocab_size}")


def make_init_fn(init_checkpoint):
  """init_fn for Trainer.restore_or_initialize: loads model.encoder."""
  if not init_checkpoint:
    return None

  def init_fn(model):
    return encoder_init.init_encoder(model.encoder, init_checkpoint)
  return init_fn


def strategy_from_flags(values):
  return distribution.strategy_from_settings(values)


def encoder_builder(config):
  return lambda: AlbertEncoder(config)


def set_seed(seed):
  tf_keras.utils.set_random_seed(seed)


def export_serving(task_model, output_names, values, seq_length=None,
                   multiple_choice=None):
  """TF Serving export via tfhub_export.serving_export (issue 6).

  serving_default takes raw text (tokenized in graph) and returns the named
  outputs: output_names lists the task model's keys, or maps them to served
  names. multiple_choice: see export_serving_model (run_race). Returns the
  export path.
  """
  try:
    from tfhub_export import serving_export  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise NotImplementedError(
        "--export_dir needs tfhub_export.serving_export (issue 6)") from e
  return serving_export.export_serving_model(
      task_model, values.export_dir, spm_model_file=values.spm_model_file,
      vocab_file=None if values.spm_model_file else values.vocab_file,
      do_lower_case=values.do_lower_case,
      seq_length=seq_length or values.max_seq_length, overwrite=True,
      output_names=(dict(output_names) if isinstance(output_names, dict)
                    else list(output_names)),
      multiple_choice=multiple_choice)


def run_main(main_fn, values):
  """Runs main_fn(values); user errors → `error: ...` on stderr, status 1."""
  try:
    return main_fn(values) or 0
  except NotImplementedError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  except USER_ERRORS as e:
    logging.debug("user error", exc_info=True)
    print(f"error: {e}", file=sys.stderr)
    return 1


def write_eval_results(path, metrics, step=None):
  """The original's eval_results.txt: `key = value` lines."""
  lines = []
  if step is not None:
    lines.append(f"global_step = {step}")
  lines += [f"{key} = {value}" for key, value in sorted(metrics.items())]
  write_text_atomically(path, "\n".join(lines) + "\n")


def describe_device():
  return ", ".join(d.name for d in tf.config.list_logical_devices())
