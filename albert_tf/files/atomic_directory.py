"""Writing a whole directory so that it appears only once complete."""

import contextlib
import os
import shutil
import tempfile

from albert_tf.errors import OutputExistsError


@contextlib.contextmanager
def directory_written_atomically(path, overwrite=False):
  """Yields a staging directory that becomes `path` when the block succeeds.

  The staging directory is a hidden sibling of `path` (same file system, so
  the final rename is atomic). When the block raises, the staging directory
  is removed and `path` is untouched. An existing `path` is replaced only
  with `overwrite`, and only after the new one is complete.
  """
  path = os.path.abspath(os.fspath(path))
  if os.path.lexists(path) and not overwrite:
    raise OutputExistsError(
        f"{path} already exists; pass --overwrite to replace it")
  parent = os.path.dirname(path)
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-",
                             dir=parent)
  try:
    yield staging
    old = None
    if os.path.lexists(path):
      old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-",
                             dir=parent)
      os.replace(path, os.path.join(old, "previous"))
    os.replace(staging, path)
    if old is not None:
      shutil.rmtree(old, ignore_errors=True)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
