"""Feature caches as TFRecord files and tf.data pipelines over them.

Like the original (train.tf_record / eval.tf_record in output_dir), features
are computed once, written under a temporary name and renamed when complete,
so datasets larger than memory stream from disk.
"""

import json
import os

import numpy as np
import tensorflow as tf


def _int_feature(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(
      value=np.asarray(values).reshape(-1).tolist()))


def _float_feature(values):
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=np.asarray(values, np.float32).reshape(-1).tolist()))


def write_records(path, features, spec):
  """Writes an iterable of feature dicts; spec: {name: (shape, dtype)}.

  Returns the number of records written.
  """
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  temporary = path + ".tmp"
  count = 0
  with tf.io.TFRecordWriter(temporary) as writer:
    for feature in features:
      fields = {}
      for name, (_, dtype) in spec.items():
        value = feature[name]
        fields[name] = (_float_feature(value) if dtype == tf.float32
                        else _int_feature(value))
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=fields)).SerializeToString())
      count += 1
  os.replace(temporary, path)
  return count


def cached_records(path, cache_key, make_features, spec):
  """write_records unless `path` was written for the same `cache_key`.

  cache_key is a JSON-able description of everything the features depend on
  (input file, its size and mtime, max_seq_length, tokenizer, ...). Returns
  the number of records.
  """
  meta_path = path + ".meta.json"
  key = json.dumps(cache_key, sort_keys=True)
  if os.path.exists(path) and os.path.exists(meta_path):
    with open(meta_path, encoding="utf-8") as f:
      meta = json.load(f)
    if meta.get("key") == key:
      return meta["count"]
  count = write_records(path, make_features(), spec)
  temporary = meta_path + ".tmp"
  with open(temporary, "w", encoding="utf-8") as f:
    json.dump({"key": key, "count": count}, f)
  os.replace(temporary, meta_path)
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
