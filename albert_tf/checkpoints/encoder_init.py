"""Initialising a fine-tuning model's AlbertEncoder from any pretrained source.

`--init_checkpoint` may be
  - an original TF1 checkpoint (Google's or albert_zh's names; prefix or dir),
  - one of our TF2 checkpoints: run_pretraining's output (directory or
    prefix; a pretrainer's `encoder` is taken), or a fine-tuning checkpoint,
  - an encoder SavedModel (TF Hub style) written by tfhub_export (a directory
    holding saved_model.pb),
  - a Hugging Face ALBERT directory (config.json + model.safetensors).
"""

import os

from google.protobuf import message
import tensorflow as tf

from albert_tf import checkpoints
from albert_tf.checkpoints import integrity


def is_saved_model(path):
  return bool(path) and tf.io.gfile.isdir(path) and tf.io.gfile.exists(
      os.path.join(path, "saved_model.pb"))


def init_encoder(encoder, init_checkpoint):
  """Loads pretrained weights into `encoder`; returns a one-line description.

  Raises albert_tf.checkpoints.CheckpointMismatchError (the message lists the
  variables) when the source does not fit the config,
  CheckpointNotFoundError (a FileNotFoundError) when nothing is at the path,
  DamagedCheckpointError when its files are truncated or corrupt.
  """
  path = os.fspath(init_checkpoint)
  if is_saved_model(path):
    return _init_from_saved_model(encoder, path)
  if not tf.io.gfile.exists(path) and not tf.io.gfile.exists(
      path + ".index"):
    raise checkpoints.CheckpointNotFoundError(
        f"--init_checkpoint {path} does not exist")
  result = checkpoints.load_checkpoint(encoder, path)
  if isinstance(result, checkpoints.LoadReport):
    return (f"loaded {len(result.loaded)} encoder variables ({result.flavor} "
            f"flavor, TF1 names) from {result.checkpoint}")
  if isinstance(result, checkpoints.HfLoadReport):
    return str(result).splitlines()[0]
  return f"restored the encoder from TF2 checkpoint {result}"


def verify_init_checkpoint(init_checkpoint, output_dir=None):
  """Reads every tensor of an --init_checkpoint (TF1 or ours) up front.

  Loading happens only once the model is built, after the run has set up
  its output directory; a damaged or missing checkpoint must stop the run
  before it writes anything. Skipped when `output_dir` already holds a
  checkpoint (the run resumes from it and ignores --init_checkpoint).
  SavedModels and Hugging Face directories are left to their loaders.
  Raises CheckpointNotFoundError or DamagedCheckpointError naming the files.
  """
  if not init_checkpoint:
    return
  if output_dir and tf.io.gfile.exists(
      integrity.checkpoint_state_path(output_dir)):
    return
  path = os.fspath(init_checkpoint)
  if is_saved_model(path) or checkpoints.is_hf_directory(path):
    return
  if not tf.io.gfile.exists(path) and not tf.io.gfile.exists(
      path + ".index"):
    raise checkpoints.CheckpointNotFoundError(
        f"checkpoint {path} does not exist (neither a file, a directory nor "
        "a checkpoint prefix)")
  integrity.verify_checkpoint(checkpoints.resolve_checkpoint(path))


def _init_from_saved_model(encoder, path):
  # tfhub_export's encoder exporter defines the SavedModel layout, so its
  # reader is used.
  try:
    from tfhub_export import encoder_export  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise NotImplementedError(
        "initialising from an encoder SavedModel needs "
        "tfhub_export.encoder_export") from e
  try:
    if hasattr(encoder_export, "assign_from_saved_model"):
      count = encoder_export.assign_from_saved_model(encoder, path)
    else:
      loaded = encoder_export.load_encoder_from_saved_model(
          path, config=encoder.config)
      for target, source in zip(encoder.weights, loaded.weights):
        target.assign(source)
      count = len(encoder.weights)
  except integrity.READ_ERRORS + (message.DecodeError, OSError) as e:
    # A truncated or corrupt saved_model.pb (OSError "Cannot parse file")
    # or variables/ file, or one that cannot be opened.
    raise checkpoints.DamagedCheckpointError(
        f"encoder SavedModel {path} is damaged or unreadable (its "
        f"saved_model.pb or variables/ files): "
        f"{getattr(e, 'message', None) or e}") from e
  return f"loaded {count} encoder variables from SavedModel {path}"
