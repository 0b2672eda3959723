"""Expanding the comma-separated file globs our command-line tools accept."""

import os

import tensorflow as tf


def _is_local_directory(path):
  """Whether a match is a local directory (to be left out).

  Remote matches (gs://...) are taken as files: asking GCS about each one
  is a request per file, minutes for thousands of shards, and a bucket's
  glob matches are objects in all but contrived layouts (a "directory"
  that does match fails when it is read).
  """
  return "://" not in path and os.path.isdir(path)


def expand_file_patterns(patterns, flag_name, error=ValueError):
  """The files the comma-separated globs match, each once, in a fixed order.

  Matches are sorted within each pattern, so results (and the data made from
  them) do not depend on the order the file system lists files in.
  Local directories are left out. Works for local and tf.io.gfile paths
  (gs://...); nothing is opened or stat'ed per file on remote file systems.

  Raises `error` naming --flag_name when a pattern matches nothing or cannot
  be listed.
  """
  paths = []
  seen = set()
  for pattern in patterns.split(","):
    pattern = pattern.strip()
    if not pattern:
      continue
    try:
      matches = sorted(m for m in tf.io.gfile.glob(pattern)
                       if not _is_local_directory(m))
    except tf.errors.OpError as e:
      raise error(f"cannot list --{flag_name} pattern {pattern!r}: "
                  f"{e.message}") from None
    if not matches:
      if _is_local_directory(pattern):
        # A directory given where files are expected: say how to name them.
        raise error(f"--{flag_name} {pattern!r} is a directory; name its "
                    "files with a pattern, e.g. "
                    f"{os.path.join(pattern, '*')!r}")
      raise error(f"--{flag_name} pattern {pattern!r} matches no files")
    for path in matches:
      if path not in seen:
        seen.add(path)
        paths.append(path)
  if not paths:
    raise error(f"--{flag_name} names no files")
  return paths
