"""A full disk (or quota) as one `error:` line naming the path.

Writes fail with ENOSPC/EDQUOT in many shapes: OSError from Python,
tf.errors.ResourceExhaustedError from TensorFlow's file writers,
SafetensorError and sentencepiece's RuntimeError carrying the OS's text.
They are faults of the machine, not of the program, so users get
DiskFullError ("... no space left on device ...") instead of a traceback.
The writers' own cleanup (temporaries removed, nothing renamed into place)
runs first, as for any failure, so nothing half-written is trusted later.
"""

import contextlib
import errno
import re

from albert_tf import errors

NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# What the OS's message says (strerror of ENOSPC and EDQUOT), as TensorFlow,
# safetensors and sentencepiece pass it on.
_NO_SPACE_TEXT = re.compile(r"No space left on device|Disk quota exceeded",
                            re.IGNORECASE)


class DiskFullError(errors.OutputLocationError):
  """A write failed because its file system (or quota) is full."""


def is_disk_full(error):
  """Whether exception `error` is a write that found no space."""
  if isinstance(error, DiskFullError):
    return False  # Already reported.
  if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
    return True
  text = getattr(error, "message", None) or str(error)
  return bool(_NO_SPACE_TEXT.search(text))


def path_in(error):
  """The path a disk-full `error` names, or None."""
  filename = getattr(error, "filename", None)
  if filename:
    return str(filename)
  text = getattr(error, "message", None) or str(error)
  # TensorFlow: "<path>; No space left on device" (or "...: <path>; ...").
  match = re.search(r"(/[^;:'\"\s]+)[;:]?\s*(?:No space|Disk quota)", text)
  if not match:
    return None
  path = match.group(1)
  # A TensorFlow checkpoint is staged as PREFIX_temp/part-...tempstate<n>:
  # the user knows PREFIX.
  staged = re.fullmatch(r"(.+)_temp/part-[^/]+", path)
  if staged:
    return staged.group(1)
  return re.sub(r"\.tempstate\d+$", "", path)


def disk_full_error(path, error):
  """The DiskFullError for writing `path` (None: the one `error` names)."""
  path = path or path_in(error) or "an output file"
  cause = "no space left on device"
  if (getattr(error, "errno", None) == errno.EDQUOT or
      re.search("quota", str(error), re.I)):
    cause += " (disk quota exceeded)"
  return DiskFullError(
      f"cannot write {path}: {cause}; free some space (or write elsewhere) "
      "and run again (the incomplete write is not used)")


@contextlib.contextmanager
def reported_as(path):
  """Turns a disk-full failure inside the block into DiskFullError(path);
  the outermost block names the path."""
  try:
    yield
  except DiskFullError as e:
    # From a nested write (a part of an export written in its staging
    # directory): the user knows the outer path, not the temporary one.
    raise disk_full_error(path, e.__cause__ or e) from e.__cause__
  except errors.UserError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    if not is_disk_full(e):
      raise
    raise disk_full_error(path, e) from e
