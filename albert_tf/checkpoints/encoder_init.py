"""Initialising a fine-tuning model's AlbertEncoder from any pretrained source.

`--init_checkpoint` may be
  - an original TF1 checkpoint (Google's or albert_zh's names; prefix or dir),
  - one of our TF2 checkpoints: run_pretraining's output (directory or
    prefix; a pretrainer's `encoder` is taken), or a fine-tuning checkpoint,
  - an encoder SavedModel (TF Hub style) written by tfhub_export (a directory
    holding saved_model.pb),
  - a Hugging Face ALBERT directory (config.json + model.safetensors),
  - a fine-tuning output directory: its best/ checkpoint (else its newest).

ALBERT shares one transformer block across its layers, so a model with
fewer (or more) num_hidden_layers and the same widths has exactly the same
variables: a 6-layer student starts from a 12-layer teacher's encoder.
When the source's config is known (a fine-tuning directory's manifest, an
albert_config.json beside the checkpoint), widths that differ are one clear
error, and a different depth is said in the returned description.
"""

import os

from google.protobuf import message
import tensorflow as tf

from albert_tf import checkpoints
from albert_tf.checkpoints import integrity
from albert_tf.config import AlbertConfig
from albert_tf.errors import UserError

# What must agree between a checkpoint's config and the model it loads into;
# num_hidden_layers may differ (the block is shared).
WIDTH_KEYS = ("vocab_size", "embedding_size", "hidden_size",
              "intermediate_size", "num_attention_heads", "num_hidden_groups",
              "inner_group_num", "type_vocab_size", "max_position_embeddings")
CONFIG_FILE = "albert_config.json"


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
  source, source_config = resolve_init_source(path)
  depth = check_widths(encoder.config, source_config, path)
  result = checkpoints.load_checkpoint(encoder, source)
  if isinstance(result, checkpoints.LoadReport):
    message = (f"loaded {len(result.loaded)} encoder variables "
               f"({result.flavor} flavor, TF1 names) from {result.checkpoint}")
  elif isinstance(result, checkpoints.HfLoadReport):
    message = str(result).splitlines()[0]
  else:
    message = f"restored the encoder from TF2 checkpoint {result}"
  if depth:
    message = (f"loaded encoder from {path} ({depth[0]} layers) into a "
               f"{depth[1]}-layer student (one shared block: the same "
               f"variables); {message}")
  return message


def _source_config(path):
  """The config of the checkpoint at `path`, or None when unknown."""
  folder = path if os.path.isdir(path) else os.path.dirname(path)
  candidate = os.path.join(folder, CONFIG_FILE)
  if not os.path.isfile(candidate):
    return None
  try:
    return AlbertConfig.from_json_file(candidate)
  except UserError:
    return None  # Not ours to judge: the weights still decide.


def resolve_init_source(path):
  """(what to load, its AlbertConfig or None) for an --init_checkpoint.

  A fine-tuning output directory means its best model (the one it
  reports), with the config its manifest recorded; otherwise the path
  itself, with an albert_config.json found in or beside it.
  """
  # The fine-tuning layout is the tasks' (best/, the manifest).
  from albert_tf.tasks import teacher  # pylint: disable=g-import-not-at-top
  manifest = teacher.read_finetuning_manifest(path)
  if manifest is not None:
    checkpoint = teacher.find_finetuned_checkpoint(path)
    if checkpoint is not None:
      try:
        config = AlbertConfig.from_dict(manifest["albert_config"],
                                        source=path)
      except UserError:
        config = None
      return checkpoint, config
  if checkpoints.is_hf_directory(path):
    return path, None
  return path, _source_config(path)


def check_widths(config, source_config, path):
  """Raises CheckpointMismatchError (one line) when the source's widths are
  not the model's; returns (source layers, model layers) when only the
  depth differs, else None."""
  if source_config is None:
    return None
  differing = [f"{key} {getattr(source_config, key)} there, "
               f"{getattr(config, key)} here" for key in WIDTH_KEYS
               if getattr(source_config, key) != getattr(config, key)]
  if differing:
    raise checkpoints.CheckpointMismatchError(
        f"--init_checkpoint {path} does not fit the model's config: "
        f"{'; '.join(differing)} (a shallower student may differ from its "
        "teacher in num_hidden_layers only)")
  layers = (source_config.num_hidden_layers, config.num_hidden_layers)
  return layers if layers[0] != layers[1] else None


def verify_init_checkpoint(init_checkpoint, output_dir=None, config=None):
  """Reads every tensor of an --init_checkpoint (TF1 or ours) up front.

  Loading happens only once the model is built, after the run has set up
  its output directory; a damaged or missing checkpoint must stop the run
  before it writes anything. Skipped when `output_dir` already holds a
  checkpoint (the run resumes from it and ignores --init_checkpoint).
  SavedModels and Hugging Face directories are left to their loaders.
  With `config` (the model's), a source whose config is known must have
  its widths (check_widths).
  Raises CheckpointNotFoundError or DamagedCheckpointError naming the files,
  CheckpointMismatchError for other widths.
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
  source, source_config = resolve_init_source(path)
  if config is not None:
    check_widths(config, source_config, path)
  integrity.verify_checkpoint(checkpoints.resolve_checkpoint(source))


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
