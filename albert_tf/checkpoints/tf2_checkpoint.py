"""Native TF2 (object-based) checkpoints of our models, and format detection.

Our checkpoints have one root object, `model`: the AlbertEncoder or the
AlbertPretrainer that was saved. An encoder can be restored from a
pretrainer's checkpoint (it is the pretrainer's `encoder` child).
"""

import tensorflow as tf

from albert_tf import errors
from albert_tf.checkpoints import integrity
from albert_tf.checkpoints.tf1_checkpoint import OBJECT_GRAPH_KEY
from albert_tf.checkpoints.tf1_checkpoint import CheckpointMismatchError
from albert_tf.checkpoints.tf1_checkpoint import checkpoint_shapes
from albert_tf.checkpoints.tf1_checkpoint import load_tf1_checkpoint
from albert_tf.files.atomic_write import write_checkpoint_atomically
from albert_tf.modeling.albert_encoder import AlbertEncoder


def is_tf2_checkpoint(path):
  _, _, shapes = checkpoint_shapes(path)
  return OBJECT_GRAPH_KEY in shapes


def save_tf2_checkpoint(model, path):
  """Writes tf.train.Checkpoint(model=model) at prefix `path`, atomically."""
  root = tf.train.Checkpoint(model=model)
  return write_checkpoint_atomically(path, root.write)


def load_tf2_checkpoint(model, path):
  """Restores one of our TF2 checkpoints; every model weight must match."""
  prefix, _, shapes = checkpoint_shapes(path)
  root = tf.train.Checkpoint(model=model)
  saved_pretrainer = any(n.startswith("model/encoder/") for n in shapes)
  if isinstance(model, AlbertEncoder) and saved_pretrainer:
    root = tf.train.Checkpoint(model=tf.train.Checkpoint(encoder=model))
  # A failed restore may have assigned some variables: put them back, so a
  # model is never left half-loaded.
  snapshot = [w.numpy() for w in model.weights]

  def roll_back():
    for weight, value in zip(model.weights, snapshot):
      weight.assign(value)

  try:
    status = root.read(prefix)
    status.assert_existing_objects_matched()
  except integrity.READ_ERRORS as e:  # Truncated or corrupt files.
    roll_back()
    raise integrity.damaged_checkpoint_error(prefix, e) from e
  except (AssertionError, ValueError) as e:  # Missing objects, bad shapes.
    roll_back()
    raise CheckpointMismatchError(
        f"TF2 checkpoint {prefix} does not match the model: {e}") from e
  status.expect_partial()  # Optimizer state, if any, is not ours to restore.
  return prefix


def load_checkpoint(model, path, init_from_group0=False):
  """Loads an original TF1 checkpoint or one of ours, whichever `path` is."""
  if is_tf2_checkpoint(path):
    if init_from_group0:
      raise errors.FlagError("init_from_group0 applies to original (TF1) "
                             "checkpoints only")
    return load_tf2_checkpoint(model, path)
  return load_tf1_checkpoint(model, path, init_from_group0=init_from_group0)
