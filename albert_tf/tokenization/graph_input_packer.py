"""Packs token ids into [CLS] A [SEP] (B [SEP]) model inputs, in graph."""

import tensorflow as tf
import tensorflow_text as tf_text

TRUNCATION_STRATEGIES = ("longest_first", "round_robin")


def longest_first_lengths(length_a, length_b, budget):
  """Lengths the original _truncate_seq_pair leaves, in closed form.

  The original pops one token at a time from the longer segment, from B on
  ties, until the pair fits `budget`. So the longer one shrinks to the
  shorter's length t first; any excess r beyond that comes off alternately,
  B first: A keeps t - ⌊r/2⌋, B keeps t - ⌈r/2⌉.
  """
  excess = tf.maximum(length_a + length_b - budget, 0)
  gap = tf.abs(length_a - length_b)
  shorter = tf.minimum(length_a, length_b)
  rest = tf.maximum(excess - gap, 0)
  only_longer = excess <= gap
  new_a = tf.where(
      only_longer,
      tf.where(length_a > length_b, length_a - excess, length_a),
      shorter - rest // 2)
  new_b = tf.where(
      only_longer,
      tf.where(length_a > length_b, length_b, length_b - excess),
      shorter - (rest + 1) // 2)
  return new_a, new_b


def _keep_first(segment, lengths):
  positions = tf.ragged.range(segment.row_lengths())
  return tf.ragged.boolean_mask(
      segment, positions < tf.expand_dims(lengths, -1))


class InputPacker(tf.Module):
  """Token-id segments → input_word_ids / input_mask / input_type_ids.

  One segment: [CLS] A [SEP]; two: [CLS] A [SEP] B [SEP] with type id 1 on
  B [SEP]. Too-long inputs are truncated "longest_first" (the original's
  pair truncation; a single segment just loses its tail) or "round_robin"
  (tensorflow_text's RoundRobinTrimmer). Right padding with pad_id.

  `seq_length` is a Python int or a scalar int tensor; a tensor lets one
  traced graph (e.g. an exported `bert_pack_inputs`) pack to any length.
  """

  def __init__(self, seq_length, cls_id, sep_id, pad_id=0,
               truncation="longest_first", name=None):
    super().__init__(name=name)
    if truncation not in TRUNCATION_STRATEGIES:
      raise ValueError(f"truncation must be one of {TRUNCATION_STRATEGIES}, "
                       f"got {truncation!r}")
    # A tensor length is checked where it is used, in the graph.
    if isinstance(seq_length, int) and seq_length < 3:
      raise ValueError(f"seq_length must be at least 3, got {seq_length}")
    self.seq_length = seq_length
    self.cls_id = cls_id
    self.sep_id = sep_id
    self.pad_id = pad_id
    self.truncation = truncation

  def truncate(self, segments):
    budget = self.seq_length - 1 - len(segments)  # [CLS] and one [SEP] each.
    if isinstance(budget, tf.Tensor):
      with tf.control_dependencies([tf.debugging.assert_greater_equal(
          budget, 1 if len(segments) == 1 else 0,
          message="seq_length too short for [CLS] and [SEP] tokens")]):
        # Row lengths are int64 (or int32), whatever the length's dtype.
        budget = tf.cast(budget, segments[0].row_splits.dtype)
    if self.truncation == "round_robin":
      return tf_text.RoundRobinTrimmer(budget).trim(segments)
    if len(segments) == 1:
      return [segments[0][:, :budget]]
    a, b = segments
    length_a, length_b = longest_first_lengths(
        a.row_lengths(), b.row_lengths(), budget)
    return [_keep_first(a, length_a), _keep_first(b, length_b)]

  def __call__(self, segments):
    """`segments`: a list of 1 or 2 int RaggedTensors [B, (T)]."""
    if not 1 <= len(segments) <= 2:
      raise ValueError(f"expected 1 or 2 segments, got {len(segments)}")
    segments = [tf.cast(s, tf.int32) for s in segments]
    segments = self.truncate(segments)
    ids, type_ids = tf_text.combine_segments(
        segments, start_of_sequence_id=self.cls_id,
        end_of_segment_id=self.sep_id)
    word_ids, mask = tf_text.pad_model_inputs(
        ids, max_seq_length=self.seq_length, pad_value=self.pad_id)
    type_ids, _ = tf_text.pad_model_inputs(
        type_ids, max_seq_length=self.seq_length, pad_value=0)
    return {
        "input_word_ids": tf.cast(word_ids, tf.int32),
        "input_mask": tf.cast(mask, tf.int32),
        "input_type_ids": tf.cast(type_ids, tf.int32),
    }
