"""Reading and writing original (TF1, name-based) ALBERT checkpoints."""

import dataclasses
import os

import tensorflow as tf

from albert_tf import errors
from albert_tf.checkpoints import integrity
from albert_tf.checkpoints.integrity import CheckpointNotFoundError
from albert_tf.checkpoints.name_map import tf1_variable_map
from albert_tf.config import FLAVOR_ALBERT_ZH
from albert_tf.config import FLAVOR_GOOGLE
from albert_tf.files.atomic_write import write_checkpoint_atomically
from albert_tf.files.atomic_write import write_text_atomically

# Training state the original writes next to the weights: never model weights.
_TRAINING_STATE_SUFFIXES = ("/adam_m", "/adam_v", "/lamb_m", "/lamb_v",
                            "/Momentum", "/ExponentialMovingAverage")
_TRAINING_STATE_NAMES = ("global_step", "good_steps", "loss_scale")
# The key every object-based (TF2) checkpoint has and name-based ones lack.
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


class CheckpointMismatchError(errors.CheckpointError):
  """A checkpoint does not fit the model; the message lists every problem."""


@dataclasses.dataclass
class LoadReport:
  """What load_tf1_checkpoint did."""
  checkpoint: str
  flavor: str
  loaded: list  # TF1 names assigned to the model, in name-map order.
  unused: list  # Weights in the checkpoint the model has no place for.
  skipped_training_state: list  # Optimizer slots, global_step, ...

  def __str__(self):
    lines = [f"loaded {len(self.loaded)} variables ({self.flavor} flavor) "
             f"from {self.checkpoint}"]
    if self.unused:
      lines.append(f"unused checkpoint variables ({len(self.unused)}): "
                   + ", ".join(self.unused))
    if self.skipped_training_state:
      lines.append(f"skipped {len(self.skipped_training_state)} optimizer/"
                   "training-state variables")
    return "\n".join(lines)


def is_training_state(name):
  """True for optimizer slots, global_step and similar non-weight variables."""
  return (name in _TRAINING_STATE_NAMES or
          name.endswith(_TRAINING_STATE_SUFFIXES) or
          name.startswith(OBJECT_GRAPH_KEY))


def resolve_checkpoint(path):
  """Turns a directory or a prefix into an existing checkpoint prefix.

  A directory means the checkpoint its `checkpoint` state file names or,
  without a state file, its only checkpoint. Raises CheckpointNotFoundError
  when there is none, DamagedCheckpointError for a damaged state file.
  """
  path = os.fspath(path)
  if tf.io.gfile.isdir(path):
    return _checkpoint_in_directory(path)
  if path.endswith(".index"):
    path = path[:-len(".index")]
  if not tf.io.gfile.exists(path + ".index"):
    raise CheckpointNotFoundError(
        f"no checkpoint at {path}: {path}.index does not exist (pass the "
        "prefix, e.g. .../model.ckpt-125000, or the directory)")
  return path


def _checkpoint_in_directory(directory):
  state_path = integrity.checkpoint_state_path(directory)
  latest = integrity.read_checkpoint_state(directory)
  if latest is not None:
    if tf.io.gfile.exists(latest + ".index"):
      return latest
    # The state file may hold absolute paths of the machine that wrote it.
    moved = os.path.join(directory, os.path.basename(latest))
    if tf.io.gfile.exists(moved + ".index"):
      return moved
    raise CheckpointNotFoundError(
        f"{state_path} names checkpoint {latest}, but {latest}.index does "
        "not exist; pass an existing checkpoint prefix instead")
  found = sorted(tf.io.gfile.glob(os.path.join(directory, "*.index")))
  if len(found) == 1:
    return found[0][:-len(".index")]
  if not found:
    raise CheckpointNotFoundError(
        f"no checkpoint found in directory {directory} (no `checkpoint` "
        "state file and no *.index file)")
  raise CheckpointNotFoundError(
      f"directory {directory} has no `checkpoint` state file and "
      f"{len(found)} checkpoints; pass one prefix: "
      + ", ".join(f[:-len(".index")] for f in found))


def checkpoint_shapes(path):
  """(prefix, reader, {name: shape}) of the checkpoint at `path`."""
  prefix = resolve_checkpoint(path)
  reader = integrity.open_checkpoint(prefix)
  return prefix, reader, reader.get_variable_to_shape_map()


def detect_flavor(names):
  """"albert_zh" or "google" from the variable names of a checkpoint."""
  names = set(names)
  if ("bert/embeddings/word_embeddings_2" in names or
      any(n.startswith("bert/encoder/layer_shared/") for n in names)):
    return FLAVOR_ALBERT_ZH
  if any(n.startswith("bert/encoder/transformer/") for n in names):
    return FLAVOR_GOOGLE
  if any(n.startswith("model/") or "/.ATTRIBUTES/" in n for n in names):
    raise CheckpointMismatchError(
        "this is an object-based TF2 checkpoint, not an original TF1 one; "
        "use albert_tf.checkpoints.load_checkpoint, which reads both")
  raise CheckpointMismatchError(
      "not an ALBERT checkpoint: found neither bert/encoder/transformer/... "
      "(Google) nor bert/encoder/layer_shared/... (albert_zh) variables")


def _source_name(name, init_from_group0):
  if init_from_group0 and name.startswith("bert/encoder/transformer/group_"):
    rest = name[len("bert/encoder/transformer/group_"):]
    return "bert/encoder/transformer/group_0/" + rest.split("/", 1)[1]
  return name


def load_tf1_checkpoint(model, path, init_from_group0=False):
  """Loads an original name-based checkpoint into an encoder or pretrainer.

  Args:
    model: AlbertEncoder or AlbertPretrainer. Heads are loaded when the model
      has them.
    path: checkpoint prefix (e.g. .../model.ckpt-125000) or its directory.
    init_from_group0: initialise every group from the checkpoint's group_0
      (the original run_pretraining flag), e.g. to grow a shared model into
      one with several groups.

  Returns:
    A LoadReport (what was loaded, what in the checkpoint was not used).

  Raises:
    CheckpointMismatchError listing every missing or mis-shaped variable (or
    a flavor mismatch); DamagedCheckpointError for unreadable files;
    CheckpointNotFoundError. Nothing is assigned in those cases.
  """
  prefix, reader, shapes = checkpoint_shapes(path)
  flavor = detect_flavor(shapes)
  if flavor != model.config.flavor:
    if flavor == FLAVOR_ALBERT_ZH:
      hint = 'add "ln_type": "postln" (or "preln") to the config'
    else:
      hint = 'remove "ln_type" from the config'
    raise CheckpointMismatchError(
        f"{prefix} is an {flavor} checkpoint but the model was built from a "
        f"{model.config.flavor} config ({model.config.source}): {hint}")
  variable_map = tf1_variable_map(model)
  missing, mismatched, assignments = [], [], []
  for name, variable in variable_map.items():
    source = _source_name(name, init_from_group0)
    if source not in shapes:
      missing.append(source)
    elif list(shapes[source]) != variable.shape.as_list():
      mismatched.append(f"{source}: checkpoint {list(shapes[source])}, "
                        f"model {variable.shape.as_list()}")
    else:
      assignments.append((name, source, variable))
  if missing or mismatched:
    lines = [f"checkpoint {prefix} does not match the model "
             f"(config {model.config.source}):"]
    if missing:
      lines.append(f"missing from the checkpoint ({len(missing)}): "
                   + ", ".join(sorted(set(missing))))
    if mismatched:
      lines.append(f"shape mismatches ({len(mismatched)}): "
                   + "; ".join(mismatched))
    raise CheckpointMismatchError("\n".join(lines))
  # Every tensor is read before any is assigned: a damaged file then leaves
  # the model untouched.
  values = [integrity.read_tensor(reader, prefix, source)
            for _, source, _ in assignments]
  used = set()
  for (_, source, variable), value in zip(assignments, values):
    variable.assign(value)
    used.add(source)
  training_state = sorted(n for n in shapes if is_training_state(n))
  unused = sorted(n for n in shapes
                  if n not in used and not is_training_state(n))
  return LoadReport(checkpoint=prefix, flavor=flavor,
                    loaded=[name for name, _, _ in assignments],
                    unused=unused, skipped_training_state=training_state)


def save_tf1_checkpoint(model, path, global_step=None, update_state=True):
  """Writes the model's weights under the original TF1 names.

  Args:
    model: AlbertEncoder or AlbertPretrainer.
    path: checkpoint prefix to write (e.g. out/model.ckpt); an existing
      directory means <dir>/model.ckpt. The `checkpoint` state file of the
      directory is updated so tf.train.latest_checkpoint finds it.
    global_step: optional int also written as `global_step`, like the original.
    update_state: whether to point the directory's `checkpoint` file at it
      (off for side files like model.ckpt-best beside a training run's own
      checkpoints).

  Returns:
    The checkpoint prefix written. Files appear only once complete: they are
    written under a temporary name and then renamed.
  """
  path = os.fspath(path)
  if os.path.isdir(path):
    path = os.path.join(path, "model.ckpt")
  names, tensors = [], []
  for name, variable in tf1_variable_map(model).items():
    names.append(name)
    tensors.append(tf.convert_to_tensor(variable))
  if global_step is not None:
    names.append("global_step")
    tensors.append(tf.constant(global_step, tf.int64))

  def write(prefix):
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names,
                      shape_and_slices=[""] * len(names), tensors=tensors)

  write_checkpoint_atomically(path, write)
  if update_state:
    _write_checkpoint_state(path)
  return path


def _write_checkpoint_state(prefix):
  """Points the directory's `checkpoint` file at `prefix`, as TF1 Savers do."""
  directory, name = os.path.split(os.path.abspath(prefix))
  state = os.path.join(directory, "checkpoint")
  write_text_atomically(state, f'model_checkpoint_path: "{name}"\n'
                               f'all_model_checkpoint_paths: "{name}"\n')
