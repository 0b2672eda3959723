"""AlbertEncoder + a SQuAD head as one tf_keras Model."""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_encoder import as_albert_config
from albert_tf.tasks.squad.heads import SquadV1Head
from albert_tf.tasks.squad.heads import SquadV2Head
from albert_tf.tasks.squad.heads import squad_v1_loss
from albert_tf.tasks.squad.heads import squad_v2_loss


def p_mask_from_inputs(input_type_ids, input_mask):
  """The feature p_mask recomputed from packed inputs.

  0 on [CLS] (position 0) and on segment-1 pieces except the final [SEP];
  1 elsewhere (question, separators, padding). Lets a model served on raw
  text (no p_mask input) mask like the features do.
  """
  input_type_ids = tf.cast(input_type_ids, tf.int32)
  input_mask = tf.cast(input_mask, tf.int32)
  in_second = input_type_ids * input_mask
  # The last real position of each row is the closing [SEP].
  length = tf.reduce_sum(input_mask, axis=-1, keepdims=True)
  positions = tf.range(tf.shape(input_mask)[1])[None]
  is_last = tf.cast(tf.equal(positions, length - 1), tf.int32)
  allowed = in_second * (1 - is_last)
  allowed = tf.maximum(allowed, tf.cast(tf.equal(positions, 0), tf.int32))
  return 1 - allowed


class SquadModel(tf_keras.Model):
  """ALBERT for SQuAD: `.encoder` (AlbertEncoder) and `.head`.

  Inputs: a dict with input_word_ids, input_mask, input_type_ids and
  optionally p_mask (derived from the others when absent) and, for the v2
  head's teacher-forced training outputs, start_positions.

  Outputs: v1 — start_logits, end_logits [B,S]. v2 — see SquadV2Head.call.
  """

  def __init__(self, config, version_2_with_negative=False, start_n_top=5,
               end_n_top=5, dropout_prob=0.1, encoder=None, **kwargs):
    kwargs.setdefault("name", "albert_squad")
    super().__init__(**kwargs)
    self.config = as_albert_config(config)
    self.version_2_with_negative = version_2_with_negative
    self.encoder = encoder or AlbertEncoder(self.config)
    # SQuAD reads only sequence_output: the pooler gets no gradient (the
    # original optimizers skipped its None gradients; this says so once).
    self.encoder.pooler.trainable = False
    if version_2_with_negative:
      self.head = SquadV2Head(
          self.config.hidden_size, self.config.initializer_range,
          start_n_top=start_n_top, end_n_top=end_n_top,
          dropout_prob=dropout_prob)
    else:
      self.head = SquadV1Head(self.config.hidden_size,
                              self.config.initializer_range)

  def call(self, inputs, training=False):
    encoder_inputs = {
        "input_word_ids": inputs["input_word_ids"],
        "input_mask": inputs["input_mask"],
        "input_type_ids": inputs["input_type_ids"],
    }
    sequence_output = self.encoder(
        encoder_inputs, training=training)["sequence_output"]
    if not self.version_2_with_negative:
      return self.head(sequence_output)
    p_mask = inputs.get("p_mask")
    if p_mask is None:
      p_mask = p_mask_from_inputs(inputs["input_type_ids"],
                                  inputs["input_mask"])
    return self.head(sequence_output, p_mask,
                     start_positions=inputs.get("start_positions"),
                     training=training)

  def squad_loss(self, labels, outputs):
    """Per-example training loss (labels: start_positions, end_positions
    and, for v2, is_impossible); the batch mean is the original's loss."""
    if not self.version_2_with_negative:
      return squad_v1_loss(outputs, labels["start_positions"],
                           labels["end_positions"])
    return squad_v2_loss(outputs, labels["start_positions"],
                         labels["end_positions"], labels["is_impossible"])

  def head_min_length(self):
    """The shortest input the head can decode (top-k needs k positions)."""
    if not self.version_2_with_negative:
      return 1
    return max(self.head.start_n_top, self.head.end_n_top)

  def build_for_inputs(self, seq_length=8):
    """Creates every weight by calling the model once on dummy inputs."""
    seq_length = max(seq_length, self.head_min_length())
    ones = tf.ones([1, seq_length], tf.int32)
    self({"input_word_ids": ones, "input_mask": ones,
          "input_type_ids": tf.zeros([1, seq_length], tf.int32)})
    return self
