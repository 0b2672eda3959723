"""Writing a checkpoint so that it appears only once complete."""

import os
import shutil
import tempfile


def write_checkpoint_atomically(path, write_fn):
  """Calls write_fn(staging_prefix), then renames its files to `path`.*.

  The files are staged in a hidden directory beside `path` (same file
  system, so renames are atomic) and moved data first, index last: a reader
  that finds `path`.index finds a complete checkpoint. A failed write leaves
  nothing behind.
  """
  path = os.path.abspath(os.fspath(path))
  directory = os.path.dirname(path)
  os.makedirs(directory, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".tmp-ckpt-", dir=directory)
  try:
    staged_prefix = os.path.join(staging, "ckpt")
    write_fn(staged_prefix)
    staged = sorted((f for f in os.listdir(staging) if f.startswith("ckpt")),
                    key=lambda f: f.endswith(".index"))
    for filename in staged:
      os.replace(os.path.join(staging, filename),
                 path + filename[len("ckpt"):])
  finally:
    shutil.rmtree(staging, ignore_errors=True)
  return path
