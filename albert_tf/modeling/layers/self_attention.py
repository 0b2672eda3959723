"""Multi-head self-attention with the original's 2-D [H,H] kernels."""

import math

import tensorflow as tf
import tf_keras

from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers import recompute as recompute_lib
from albert_tf.modeling.layers import seeded_dropout


def attention_mask_adder(input_mask, dtype=tf.float32):
  """(1 - mask) * -10000.0 as [B,1,1,S]: the original's additive mask.

  It is broadcast over heads and query positions, so padded query rows are
  still computed, exactly as in the original graph.
  """
  mask = tf.cast(input_mask, dtype)[:, tf.newaxis, tf.newaxis, :]
  return (1.0 - mask) * -10000.0


class SelfAttention(tf_keras.layers.Layer):
  """Scaled dot-product self-attention over `num_heads` heads.

  Returns the per-head context re-merged to [B,S,H]; the output projection
  lives in the transformer block, where the original scopes it.
  """

  def __init__(self,
               hidden_size,
               num_heads,
               initializer_range=0.02,
               dropout_rate=0.0,
               **kwargs):
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.num_heads = num_heads
    self.initializer_range = initializer_range
    self.dropout_rate = dropout_rate
    self.head_size = hidden_size // num_heads
    self.scale = 1.0 / math.sqrt(float(self.head_size))
    # The original scales the [B,N,S,S] product. Without XLA, TF then keeps
    # that unscaled product alive for the backward pass: one more seq x seq
    # tensor per layer (1.25 GB for albert_base at batch 8, seq 512).
    # Scaling the query instead keeps only the scaled [B,N,S,D] query, and
    # when the scale is a power of two (head sizes 4, 16, 64, 256: every
    # released config but xlarge's 128) the scores are bit-identical, since
    # multiplying by a power of two is exact in every product and sum.
    # Other head sizes keep the original's order.
    self.scale_query = math.frexp(self.scale)[0] == 0.5

    def dense(name):
      return tf_keras.layers.Dense(
          hidden_size, kernel_initializer=truncated_normal(initializer_range),
          name=name)

    self.query = dense("query")
    self.key = dense("key")
    self.value = dense("value")
    self.dropout = seeded_dropout.Dropout(dropout_rate)

  def build(self, input_shape):
    for dense in (self.query, self.key, self.value):
      build_in_scope(dense, input_shape)
    super().build(input_shape)

  def _split_heads(self, x, batch_size, length):
    # The length is spelled out: reshape cannot infer a -1 next to a batch of
    # 0 (an empty last eval batch on some replica).
    x = tf.reshape(x, [batch_size, length, self.num_heads, self.head_size])
    return tf.transpose(x, [0, 2, 1, 3])  # [B,N,S,D]

  def call(self, hidden_states, mask_adder, training=None, query_rows=None,
           dropout_seed=None, recompute_core=False):
    """Attends over [B,S,H] or flattened [B·S,H] `hidden_states`.

    `mask_adder` is [B,1,1,S]; it also gives the batch size for flattened
    inputs. The output has the input's shape. `query_rows` (flattened input
    only): indices into the B·S rows, R per example in example order; then
    only those rows attend (keys and values still cover every position) and
    the output is [B·R,H], equal to those rows of the full output.

    `dropout_seed` ([2] int32): use stateless dropout with this seed (see
    recompute.py). `recompute_core`: recompute scores, softmax, dropout and
    context in the backward pass instead of keeping them.
    """
    batch_size = tf.shape(mask_adder)[0]
    length = tf.shape(mask_adder)[3]
    query_states, query_length = hidden_states, length
    if query_rows is not None:
      query_states = tf.gather(hidden_states, query_rows)
      query_length = tf.shape(query_rows)[0] // tf.maximum(batch_size, 1)
    query = self._split_heads(self.query(query_states), batch_size,
                              query_length)
    key = self._split_heads(self.key(hidden_states), batch_size, length)
    value = self._split_heads(self.value(hidden_states), batch_size, length)
    def core(query, key, value):
      if self.scale_query:
        scores = tf.matmul(query * self.scale, key, transpose_b=True)
      else:
        scores = tf.matmul(query, key, transpose_b=True)
        scores *= self.scale
      scores += tf.cast(mask_adder, scores.dtype)
      probs = tf.nn.softmax(scores)
      if dropout_seed is not None:
        if training:
          probs = recompute_lib.stateless_dropout(
              probs, self.dropout_rate, dropout_seed,
              recompute_lib.ATTENTION_PROBS_SITE)
      else:
        probs = self.dropout(probs, training=training)
      return tf.matmul(probs, value)

    if recompute_core:
      context = recompute_lib.recompute(core, query, key, value)
    else:
      context = core(query, key, value)
    context = tf.transpose(context, [0, 2, 1, 3])
    return tf.reshape(context, tf.shape(query_states))

  def get_config(self):
    return dict(
        super().get_config(),
        hidden_size=self.hidden_size,
        num_heads=self.num_heads,
        initializer_range=self.initializer_range,
        dropout_rate=self.dropout_rate)
