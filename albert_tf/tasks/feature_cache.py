"""Feature caches as TFRecord files and tf.data pipelines over them.

Like the original (train.tf_record / eval.tf_record in output_dir), features
are computed once, written under a temporary name and renamed when complete,
so datasets larger than memory stream from disk. A cache is checked against
its recorded checksum before it is reused, and rebuilt if damaged.
"""

import hashlib
import json
import logging
import os

import numpy as np
import tensorflow as tf

from albert_tf.files import temporaries
from albert_tf.files.atomic_write import write_text_atomically


def _int_feature(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(
      value=np.asarray(values).reshape(-1).tolist()))


def _float_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=np.asarray(values, np.float32).reshape(-1).tolist()))


def write_records(path, features, spec):
  """Writes an iterable of feature dicts; spec: {name: (shape, dtype)}.

  The records go to a temporary file named after this process (two runs
  never share it) and are renamed to `path` when complete. Returns the
  number of records written.
  """
  directory, name = os.path.split(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  temporaries.remove_stale_temporaries(directory, name)
  fd, temporary = temporaries.make_temporary_file(directory, name)
  os.close(fd)
  count = 0
  try:
    with tf.io.TFRecordWriter(temporary) as writer:
      for feature in features:
        fields = {}
        for field, (_, dtype) in spec.items():
          value = feature[field]
          fields[field] = (_float_feature(value) if dtype == tf.float32
                           else _int_feature(value))
        writer.write(tf.train.Example(features=tf.train.Features(
            feature=fields)).SerializeToString())
        count += 1
    os.replace(temporary, path)
  except BaseException:
    if os.path.exists(temporary):
      os.remove(temporary)
    raise
  return count


def _sha256(path):
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _read_meta(meta_path):
  """The cache's record ({key, count, sha256}), or None when absent or
  unreadable (a damaged record only costs a rebuild)."""
  try:
    with open(meta_path, encoding="utf-8") as f:
      meta = json.load(f)
  except FileNotFoundError:
    return None
  except (OSError, UnicodeDecodeError, ValueError):
    return {}
  return meta if isinstance(meta, dict) else {}


def cached_records(path, cache_key, make_features, spec,
                   warn=logging.warning):
  """write_records unless `path` was written for the same `cache_key`.

  cache_key is a JSON-able description of everything the features depend on
  (input file, its size and mtime, max_seq_length, tokenizer, ...). Returns
  the number of records.

  The cache's checksum is recorded beside it (`path`.meta.json) and checked
  before it is reused: a damaged cache (a truncated or overwritten file, a
  flipped byte) is rebuilt, with a warning naming it, instead of stopping
  training later with "Can't parse serialized Example".
  """
  meta_path = path + ".meta.json"
  key = json.dumps(cache_key, sort_keys=True)
  meta = _read_meta(meta_path)
  if meta is not None and meta.get("key") == key and os.path.exists(path):
    if meta.get("sha256") and meta["sha256"] == _sha256(path):
      return meta["count"]
    warn(f"feature cache {path} is damaged (its contents do not match the "
         f"checksum in {meta_path}); rebuilding it")
  elif meta == {}:
    warn(f"feature cache record {meta_path} is damaged; rebuilding {path}")
  # The old record goes first: a run killed while rewriting the records
  # must not leave them under the previous key.
  if meta is not None:
    os.remove(meta_path)
  count = write_records(path, make_features(), spec)
  write_text_atomically(meta_path, json.dumps(
      {"key": key, "count": count, "sha256": _sha256(path)}))
  return count


def file_signature(path):
  """What a cache key needs to notice that an input file changed."""
  stat = os.stat(path)
  return [os.path.abspath(path), stat.st_size, stat.st_mtime_ns]


def _parse_fn(spec):
  description = {
      name: tf.io.FixedLenFeature(
          shape, tf.float32 if dtype == tf.float32 else tf.int64)
      for name, (shape, dtype) in spec.items()}

  def parse(record):
    parsed = tf.io.parse_single_example(record, description)
    return {name: (value if value.dtype == tf.float32
                   else tf.cast(value, tf.int32))
            for name, value in parsed.items()}
  return parse


def records_dataset(path, spec, batch_size, is_training, label_keys=(),
                    seed=None, drop_remainder=None):
  """(features, labels) batches; label_keys go to the labels dict.

  Training data repeats forever, shuffled (buffer 100 like the original);
  evaluation data is read once in file order, the last batch kept.
  """
  dataset = tf.data.TFRecordDataset(path)
  if is_training:
    dataset = dataset.repeat().shuffle(100, seed=seed)
  dataset = dataset.map(_parse_fn(spec),
                        num_parallel_calls=tf.data.AUTOTUNE)

  def split(record):
    features = {k: v for k, v in record.items() if k not in label_keys}
    labels = {k: v for k, v in record.items() if k in label_keys}
    return features, labels
  dataset = dataset.map(split)
  if drop_remainder is None:
    drop_remainder = is_training
  return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE)
