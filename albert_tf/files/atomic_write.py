"""Writing files and checkpoints so that they appear only once complete.

Temporaries are hidden siblings named after their owning process; they get
the permissions the umask asks for, and stale ones of killed runs are
removed by the next write (see temporaries.py).
"""

import os
import shutil

from albert_tf.files import disk_full
from albert_tf.files import temporaries


def write_checkpoint_atomically(path, write_fn):
  """Calls write_fn(staging_prefix), then renames its files to `path`.*.

  The files are staged in a hidden directory beside `path` (same file
  system, so renames are atomic) and moved data first, index last: a reader
  that finds `path`.index finds a complete checkpoint. A failed write leaves
  nothing behind; a killed one is removed by the next write in the directory.
  """
  path = os.path.abspath(os.fspath(path))
  directory = os.path.dirname(path)
  os.makedirs(directory, exist_ok=True)
  temporaries.remove_stale_temporaries(directory, None)
  staging = temporaries.make_temporary_directory(directory,
                                                 os.path.basename(path))
  try:
    staged_prefix = os.path.join(staging, "ckpt")
    with disk_full.reported_as(path):
      write_fn(staged_prefix)
    staged = sorted((f for f in os.listdir(staging) if f.startswith("ckpt")),
                    key=lambda f: f.endswith(".index"))
    for filename in staged:
      os.replace(os.path.join(staging, filename),
                 path + filename[len("ckpt"):])
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return path


def write_text_atomically(path, text):
  """Writes `text` to a temporary file beside `path`, then renames it.

  Readers see the old file or the whole new one, never a part; a failed
  write leaves no temporary file behind (a full disk: DiskFullError naming
  `path`). The file's mode is 0666 less the umask, like any other new file.
  """
  path = os.path.abspath(os.fspath(path))
  directory, name = os.path.split(path)
  os.makedirs(directory, exist_ok=True)
  temporaries.remove_stale_temporaries(directory, name)
  fd, tmp = temporaries.make_temporary_file(directory, name)
  try:
    with disk_full.reported_as(path):
      with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
