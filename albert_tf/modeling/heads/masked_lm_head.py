"""The original masked-LM head (cls/predictions), tied to the word embeddings."""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.activations import get_activation
from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers.layer_norm import Tf1LayerNorm


class MaskedLMHead(tf_keras.layers.Layer):
  """Dense + activation + LayerNorm, then logits against the embeddings.

  Google flavor: the transform maps H→E and logits = x·word_embeddingsᵀ + b.
  albert_zh flavor: the transform is H→H and logits go back through the
  projection: x·word_embeddings_2ᵀ·word_embeddingsᵀ + b.
  The embedding weights are passed at call time so they stay owned (and
  counted) once, by the encoder.
  """

  def __init__(self,
               vocab_size,
               transform_size,
               hidden_act="gelu",
               initializer_range=0.02,
               **kwargs):
    super().__init__(**kwargs)
    self.vocab_size = vocab_size
    self.transform_size = transform_size
    self.hidden_act = hidden_act
    self.initializer_range = initializer_range
    self.transform = tf_keras.layers.Dense(
        transform_size, activation=get_activation(hidden_act),
        kernel_initializer=truncated_normal(initializer_range),
        name="transform")
    self.layer_norm = Tf1LayerNorm(name="LayerNorm")

  def build(self, input_shape):
    build_in_scope(self.transform, input_shape)
    build_in_scope(self.layer_norm, [None, None, self.transform_size])
    self.output_bias = self.add_weight(
        "output_bias", shape=[self.vocab_size], initializer="zeros")
    super().build(input_shape)

  def call(self, sequence_output, masked_lm_positions, word_embeddings,
           word_embeddings_2=None):
    """Returns logits [B,P,V] at `masked_lm_positions` [B,P]."""
    positions = tf.cast(masked_lm_positions, tf.int32)
    hidden = tf.gather(sequence_output, positions, batch_dims=1)
    return self.logits_of_rows(hidden, word_embeddings, word_embeddings_2)

  def logits_of_rows(self, hidden, word_embeddings, word_embeddings_2=None):
    """Logits [B,P,V] of encoder rows already gathered at the positions."""
    hidden = self.layer_norm(self.transform(hidden))
    if word_embeddings_2 is not None:
      hidden = tf.matmul(hidden, word_embeddings_2, transpose_b=True)
    logits = tf.matmul(hidden, word_embeddings, transpose_b=True)
    return logits + self.output_bias

  def get_config(self):
    return dict(
        super().get_config(),
        vocab_size=self.vocab_size,
        transform_size=self.transform_size,
        hidden_act=self.hidden_act,
        initializer_range=self.initializer_range)
