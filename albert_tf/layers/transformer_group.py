"""A group of ALBERT transformer blocks, shared by every layer that uses it."""

import tf_keras

from albert_tf.layers.build_utils import build_in_scope
from albert_tf.layers.transformer_block import TransformerBlock


class TransformerGroup(tf_keras.layers.Layer):
  """`inner_group_num` blocks applied in sequence (original: group_g).

  One instance is called once per layer assigned to the group, so its weights
  exist once however many layers use them.
  """

  def __init__(self,
               inner_group_num,
               hidden_size,
               num_attention_heads,
               intermediate_size,
               hidden_act="gelu",
               hidden_dropout_prob=0.0,
               attention_probs_dropout_prob=0.0,
               initializer_range=0.02,
               norm_first=False,
               **kwargs):
    super().__init__(**kwargs)
    self.inner_group_num = inner_group_num
    self.hidden_size = hidden_size
    self.num_attention_heads = num_attention_heads
    self.intermediate_size = intermediate_size
    self.hidden_act = hidden_act
    self.hidden_dropout_prob = hidden_dropout_prob
    self.attention_probs_dropout_prob = attention_probs_dropout_prob
    self.initializer_range = initializer_range
    self.norm_first = norm_first
    self.inner_groups = [
        TransformerBlock(
            hidden_size, num_attention_heads, intermediate_size,
            hidden_act=hidden_act, hidden_dropout_prob=hidden_dropout_prob,
            attention_probs_dropout_prob=attention_probs_dropout_prob,
            initializer_range=initializer_range, norm_first=norm_first,
            name=f"inner_group_{m}")
        for m in range(inner_group_num)
    ]

  def build(self, input_shape):
    for block in self.inner_groups:
      build_in_scope(block, input_shape)
    super().build(input_shape)

  def call(self, hidden_states, mask_adder, training=None):
    """Returns the output of every inner block (each is an encoder output)."""
    outputs = []
    for block in self.inner_groups:
      hidden_states = block(hidden_states, mask_adder, training=training)
      outputs.append(hidden_states)
    return outputs

  def get_config(self):
    return dict(
        super().get_config(),
        inner_group_num=self.inner_group_num,
        hidden_size=self.hidden_size,
        num_attention_heads=self.num_attention_heads,
        intermediate_size=self.intermediate_size,
        hidden_act=self.hidden_act,
        hidden_dropout_prob=self.hidden_dropout_prob,
        attention_probs_dropout_prob=self.attention_probs_dropout_prob,
        initializer_range=self.initializer_range,
        norm_first=self.norm_first)
