"""The original sentence-order (SOP/NSP) head (cls/seq_relationship)."""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.layers.initializers import truncated_normal


class SentenceOrderHead(tf_keras.layers.Layer):
  """logits = pooled · output_weightsᵀ + output_bias.

  `output_weights` is stored [num_classes, H] (not transposed), as in the
  original checkpoint.
  """

  def __init__(self, hidden_size, num_classes=2, initializer_range=0.02,
               **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.num_classes = num_classes
    self.initializer_range = initializer_range

  def build(self, input_shape):
    self.output_weights = self.add_weight(
        "output_weights", shape=[self.num_classes, self.hidden_size],
        initializer=truncated_normal(self.initializer_range))
    self.output_bias = self.add_weight(
        "output_bias", shape=[self.num_classes], initializer="zeros")
    super().build(input_shape)

  def call(self, pooled_output):
    logits = tf.matmul(pooled_output, self.output_weights, transpose_b=True)
    return logits + self.output_bias

  def get_config(self):
    return dict(
        super().get_config(),
        hidden_size=self.hidden_size,
        num_classes=self.num_classes,
        initializer_range=self.initializer_range)
