"""Writing a whole directory so that it appears only once complete."""

import contextlib
import os
import shutil

from albert_tf.errors import OutputExistsError
from albert_tf.files import temporaries


def check_absent(path, overwrite):
  """Raises OutputExistsError when `path` exists and may not be replaced."""
  if os.path.lexists(path) and not overwrite:
    raise OutputExistsError(f"{path} already exists; pass overwrite=True "
                            "(--overwrite) to replace it")


@contextlib.contextmanager
def directory_written_atomically(path, overwrite=False):
  """Yields a staging directory that becomes `path` when the block succeeds.

  The staging directory is a hidden sibling of `path` (same file system, so
  the final rename is atomic; TF Serving skips non-numeric names). On error
  it is removed and `path` is untouched; one left by a killed process is
  removed by the next write to `path`. An existing `path` is replaced only
  with `overwrite`, and only once the new directory is complete.
  """
  path = os.path.abspath(os.fspath(path))
  check_absent(path, overwrite)
  parent, name = os.path.split(path)
  os.makedirs(parent, exist_ok=True)
  # Left behind by a killed writer (its process is gone).
  temporaries.remove_stale_temporaries(parent, name)
  # Named after this process, and with the umask's permissions (not 0700):
  # the result must be readable by a server running as another user.
  staging = temporaries.make_temporary_directory(parent, name)
  try:
    yield staging
    check_absent(path, overwrite)  # Someone may have written it meanwhile.
    old = None
    if os.path.lexists(path):
      old = temporaries.make_temporary_directory(parent, name, kind="old")
      os.replace(path, os.path.join(old, "previous"))
    os.replace(staging, path)
    if old is not None:
      shutil.rmtree(old, ignore_errors=True)
  finally:
    shutil.rmtree(staging, ignore_errors=True)
