"""One ALBERT attention + feed-forward block (an "inner group")."""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.activations import get_activation
from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers.layer_norm import Tf1LayerNorm
from albert_tf.modeling.layers import recompute as recompute_lib
from albert_tf.modeling.layers import seeded_dropout
from albert_tf.modeling.layers.self_attention import SelfAttention


class TransformerBlock(tf_keras.layers.Layer):
  """Self-attention and FFN with residuals, in post-LN or pre-LN order.

  Post-LN (Google ALBERT, albert_zh "postln"):
    x1 = LN(dropout(dense(attn(x))) + x); x2 = LN(dropout(W2·act(W1·x1)) + x1)
  Pre-LN (albert_zh "preln"): the same LayerNorm weights are applied to the
  inputs of attention and of the FFN instead, with no LayerNorm at the end:
    x1 = dropout(dense(attn(LN(x)))) + x; x2 = dropout(W2·act(W1·LN1(x1))) + x1

  `recompute` (none | attention | block): which activations training
  recomputes in the backward pass instead of keeping (see recompute.py).
  """

  def __init__(self,
               hidden_size,
               num_attention_heads,
               intermediate_size,
               hidden_act="gelu",
               hidden_dropout_prob=0.0,
               attention_probs_dropout_prob=0.0,
               initializer_range=0.02,
               norm_first=False,
               recompute="none",
               **kwargs):
    super().__init__(**kwargs)
    self.recompute = recompute_lib.check_recompute_mode(recompute)
    self.hidden_size = hidden_size
    self.num_attention_heads = num_attention_heads
    self.intermediate_size = intermediate_size
    self.hidden_act = hidden_act
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.initializer_range = initializer_range
    self.norm_first = norm_first

    self.attention = SelfAttention(
        hidden_size, num_attention_heads, initializer_range=initializer_range,
        dropout_rate=attention_probs_dropout_prob, name="self")
    self.attention_output_dense = tf_keras.layers.Dense(
        hidden_size, kernel_initializer=truncated_normal(initializer_range),
        name="attention_output")
    self.attention_layer_norm = Tf1LayerNorm(name="attention_layer_norm")
    self.intermediate_dense = tf_keras.layers.Dense(
        intermediate_size, activation=get_activation(hidden_act),
        kernel_initializer=truncated_normal(initializer_range),
        name="intermediate")
    self.output_dense = tf_keras.layers.Dense(
        hidden_size, kernel_initializer=truncated_normal(initializer_range),
        name="output")
    self.output_layer_norm = Tf1LayerNorm(name="output_layer_norm")
    self.dropout = seeded_dropout.Dropout(hidden_dropout_prob)

  def build(self, input_shape):
    hidden_shape = [None, None, self.hidden_size]
    build_in_scope(self.attention, hidden_shape)
    build_in_scope(self.attention_output_dense, hidden_shape)
    build_in_scope(self.attention_layer_norm, hidden_shape)
    build_in_scope(self.intermediate_dense, hidden_shape)
    build_in_scope(self.output_dense, [None, None, self.intermediate_size])
    build_in_scope(self.output_layer_norm, hidden_shape)
    super().build(input_shape)

  def call(self, hidden_states, mask_adder, training=None, query_rows=None):
    """`query_rows`: compute only these rows of the flattened [B·S,H] output
    (see SelfAttention); every later step of the block is row-wise."""
    dropout_seed = None
    if training and (self.hidden_dropout_prob or
                     self.attention_probs_dropout_prob):
      # Drawn outside any recomputed function: both passes see this seed.
      dropout_seed = recompute_lib.block_dropout_seed(self.recompute)
    if self.recompute == "none" or not training:
      return self._forward(hidden_states, mask_adder, training, query_rows,
                           dropout_seed)
    if self.recompute == "block":
      return recompute_lib.recompute(
          lambda states: self._forward(states, mask_adder, training,
                                       query_rows, dropout_seed),
          hidden_states)
    return self._forward(hidden_states, mask_adder, training, query_rows,
                         dropout_seed, recompute_attention=True)

  def _dropout(self, x, training, dropout_seed, site):
    if dropout_seed is None:
      return self.dropout(x, training=training)
    return recompute_lib.stateless_dropout(x, self.hidden_dropout_prob,
                                           dropout_seed, site)

  def _forward(self, hidden_states, mask_adder, training, query_rows,
               dropout_seed, recompute_attention=False):
    if self.norm_first:
      attention_input = self.attention_layer_norm(hidden_states)
    else:
      attention_input = hidden_states
    attention = self.attention(attention_input, mask_adder, training=training,
                               query_rows=query_rows,
                               dropout_seed=dropout_seed,
                               recompute_core=recompute_attention)
    attention = self._dropout(self.attention_output_dense(attention),
                              training, dropout_seed,
                              recompute_lib.ATTENTION_OUTPUT_SITE)
    if query_rows is not None:
      hidden_states = tf.gather(hidden_states, query_rows)
    attention = attention + hidden_states
    if self.norm_first:
      ffn_input = self.output_layer_norm(attention)
    else:
      attention = self.attention_layer_norm(attention)
      ffn_input = attention
    ffn = self.output_dense(self.intermediate_dense(ffn_input))
    output = self._dropout(ffn, training, dropout_seed,
                           recompute_lib.FFN_OUTPUT_SITE) + attention
    if not self.norm_first:
      output = self.output_layer_norm(output)
    return output

  def get_config(self):
    return dict(
        super().get_config(),
        hidden_size=self.hidden_size,
        num_attention_heads=self.num_attention_heads,
        intermediate_size=self.intermediate_size,
        hidden_act=self.hidden_act,
        hidden_dropout_prob=self.hidden_dropout_prob,
        attention_probs_dropout_prob=self.attention_probs_dropout_prob,
        initializer_range=self.initializer_range,
        norm_first=self.norm_first,
        recompute=self.recompute)
