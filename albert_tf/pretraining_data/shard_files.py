"""Output files of create_pretraining_data: shards, their stats, temp files.

Both drivers (local processes and Apache Beam) write through these helpers,
so they produce the same names. Everything goes through tf.io.gfile, so
output may be local or on GCS (gs://...).

A shard is written under a temporary name and renamed once complete: a
reader never sees half a shard, and a rerun can tell finished shards from
unfinished ones by name alone. Just before a shard is renamed, its
statistics are written to a small "part" file (a part without its shard is
ignored); when all shards are done, the parts are merged into one
stats file and removed.

Only the shards carry the output's name: the statistics, their parts and
the temporaries are hidden siblings (`.NAME.stats.json`,
`.NAME-00000-of-00004.tmp-PID-RANDOM`), so that the pattern `NAME*` a
trainer (ours, the original's, Model Garden's, a user's tf.data) reads
matches nothing but complete shards. Outputs of older versions, whose
sidecars were `NAME.stats.json` and `NAME-...tmp-...`, are still read and
cleaned up; their stats file is moved to the hidden name.
"""

import json
import os
import posixpath
import uuid

import tensorflow as tf

from albert_tf.files.locations import make_directories

# Fields of a shard's statistics (ShardStats) that the stats file sums.
STAT_FIELDS = ("documents", "empty_documents", "skipped_lines", "instances",
               "masked_tokens")


def shard_paths(output_file, num_shards):
  """Output names: `output_file` itself, or NAME-00000-of-00004 style."""
  if num_shards == 1:
    return [output_file]
  return [f"{output_file}-{i:05d}-of-{num_shards:05d}"
          for i in range(num_shards)]


def make_output_directory(output_file):
  """Creates the directory of `output_file` (local or gs://...)."""
  directory = posixpath.dirname(output_file) if "://" in output_file else (
      os.path.dirname(os.path.abspath(output_file)))
  make_directories(directory)


def _split(path):
  # posixpath for gs:// paths, whatever the local OS.
  return (posixpath if "://" in path else os.path).split(path)


def _join(directory, name):
  return (posixpath if "://" in directory else os.path).join(directory, name)


def hidden_sibling(path, suffix=""):
  """`.NAME` + suffix beside `path` (NAME itself when already hidden):
  not matched by the pattern `path*`."""
  directory, name = _split(path)
  if not name.startswith("."):
    name = "." + name
  return _join(directory, name + suffix)


def temporary_path(path):
  """A new name to write `path` under: hidden, unique per attempt (process
  id and a random part)."""
  return hidden_sibling(path, f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _temporary_owners(name):
  """The outputs a temporary file `name` may belong to (empty if it is not
  one): `.NAME.tmp-...` is NAME's (or, for a hidden output, `.NAME`'s);
  `NAME.tmp-...` is how older versions named them."""
  directory, base = _split(name)
  stem, sep, _ = base.rpartition(".tmp-")
  if not sep or not stem:
    return []
  owners = [_join(directory, stem)]
  if stem.startswith("."):
    owners.append(_join(directory, stem[1:]))
  return owners


def shard_name(path):
  """The file name of a shard (its key in the stats file)."""
  # posixpath: gs:// paths use "/" whatever the local OS.
  return posixpath.basename(path)


def write_tfrecord_atomically(path, examples, before_rename=None):
  """Writes all examples to `path` via a temporary name; returns the count.

  The temporary name is unique per attempt (process id and a random part),
  so two attempts at the same shard (a retried Beam bundle running beside
  its predecessor on another machine) never write into the same file; both
  produce the same bytes, and whichever renames last wins.
  `before_rename(count)` runs once every example is written, before the
  file appears under `path`.
  """
  tmp = temporary_path(path)
  count = 0
  try:
    with tf.io.TFRecordWriter(tmp) as writer:
      for example in examples:
        writer.write(example)
        count += 1
    if before_rename is not None:
      before_rename(count)
    tf.io.gfile.rename(tmp, path, overwrite=True)
  except BaseException:
    if tf.io.gfile.exists(tmp):
      tf.io.gfile.remove(tmp)
    raise
  return count


def remove_partial_files(path):
  """Deletes temporary files a killed or failed writer left for `path`."""
  for pattern in (hidden_sibling(path, ".tmp-"), f"{path}.tmp-"):
    for leftover in tf.io.gfile.glob(glob_escape(pattern) + "*"):
      tf.io.gfile.remove(leftover)


def _list_outputs(output_file):
  """Every name starting with `output_file` or `.OUTPUT_FILE` (shards,
  sidecars, temporaries), with two listings (cheap on GCS, where a per-shard
  existence check is one request each)."""
  names = set()
  for prefix in (output_file, hidden_sibling(output_file)):
    try:
      names.update(tf.io.gfile.glob(glob_escape(prefix) + "*"))
    except tf.errors.NotFoundError:
      pass
  return names


def glob_escape(path):
  """`path` with glob metacharacters made literal ([*], [?], [[])."""
  return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def existing_shards(output_file, paths):
  """The shards of `paths` that are complete (exist under their name)."""
  names = _list_outputs(output_file)
  return [p for p in paths if p in names]


def remove_all_partial_files(output_file, paths):
  """remove_partial_files for every shard of `paths` and for the stats file
  (a run killed while writing it), with one listing."""
  wanted = set(paths) | {stats_path(output_file),
                         legacy_stats_path(output_file)}
  for name in _list_outputs(output_file):
    if any(owner in wanted for owner in _temporary_owners(name)):
      tf.io.gfile.remove(name)


# -- statistics ----------------------------------------------------------------


def stats_path(output_file):
  """.OUTPUT_FILE.stats.json: beside the shards, not matched by NAME*."""
  return hidden_sibling(output_file, ".stats.json")


def legacy_stats_path(output_file):
  """Where older versions kept the stats (matched by NAME*)."""
  return f"{output_file}.stats.json"


def _parts_dir(output_file):
  return f"{stats_path(output_file)}.parts"


def _legacy_parts_dir(output_file):
  return f"{legacy_stats_path(output_file)}.parts"


def _write_text(path, text):
  """Temporary name, then rename: readers never see a partial file."""
  tmp = temporary_path(path)
  try:
    with tf.io.gfile.GFile(tmp, "w") as f:
      f.write(text)
    tf.io.gfile.rename(tmp, path, overwrite=True)
  except BaseException:
    if tf.io.gfile.exists(tmp):
      tf.io.gfile.remove(tmp)
    raise


def record_shard_stats(output_file, shard_path, stats):
  """Keeps one finished shard's statistics (a dict) until finalize_stats."""
  directory = _parts_dir(output_file)
  make_directories(directory)
  _write_text(posixpath.join(directory, shard_name(shard_path) + ".json"),
              json.dumps(stats, sort_keys=True))


def _read_json(path):
  try:
    with tf.io.gfile.GFile(path, "r") as f:
      return json.loads(f.read())
  except (tf.errors.OpError, ValueError):
    return None  # Unreadable or cut short: as if absent.


def finalize_stats(output_file, paths):
  """Merges the shards' statistics into OUTPUT_FILE.stats.json; returns it.

  Shards written by earlier runs (skipped by this one) keep the entries the
  earlier stats file or leftover part files have for them. Output that has
  no statistics for some shard (written by an older version, or killed
  between a rename and its part file) says so in `shards_without_stats`.
  """
  names = [shard_name(p) for p in paths]
  existing = {shard_name(p) for p in existing_shards(output_file, paths)}
  entries = {}
  previous = _read_json(stats_path(output_file))
  if previous is None:  # Written by an older version, under its name.
    previous = _read_json(legacy_stats_path(output_file))
  if isinstance(previous, dict) and isinstance(previous.get("shards"), dict):
    entries.update(previous["shards"])
  parts_dirs = [_legacy_parts_dir(output_file), _parts_dir(output_file)]
  parts = [part for parts_dir in parts_dirs
           if tf.io.gfile.isdir(parts_dir)
           for part in tf.io.gfile.glob(
               posixpath.join(glob_escape(parts_dir), "*.json"))]
  for part in parts:
    stats = _read_json(part)
    if isinstance(stats, dict):
      entries[shard_name(part)[:-len(".json")]] = stats
  shards = {name: {field: int(entries[name].get(field, 0))
                   for field in STAT_FIELDS}
            for name in names if name in existing and name in entries}
  totals = {field: sum(s[field] for s in shards.values())
            for field in STAT_FIELDS}
  report = {
      "output_shards": len(paths),
      "shards_written": len(existing),
      "shards_without_stats": sorted(n for n in names
                                     if n in existing and n not in shards),
      "totals": totals,
      "shards": shards,
  }
  _write_text(stats_path(output_file),
              json.dumps(report, indent=1, sort_keys=True) + "\n")
  # The older names go: their content is in the new file now.
  if tf.io.gfile.exists(legacy_stats_path(output_file)):
    tf.io.gfile.remove(legacy_stats_path(output_file))
  for parts_dir in parts_dirs:
    if tf.io.gfile.isdir(parts_dir):
      tf.io.gfile.rmtree(parts_dir)
  return report


def remove_outputs(output_file, paths):
  """Deletes the shards `paths` and the stats file (output to be undone)."""
  for path in list(paths) + [stats_path(output_file),
                             legacy_stats_path(output_file)]:
    if tf.io.gfile.exists(path):
      tf.io.gfile.remove(path)
