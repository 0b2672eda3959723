"""Writing a whole directory so that it appears only once complete.

--overwrite replaces only what this module wrote: every directory it writes
carries a marker file (MARKER_FILENAME), and a directory without one (a
user's own files, a typo'd path, another tool's model) is refused
untouched.
"""

import contextlib
import os
import shutil
import stat

from albert_tf.errors import OutputExistsError
from albert_tf.errors import OutputLocationError
from albert_tf.files import disk_full
from albert_tf.files import temporaries

MARKER_FILENAME = ".albert_tf_output"
_MARKER_TEXT = ("Written whole by albert_tf; its --overwrite may replace this "
                "directory (it refuses directories without this file).\n")


def _is_ours(path):
  """Whether directory `path` is an output this module wrote.

  Only the marker counts: a SavedModel or a Hugging Face directory made by
  other tools (or by albert_tf before the marker) has the same layout as
  ours, and may be the user's only copy.
  """
  return os.path.isfile(os.path.join(path, MARKER_FILENAME))


def _replace_blocker(path):
  """Why this user cannot move `path` aside and delete it, or None."""
  euid = os.geteuid()
  if euid == 0:
    return None
  parent = os.path.dirname(path)
  parent_status = os.stat(parent)
  if (parent_status.st_mode & stat.S_ISVTX and
      euid not in (parent_status.st_uid, os.lstat(path).st_uid)):
    return (f"{path} belongs to another user and {parent} only lets owners "
            "remove their files (sticky bit)")
  if os.path.islink(path):
    return None  # The link itself is replaced; what it points to stays.
  # Moving a directory to another parent rewrites its "..", and deleting
  # the old tree needs every directory in it writable.
  for directory, _, _ in os.walk(path, onerror=lambda e: None):
    if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
      return f"{directory} is not writable by this user (permission denied)"
  return None


def check_absent(path, overwrite):
  """Raises unless `path` is absent, or is ours and may be replaced.

  OutputExistsError when `path` exists and overwrite is False;
  OutputLocationError (nothing touched) when overwrite is True but `path`
  is not an output albert_tf wrote, or this user could not remove it: the
  check runs before any work, so a long export does not fail at its end.
  """
  path = os.fspath(path)
  if not os.path.lexists(path):
    return
  if not overwrite:
    raise OutputExistsError(f"{path} already exists; pass overwrite=True "
                            "(--overwrite) to replace it")
  if not os.path.isdir(path) or not _is_ours(path):
    raise OutputLocationError(
        f"--overwrite refuses to replace {path}: it is not an output of "
        f"albert_tf (it has no {MARKER_FILENAME} file); delete or move it "
        "yourself, or choose another path")
  blocker = _replace_blocker(os.path.abspath(path))
  if blocker is not None:
    raise OutputLocationError(f"--overwrite cannot replace {path}: {blocker}")


def honour_umask(root):
  """Gives `root` and everything below it the modes a new file or directory
  gets under the umask (0666/0777 less it).

  Writers that create files 0600 (safetensors) or directories 0755
  (TensorFlow's SavedModel writer) whatever the umask would otherwise
  make an export unreadable by a server running as another user, or not
  group-writable where the user's umask (002) asks for it.
  """
  file_mode = temporaries.file_mode()
  directory_mode = temporaries.directory_mode()
  os.chmod(root, directory_mode)
  for directory, dirs, names in os.walk(root):
    for name in dirs:
      path = os.path.join(directory, name)
      if not os.path.islink(path):
        os.chmod(path, directory_mode)
    for name in names:
      path = os.path.join(directory, name)
      if not os.path.islink(path):
        os.chmod(path, file_mode)


@contextlib.contextmanager
def directory_written_atomically(path, overwrite=False):
  """Yields a staging directory that becomes `path` when the block succeeds.

  The staging directory is a hidden sibling of `path` (same file system, so
  the final rename is atomic; TF Serving skips non-numeric names). On error
  it is removed and `path` is untouched; one left by a killed process is
  removed by the next write to `path`. An existing `path` is replaced only
  with `overwrite`, only when it is ours (see check_absent), and only once
  the new directory is complete. A full disk is a DiskFullError naming
  `path`.
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
    with disk_full.reported_as(path):
      yield staging
      with open(os.path.join(staging, MARKER_FILENAME), "w",
                encoding="utf-8") as f:
        f.write(_MARKER_TEXT)
    honour_umask(staging)
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
