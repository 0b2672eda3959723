"""Cheap fingerprints of large input files: has a file changed since a run
read it?

A fingerprint is the file's size, its modification time (nanoseconds) and
the sha256 of SAMPLED_BLOCKS blocks of BLOCK_SIZE bytes: the first, the last
and evenly spaced ones between (the whole file when it is smaller). Hashing
a 100 GB corpus in full would read it all again (minutes to hours) before
any work starts; the fingerprint reads at most 1 MiB per file. An edit that
keeps the byte size still changes the modification time (editors, sed -i,
cp, rsync without -t); a file replaced by another with the time kept (cp -p,
rsync -t, tar) is caught by the sampled blocks unless it differs only
between them.

Remote files (gs://...) are fingerprinted by size and modification time
only: an object store cannot change an object in place, every new content
is a new object with a new time, and reading 16 ranges of each of
thousands of objects would cost a request each.
"""

import hashlib
import os

BLOCK_SIZE = 64 * 1024
SAMPLED_BLOCKS = 16


def block_offsets(size, block_size=BLOCK_SIZE, blocks=SAMPLED_BLOCKS):
  """Where the sampled blocks start: the first, the last, evenly between."""
  if size <= block_size * blocks:
    return list(range(0, size, block_size))
  last = size - block_size
  return [round(k * last / (blocks - 1)) for k in range(blocks)]


def sampled_sha256(path, size, block_size=BLOCK_SIZE, blocks=SAMPLED_BLOCKS):
  """sha256 of the size and the sampled blocks of a local file."""
  digest = hashlib.sha256(str(size).encode("ascii"))
  with open(path, "rb") as f:
    for offset in block_offsets(size, block_size, blocks):
      f.seek(offset)
      digest.update(f.read(block_size))
  return digest.hexdigest()


def fingerprint(path):
  """{"size", "mtime_ns"[, "sampled_sha256"]} of a local or remote file.

  Raises OSError (or tf.errors.OpError for remote files) when it cannot be
  read.
  """
  if "://" in path:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    status = tf.io.gfile.stat(path)
    return {"size": status.length, "mtime_ns": status.mtime_nsec}
  status = os.stat(path)
  return {"size": status.st_size, "mtime_ns": status.st_mtime_ns,
          "sampled_sha256": sampled_sha256(path, status.st_size)}


def describe_change(recorded, now):
  """What differs between two fingerprints of one file, in words."""
  if recorded.get("size") != now.get("size"):
    return f"{recorded.get('size'):,} bytes recorded, {now.get('size'):,} now"
  if recorded.get("sampled_sha256") != now.get("sampled_sha256"):
    return "same size, other content"
  if recorded.get("mtime_ns") != now.get("mtime_ns"):
    return "same size, modified since (an edit, or only touched)"
  return "unchanged"
