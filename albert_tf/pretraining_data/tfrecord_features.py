"""The original pretraining TFRecord features: names, dtypes and lengths."""

import collections

import tensorflow as tf


def feature_spec(max_seq_length, max_predictions_per_seq):
  """The tf.io.parse_single_example spec the original run_pretraining uses."""
  return {
      "input_ids": tf.io.FixedLenFeature([max_seq_length], tf.int64),
      "input_mask": tf.io.FixedLenFeature([max_seq_length], tf.int64),
      "segment_ids": tf.io.FixedLenFeature([max_seq_length], tf.int64),
      "token_boundary": tf.io.FixedLenFeature([max_seq_length], tf.int64),
      "masked_lm_positions":
          tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
      "masked_lm_ids":
          tf.io.FixedLenFeature([max_predictions_per_seq], tf.int64),
      "masked_lm_weights":
          tf.io.FixedLenFeature([max_predictions_per_seq], tf.float32),
      # Named for NSP; holds the sentence-order label in ALBERT's data.
      "next_sentence_labels": tf.io.FixedLenFeature([1], tf.int64),
  }


def _ints(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _floats(values):
  return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def instance_to_example(instance, tokens_to_ids, max_seq_length,
                        max_predictions_per_seq):
  """A serialized tf.train.Example with the original's features, zero-padded.

  `tokens_to_ids` converts a token list to ids (the tokenizer's own lookup).
  """
  input_ids = tokens_to_ids(instance.tokens)
  if len(input_ids) > max_seq_length:
    raise ValueError(f"instance of {len(input_ids)} tokens exceeds "
                     f"max_seq_length {max_seq_length}")
  pad = max_seq_length - len(input_ids)
  positions = list(instance.masked_lm_positions)
  label_ids = tokens_to_ids(instance.masked_lm_labels)
  weights = [1.0] * len(label_ids)
  prediction_pad = max_predictions_per_seq - len(positions)
  features = collections.OrderedDict()
  features["input_ids"] = _ints(input_ids + [0] * pad)
  features["input_mask"] = _ints([1] * len(input_ids) + [0] * pad)
  features["segment_ids"] = _ints(list(instance.segment_ids) + [0] * pad)
  features["token_boundary"] = _ints(list(instance.token_boundary) + [0] * pad)
  features["masked_lm_positions"] = _ints(positions + [0] * prediction_pad)
  features["masked_lm_ids"] = _ints(label_ids + [0] * prediction_pad)
  features["masked_lm_weights"] = _floats(weights + [0.0] * prediction_pad)
  features["next_sentence_labels"] = _ints([int(instance.is_random_next)])
  example = tf.train.Example(features=tf.train.Features(feature=features))
  # Map fields serialize in hash order unless asked; sorted keys make the
  # bytes reproducible across processes.
  return example.SerializeToString(deterministic=True)
