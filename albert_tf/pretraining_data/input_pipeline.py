"""tf.data input for pretraining from original-format TFRecords."""

import tensorflow as tf

from albert_tf.pretraining_data.features import feature_spec


def decode_record(record, max_seq_length, max_predictions_per_seq):
  """Parses one serialized example; int64 features become int32."""
  example = tf.io.parse_single_example(
      record, feature_spec(max_seq_length, max_predictions_per_seq))
  return {name: tf.cast(t, tf.int32) if t.dtype == tf.int64 else t
          for name, t in example.items()}


def pretraining_dataset(file_patterns, batch_size, max_seq_length,
                        max_predictions_per_seq, is_training=True,
                        input_context=None, num_cpu_threads=4, seed=None):
  """Batches of pretraining features, as the original input_fn builds them.

  Training: files are sharded per input pipeline (tf.distribute), repeated,
  shuffled, read with parallel interleave and examples shuffled again;
  batches drop the remainder so every step has the same shape. `batch_size`
  is the per-replica batch.
  """
  files = []
  for pattern in file_patterns:
    matched = tf.io.gfile.glob(pattern)
    if not matched:
      raise ValueError(f"input file pattern {pattern!r} matches no file")
    files.extend(sorted(matched))
  dataset = tf.data.Dataset.from_tensor_slices(tf.constant(files))
  if input_context is not None and input_context.num_input_pipelines > 1:
    dataset = dataset.shard(input_context.num_input_pipelines,
                            input_context.input_pipeline_id)
  if is_training:
    dataset = dataset.repeat().shuffle(len(files), seed=seed)
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=max(1, min(num_cpu_threads, len(files))),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=seed is not None)
    dataset = dataset.shuffle(100, seed=seed)
  else:
    dataset = tf.data.TFRecordDataset(dataset)
  dataset = dataset.map(
      lambda r: decode_record(r, max_seq_length, max_predictions_per_seq),
      num_parallel_calls=tf.data.AUTOTUNE)
  return dataset.batch(batch_size, drop_remainder=is_training).prefetch(
      tf.data.AUTOTUNE)
