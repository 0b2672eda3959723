"""Reading checkpoint files that may be damaged, and finding one to resume from.

A checkpoint cut short by a full disk or a killed copy, or with a flipped
byte, makes TensorFlow raise IndexError ("Read less bytes than requested"),
an OpError ("Checksum does not match", "not an sstable"), and a `checkpoint`
state file of binary garbage raises UnicodeDecodeError. Here these become
DamagedCheckpointError naming the files, and a training run that resumes can
fall back to the newest checkpoint that still reads.
"""

import logging
import os
import re

import tensorflow as tf

from albert_tf import errors
from albert_tf.files import temporaries
from albert_tf.files.atomic_write import write_text_atomically

# What TensorFlow's checkpoint reader raises for damaged files (a truncated
# .data file surfaces as IndexError from the C++ reader).
READ_ERRORS = (tf.errors.OpError, IndexError, RuntimeError)
STATE_FILENAME = "checkpoint"


class DamagedCheckpointError(errors.CheckpointError):
  """A checkpoint's files (or a directory's state file) cannot be read."""


class CheckpointNotFoundError(errors.CheckpointError,
                              errors.MissingInputError):
  """Nothing that is a checkpoint exists at the path given."""


class UnreadableCheckpointError(errors.CheckpointError):
  """A checkpoint's files exist but this user may not read them.

  Not a DamagedCheckpointError: the checkpoint is fine (do not delete it),
  and a resuming run must not fall back to an older one.
  """


def _unreadable(path):
  """The strerror of opening local file `path` for reading, or None."""
  if "://" in path or not os.path.lexists(path):
    return None
  try:
    with open(path, "rb"):
      return None
  except IsADirectoryError:
    return None
  except OSError as e:
    return e.strerror


def check_files_readable(prefix, what="checkpoint"):
  """Raises UnreadableCheckpointError when a file of `prefix` exists but
  cannot be read (another user's, mode 0600): TensorFlow reports that as
  "not found" or as a corrupt file."""
  for path in checkpoint_files(prefix):
    cause = _unreadable(path)
    if cause is not None:
      raise UnreadableCheckpointError(
          f"{what} {prefix} cannot be read: {path}: {cause.lower()} (the "
          "checkpoint is not damaged; read it as its owner or fix its "
          "permissions)")


def checkpoint_files(prefix):
  """The files of the checkpoint at `prefix`: its .index and .data shards."""
  return sorted(tf.io.gfile.glob(prefix + ".data-*")) + [prefix + ".index"]


def damaged_checkpoint_error(prefix, error):
  """The DamagedCheckpointError for a read of `prefix` that raised `error`."""
  files = ", ".join(checkpoint_files(prefix))
  return DamagedCheckpointError(
      f"checkpoint {prefix} is damaged (truncated or corrupt file among "
      f"{files}): {getattr(error, 'message', None) or error}")


def open_checkpoint(prefix):
  """tf.train.load_checkpoint(prefix), raising DamagedCheckpointError."""
  try:
    return tf.train.load_checkpoint(prefix)
  except READ_ERRORS as e:
    check_files_readable(prefix)
    raise damaged_checkpoint_error(prefix, e) from e


def read_tensor(reader, prefix, name):
  """reader.get_tensor(name); a damaged file raises DamagedCheckpointError."""
  try:
    return reader.get_tensor(name)
  except READ_ERRORS as e:
    check_files_readable(prefix)
    raise damaged_checkpoint_error(prefix, e) from e


def verify_checkpoint(prefix):
  """Reads every tensor of the checkpoint (checksums included); returns it.

  Raises DamagedCheckpointError naming the files when any read fails.
  """
  reader = open_checkpoint(prefix)
  dtypes = reader.get_variable_to_dtype_map()
  for name in sorted(dtypes):
    # Saved input-iterator state is a variant tensor, which the reader
    # cannot hand to Python; restoring the checkpoint still checks it.
    if dtypes[name] == tf.variant:
      continue
    read_tensor(reader, prefix, name)
  return prefix


def checkpoint_state_path(directory):
  return os.path.join(os.fspath(directory), STATE_FILENAME)


def read_checkpoint_state(directory):
  """The checkpoint prefix the directory's `checkpoint` file names, or None.

  None when there is no state file. Raises DamagedCheckpointError naming
  the state file when it is not a checkpoint state (binary garbage, a
  truncated write, another tool's file named `checkpoint`).
  """
  directory = os.fspath(directory)
  state_path = checkpoint_state_path(directory)
  if not tf.io.gfile.exists(state_path):
    return None
  cause = _unreadable(state_path)
  if cause is not None:
    raise UnreadableCheckpointError(
        f"checkpoint state file {state_path} cannot be read: "
        f"{cause.lower()}")
  try:
    # Logs a warning and returns None for text that does not parse.
    state = tf.train.get_checkpoint_state(directory)
  except (UnicodeDecodeError, tf.errors.OpError) as e:
    state = None
    cause = e
  else:
    cause = None
  if state is None or not state.model_checkpoint_path:
    raise DamagedCheckpointError(
        f"checkpoint state file {state_path} is damaged (not a TensorFlow "
        "checkpoint state); pass a checkpoint prefix such as "
        f"{os.path.join(directory, 'model.ckpt-1000')} instead of the "
        "directory, or delete the state file") from cause
  prefix = state.model_checkpoint_path
  if not os.path.isabs(prefix) and "://" not in prefix:
    prefix = os.path.join(directory, prefix)
  return prefix


def _numbered_checkpoints(directory, name):
  """[(step, prefix)] of `name` and `name`-<step> checkpoints, newest first.

  Side checkpoints such as model.ckpt-best are not candidates for resuming.
  Unnumbered `name` counts as step -1; equal steps are ordered by mtime.
  """
  pattern = re.compile(re.escape(name) + r"(?:-(\d+))?\.index$")
  found = []
  for path in tf.io.gfile.glob(os.path.join(directory, name + "*.index")):
    match = pattern.fullmatch(os.path.basename(path))
    if not match:
      continue
    step = int(match.group(1)) if match.group(1) is not None else -1
    found.append((step, tf.io.gfile.stat(path).mtime_nsec,
                  path[:-len(".index")]))
  found.sort(reverse=True)
  return [(step, prefix) for step, _, prefix in found]


def latest_readable_checkpoint(directory, prefix="model.ckpt",
                               repair_state=False, warn=logging.warning):
  """The newest checkpoint in `directory` whose files all read, or None.

  For resuming training. Candidates are `prefix`-<step> checkpoints (and a
  bare `prefix`), newest step first. Each is verified by reading every
  tensor; a damaged one is skipped with a warning naming it, and the
  previous one is tried. A damaged `checkpoint` state file is reported with
  a warning too (the files themselves say which checkpoints exist).

  Args:
    directory: a training run's output directory.
    prefix: the checkpoint name used by the run (CheckpointManager's
      checkpoint_name).
    repair_state: when the state file is damaged, or names a checkpoint other
      than the one returned, rewrite it (atomically) to list the readable
      checkpoints, so that a tf.train.CheckpointManager made afterwards
      resumes from the returned one. Damaged files are left in place; what
      a killed save left is removed (see remove_interrupted_saves), so the
      caller must be the directory's only writer (hold its lock).
    warn: called with each warning's text.

  Returns:
    The checkpoint prefix, or None when the directory has no checkpoint.

  Raises:
    DamagedCheckpointError when checkpoints exist but none of them reads
    (starting over would silently discard the run).
  """
  directory = os.fspath(directory)
  if not tf.io.gfile.isdir(directory):
    return None
  if repair_state:
    remove_interrupted_saves(directory, prefix, warn=warn)
  try:
    state_prefix = read_checkpoint_state(directory)
  except DamagedCheckpointError as e:
    warn(f"{e}; looking for checkpoints by their files instead")
    state_prefix = None
  candidates = _numbered_checkpoints(directory, prefix)
  damaged = []
  readable = None
  for _, candidate in candidates:
    try:
      readable = verify_checkpoint(candidate)
      break
    except DamagedCheckpointError as e:
      damaged.append(candidate)
      warn(f"{e}; falling back to the previous checkpoint")
    # UnreadableCheckpointError propagates: an older checkpoint would
    # silently undo the work of the newest one, which is not damaged.
  if candidates and readable is None:
    raise DamagedCheckpointError(
        f"every checkpoint in {directory} is damaged: {', '.join(damaged)}; "
        "delete them to start over, or restore them from a copy")
  if repair_state and readable is not None and (
      state_prefix is None or
      os.path.normpath(state_prefix) != os.path.normpath(readable)):
    kept = [p for _, p in reversed(candidates) if p not in damaged]
    write_checkpoint_state(directory, readable, kept)
  return readable


# What a TensorFlow save killed midway leaves: the saver's staging folder
# PREFIX-<step>_temp/ (removed by a later save of the same step only) and
# the temporary of the state file, checkpoint.tmp<32 hex digits>.
_SAVER_LEFTOVER = re.compile(r"(?:.+-\d+_temp|" + re.escape(STATE_FILENAME) +
                             r"\.tmp[0-9a-f]{32})")


def remove_interrupted_saves(directory, prefix="model.ckpt",
                             warn=logging.warning):
  """Removes what killed saves left in `directory`; returns the paths.

  TensorFlow's leftovers of `prefix` checkpoints and of the state file, and
  our own temporaries whose process is dead (a best checkpoint being
  written). Only for the directory's one writer: a live save of another
  process would lose its files.
  """
  directory = os.fspath(directory)
  removed = temporaries.remove_stale_temporaries(directory, None,
                                                 log=lambda _: None)
  for name in tf.io.gfile.listdir(directory):
    name = name.rstrip("/")
    if not (_SAVER_LEFTOVER.fullmatch(name) and (
        name.startswith(prefix + "-") or name.startswith(STATE_FILENAME))):
      continue
    path = os.path.join(directory, name)
    if tf.io.gfile.isdir(path):
      tf.io.gfile.rmtree(path)
    else:
      tf.io.gfile.remove(path)
    removed.append(path)
  for path in removed:
    warn(f"removed {path}, left by a run killed while saving a checkpoint")
  return removed


def write_checkpoint_state(directory, latest, all_prefixes=None):
  """Writes `directory`/checkpoint naming `latest` (atomically), as Savers do.

  `all_prefixes` (oldest first, `latest` included) are the checkpoints a
  CheckpointManager then manages; default: `latest` only.
  """
  # Names relative to the directory, as Savers write them: the directory
  # may be moved or mounted elsewhere.
  names = [os.path.relpath(p, directory) for p in (all_prefixes or [latest])]
  lines = [f'model_checkpoint_path: '
           f'"{_escape(os.path.relpath(latest, directory))}"']
  lines += [f'all_model_checkpoint_paths: "{_escape(n)}"' for n in names]
  # A CheckpointManager keeps rotating (max_to_keep) only the checkpoints
  # that have a timestamp; the index files' mtimes are when they were saved.
  lines += ["all_model_checkpoint_timestamps: "
            f"{tf.io.gfile.stat(p + '.index').mtime_nsec / 1e9:.6f}"
            for p in (all_prefixes or [latest])]
  write_text_atomically(checkpoint_state_path(directory),
                        "\n".join(lines) + "\n")


def _escape(text):
  return text.replace("\\", "\\\\").replace('"', '\\"')
