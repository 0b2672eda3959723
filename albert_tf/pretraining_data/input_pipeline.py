"""tf.data input for pretraining from original-format TFRecords."""

import tensorflow as tf

from albert_tf.files.file_patterns import expand_file_patterns
from albert_tf.pretraining_data.tfrecord_features import feature_spec


def decode_record(record, max_seq_length, max_predictions_per_seq):
  """Parses one serialized example; int64 features become int32."""
  example = tf.io.parse_single_example(
      record, feature_spec(max_seq_length, max_predictions_per_seq))
  return {name: tf.cast(t, tf.int32) if t.dtype == tf.int64 else t
          for name, t in example.items()}


def pretraining_dataset(file_patterns, batch_size, max_seq_length,
                        max_predictions_per_seq, is_training=True,
                        input_context=None, num_cpu_threads=4, seed=None,
                        masker=None, flag_name="input_file"):
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
  Its batches drop the remainder too (as the original's on TPU), and come in
  whole steps, so no replica is handed an empty batch.
  """
  if isinstance(file_patterns, str):
    file_patterns = [file_patterns]
  files = expand_file_patterns(",".join(file_patterns), flag_name)
  dataset = tf.data.Dataset.from_tensor_slices(tf.constant(files))
  pipelines = input_context.num_input_pipelines if input_context else 1
  replicas_per_pipeline = max(
      1, input_context.num_replicas_in_sync // pipelines) if (
          input_context) else 1
  if not is_training:
    if pipelines > 1:
      dataset = dataset.shard(pipelines, input_context.input_pipeline_id)
    dataset = tf.data.TFRecordDataset(dataset).map(
        lambda r: decode_record(r, max_seq_length, max_predictions_per_seq),
        num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size,
                                                   drop_remainder=True)
    if replicas_per_pipeline > 1:
      dataset = dataset.batch(replicas_per_pipeline,
                              drop_remainder=True).unbatch()
    return dataset.prefetch(tf.data.AUTOTUNE)

  if masker is None:
    dataset = dataset.repeat()
  dataset = dataset.shuffle(len(files), seed=seed)
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
