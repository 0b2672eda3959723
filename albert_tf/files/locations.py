"""Checking input and output paths before any work, with one clear error.

A tool that finds out at its first checkpoint (or its last result) that the
output directory is a file, or read-only, has wasted the run; a tool that
cannot read an input should say which path, not raise PermissionError from
deep inside a reader. These checks run first and raise a UserError naming
the flag and the path. Remote paths (gs://...) are left to tf.io.gfile.
"""

import os

from albert_tf import errors


def _is_remote(path):
  return "://" in path


def make_directories(path):
  """Creates `path` and its parents with modes that honour the umask.

  TensorFlow's own directory creation (tf.io.gfile.makedirs, summary
  writers, checkpoint writes) makes 0755 directories whatever the umask, so
  a group-writable umask (002) would not give the group its write bit.
  Local directories are made here first; TensorFlow leaves existing ones
  alone. Remote paths (gs://...) have no modes.
  """
  if _is_remote(path):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    tf.io.gfile.makedirs(path)
  else:
    os.makedirs(path, exist_ok=True)


def _nearest_existing(path):
  """The path itself or its closest ancestor that exists."""
  current = path
  while not os.path.lexists(current):
    parent = os.path.dirname(current)
    if parent == current:
      break
    current = parent
  return current


def _flag(flag_name):
  return f"--{flag_name} " if flag_name else ""


def check_output_dir(path, flag_name=None, create=False):
  """Raises OutputLocationError unless `path` is, or can become, a writable dir.

  Refused: `path` is a file; a component above it is a file; `path` (or, when
  it does not exist yet, its nearest existing ancestor) is not writable.

  Args:
    path: the output directory.
    flag_name: the flag it came from, for the message (e.g. "output_dir").
    create: also create it (and missing parents).

  Returns:
    The absolute path.
  """
  path = os.fspath(path)
  if _is_remote(path):
    return path
  path = os.path.abspath(path)
  where = f"{_flag(flag_name)}{path}"
  existing = _nearest_existing(path)
  if os.path.lexists(existing) and not os.path.isdir(existing):
    if existing == path:
      raise errors.OutputLocationError(
          f"{where} is a file, not a directory")
    raise errors.OutputLocationError(
        f"{where} cannot be created: {existing} is a file, not a directory")
  if not os.access(existing, os.W_OK | os.X_OK):
    if existing == path:
      raise errors.OutputLocationError(
          f"{where} is not writable (permission denied or read-only file "
          "system)")
    raise errors.OutputLocationError(
        f"{where} cannot be created: {existing} is not writable (permission "
        "denied or read-only file system)")
  if create:
    try:
      os.makedirs(path, exist_ok=True)
    except OSError as e:
      raise errors.OutputLocationError(
          f"{where} cannot be created: {e.strerror}") from e
  return path


def check_output_file(path, flag_name=None):
  """Raises OutputLocationError unless a file can be written at `path`.

  `path` must not be a directory, and its directory must be (or be able to
  become) a writable directory. Returns the absolute path.
  """
  path = os.fspath(path)
  if _is_remote(path):
    return path
  path = os.path.abspath(path)
  if os.path.isdir(path):
    raise errors.OutputLocationError(
        f"{_flag(flag_name)}{path} is a directory, not a file")
  try:
    check_output_dir(os.path.dirname(path))
  except errors.OutputLocationError as e:
    raise errors.OutputLocationError(
        f"{_flag(flag_name)}{path} cannot be written: {e}") from e
  return path


def check_readable(path, flag_name=None, kind="file"):
  """Raises InputFileError unless `path` exists and can be read.

  Args:
    path: the input.
    flag_name: the flag it came from, for the message.
    kind: "file", "directory", or "any".

  Returns:
    `path`.
  """
  path = os.fspath(path)
  if kind not in ("file", "directory", "any"):
    raise ValueError(f"kind must be file, directory or any, got {kind!r}")
  if _is_remote(path):
    return path
  where = f"{_flag(flag_name)}{path}"
  if not os.path.exists(path):
    existing = _nearest_existing(os.path.abspath(path))
    if os.path.lexists(existing) and not os.path.isdir(existing):
      raise errors.InputFileError(
          f"{where} does not exist ({existing} is a file, not a directory)")
    raise errors.InputFileError(f"{where} does not exist")
  if os.path.isdir(path):
    if kind == "file":
      raise errors.InputFileError(f"{where} is a directory, not a file")
    try:
      os.listdir(path)
    except OSError as e:
      raise errors.InputFileError(
          f"{where} cannot be read: {e.strerror}") from e
    return path
  if kind == "directory":
    raise errors.InputFileError(f"{where} is a file, not a directory")
  try:
    with open(path, "rb") as f:
      f.read(1)
  except OSError as e:
    raise errors.InputFileError(
        f"{where} cannot be read: {e.strerror}") from e
  return path
