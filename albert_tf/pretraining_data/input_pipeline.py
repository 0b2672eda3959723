"""tf.data input for pretraining from original-format TFRecords.

Built for thousands of shards on GCS: nothing here opens a file before the
input pipeline reaches it (listing the files is one glob per pattern), so
start-up does not grow with the number of files. A corrupt file stops
training with a DataLossError that does not say which file it was;
find_corrupt_file finds it afterwards, reading the files in the order
training did.
"""

import fnmatch
import re
import time

import tensorflow as tf

from albert_tf.files.file_patterns import expand_file_patterns
from albert_tf.pretraining_data.tfrecord_features import feature_spec


def decode_record(record, max_seq_length, max_predictions_per_seq):
  """Parses one serialized example; int64 features become int32."""
  example = tf.io.parse_single_example(
      record, feature_spec(max_seq_length, max_predictions_per_seq))
  return {name: tf.cast(t, tf.int32) if t.dtype == tf.int64 else t
          for name, t in example.items()}


# create_pretraining_data's sidecars are hidden now (.NAME.stats.json), but
# older versions wrote OUTPUT_FILE.stats.json, OUTPUT_FILE.manifest.json and
# in-progress shards NAME-00001-of-00004.tmp-PID-RANDOM beside the shards,
# which a pattern such as data/train.tfrecord* matches too.
STATS_SUFFIX = ".stats.json"
MANIFEST_SUFFIX = ".manifest.json"
_LEGACY_TEMPORARY = re.compile(r"\.tmp-\d+-[0-9a-f]{8}$")
# A shard of a set: NAME-00001-of-00004 (any width, as long as both agree).
_SHARD_OF_SET = re.compile(r"^(?P<prefix>.*)-(?P<index>\d+)-of-(?P<count>\d+)$")


def _is_sidecar(path):
  return (path.endswith((STATS_SUFFIX, MANIFEST_SUFFIX)) or
          _LEGACY_TEMPORARY.search(path) is not None)


def missing_shards(files, patterns):
  """{set: [missing shard, ...]} for -of-N sets the patterns should match
  entirely but do not.

  A shard counts as missing when the patterns would match its name: a set
  chosen in part on purpose (train-0000[0-2]-of-00004 for training and
  train-00003-of-00004 for evaluation) is not incomplete.
  """
  present = {}
  for path in files:
    match = _SHARD_OF_SET.match(path)
    if match and len(match["index"]) == len(match["count"]):
      key = (match["prefix"], match["count"])
      present.setdefault(key, set()).add(int(match["index"]))
  missing = {}
  for (prefix, count), indices in sorted(present.items()):
    width = len(count)
    absent = [f"{prefix}-{i:0{width}d}-of-{count}" for i in range(int(count))
              if i not in indices]
    expected = [name for name in absent
                if any(fnmatch.fnmatchcase(name, pattern)
                       for pattern in patterns)]
    if expected:
      missing[f"{prefix}-{'?' * width}-of-{count}"] = expected
  return missing


def record_files(file_patterns, flag_name="input_file", error=ValueError):
  """The TFRecord files that the patterns (a list, or a comma-separated
  string) match, in a fixed order, less create_pretraining_data's sidecars.

  Raises `error` when the patterns match part of a NAME-i-of-N set whose
  other shards they would match too: shards still being written (a
  create_pretraining_data run in progress) or deleted. Training on them
  would silently see a fraction of the data.
  """
  if isinstance(file_patterns, str):
    file_patterns = [file_patterns]
  patterns = [p.strip() for text in file_patterns for p in text.split(",")
              if p.strip()]
  files = expand_file_patterns(",".join(patterns), flag_name, error=error)
  records = [f for f in files if not _is_sidecar(f)]
  if not records:
    raise error(f"--{flag_name} matches only statistics and manifest files "
                f"(or temporaries) ({files[0]}, ...), no TFRecords")
  incomplete = missing_shards(records, patterns)
  if incomplete:
    name, absent = next(iter(incomplete.items()))
    count = int(name.rsplit("-of-", 1)[1])
    shown = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
    raise error(
        f"--{flag_name} matches {count - len(absent)} of the {count} shards "
        f"of {name}: {len(absent)} missing ({shown}); is "
        "create_pretraining_data still writing them (wait for it), or were "
        "they deleted? To train on part of a set on purpose, name those "
        "shards (e.g. train-0000[0-2]-of-00004)")
  return records


def _file_names(files, is_training, seed, repeat):
  """The dataset of file names the readers open, in the order they do."""
  dataset = tf.data.Dataset.from_tensor_slices(tf.constant(files))
  if not is_training:
    return dataset
  if repeat:
    dataset = dataset.repeat()
  return dataset.shuffle(len(files), seed=seed)


def training_file_order(files, seed, repeat=True):
  """The files in the order a training pipeline (same seed) first opens
  them, each once."""
  order, seen = [], set()
  # With repeat() before the shuffle, epochs mix at their borders: some
  # files are first opened a little after the first len(files).
  for name in _file_names(files, True, seed, repeat).take(2 * len(files)):
    path = name.numpy().decode("utf-8")
    if path not in seen:
      seen.add(path)
      order.append(path)
      if len(order) == len(files):
        break
  return order + [f for f in files if f not in seen]


def find_corrupt_file(files, seed=None, repeat=True, time_budget_s=300.0,
                      decode=None):
  """The first of `files` (in training order when seeded) that has a corrupt
  record, or None if none is found within the time budget.

  For after training stopped on a DataLossError: a seeded pipeline reads
  files in a fixed order, so the file it failed on is found after reading
  about as much as training had read. `seed` and `repeat` (no dynamic
  masker) are those pretraining_dataset was given; no seed: `files` order.
  `decode` (a record → features function, e.g. decode_record with the
  run's lengths) also finds records that are intact but do not parse
  ("Can't parse serialized Example": other lengths, not an Example).
  """
  order = (training_file_order(files, seed, repeat) if seed is not None
           else files)
  deadline = time.time() + time_budget_s
  for path in order:
    if time.time() > deadline:
      return None
    try:
      # Read in the runtime, not in Python: only the record framing and
      # checksums are checked.
      records = tf.data.TFRecordDataset(path)
      if decode is not None:
        records = records.map(decode)
      records.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError):
      return path
    except tf.errors.OpError:
      continue  # Unreadable for another reason: not what we look for.
  return None


def count_records(files, limit):
  """How many records `files` hold, counting up to `limit` at most (reads
  at most `limit` records)."""
  return int(tf.data.TFRecordDataset(files).take(limit).reduce(
      tf.constant(0, tf.int64), lambda count, _: count + 1).numpy())


def pretraining_dataset(file_patterns, batch_size, max_seq_length,
                        max_predictions_per_seq, is_training=True,
                        input_context=None, num_cpu_threads=4, seed=None,
                        masker=None, flag_name="input_file",
                        drop_remainder=True):
  """Batches of pretraining features, as the original input_fn builds them.

  `file_patterns`: a list of globs, or one comma-separated string.
  `batch_size` is the per-replica batch.

  Training: files are shuffled, read with a parallel (deterministic when
  seeded) interleave, examples shuffled again and repeated; batches drop the
  remainder so every step has the same shape. `masker` (a DynamicMasker)
  re-masks every epoch. With several input pipelines (multi-worker), every
  pipeline reads the same seeded stream and keeps its own replicas' batches
  of each step, so a step sees the same global batch whatever the number of
  workers and replicas — what makes runs comparable across strategies.

  Evaluation reads each file once, in order; pipelines split the files.
  With `drop_remainder` (the original's, and what TPUs need: static shapes)
  its batches drop the remainder too, and come in whole steps, so no
  replica is handed an empty batch. Without, the last batch is partial (and
  some replicas' last batch may be empty): every example is evaluated.
  """
  files = record_files(file_patterns, flag_name)
  pipelines = input_context.num_input_pipelines if input_context else 1
  replicas_per_pipeline = max(
      1, input_context.num_replicas_in_sync // pipelines) if (
          input_context) else 1
  dataset = _file_names(files, is_training, seed, repeat=masker is None)
  if not is_training:
    if pipelines > 1:
      dataset = dataset.shard(pipelines, input_context.input_pipeline_id)
    dataset = tf.data.TFRecordDataset(dataset).map(
        lambda r: decode_record(r, max_seq_length, max_predictions_per_seq),
        num_parallel_calls=tf.data.AUTOTUNE).batch(
            batch_size, drop_remainder=drop_remainder)
    if replicas_per_pipeline > 1 and drop_remainder:
      dataset = dataset.batch(replicas_per_pipeline,
                              drop_remainder=True).unbatch()
    return dataset.prefetch(tf.data.AUTOTUNE)

  dataset = dataset.interleave(
      tf.data.TFRecordDataset,
      cycle_length=max(1, min(num_cpu_threads, len(files))),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
  dataset = dataset.shuffle(100, seed=seed)
  dataset = dataset.map(
      lambda r: decode_record(r, max_seq_length, max_predictions_per_seq),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
  if masker is not None:
    dataset = masker.apply(dataset)
  dataset = dataset.batch(batch_size, drop_remainder=True)
  if pipelines > 1:
    dataset = dataset.batch(replicas_per_pipeline, drop_remainder=True)
    dataset = dataset.shard(pipelines, input_context.input_pipeline_id)
    dataset = dataset.unbatch()
  return dataset.prefetch(tf.data.AUTOTUNE)
