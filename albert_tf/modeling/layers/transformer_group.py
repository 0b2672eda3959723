"""A group of ALBERT transformer blocks, shared by every layer that uses it."""

import tf_keras

from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.layers.transformer_block import TransformerBlock


class TransformerGroup(tf_keras.layers.Layer):
  """`inner_group_num` blocks applied in sequence (original: group_g).

  One instance is called once per layer assigned to the group, so its weights
  exist once however many layers use them.

  Args:
    inner_group_num: number of blocks (original: inner_group_m scopes).
    block_config: TransformerBlock constructor arguments, shared by all.
  """

  def __init__(self, inner_group_num, block_config, **kwargs):
    super().__init__(**kwargs)
    self.inner_group_num = inner_group_num
    self.block_config = dict(block_config)
    self.inner_groups = [
        TransformerBlock(**self.block_config, name=f"inner_group_{m}")
        for m in range(inner_group_num)
    ]

  def build(self, input_shape):
    for block in self.inner_groups:
      build_in_scope(block, input_shape)
    super().build(input_shape)

  def call(self, hidden_states, mask_adder, training=None, query_rows=None):
    """Returns the output of every inner block (each is an encoder output).

    `query_rows`: the LAST block computes only these rows (the earlier ones
    feed it every position).
    """
    outputs = []
    for index, block in enumerate(self.inner_groups):
      last = index == len(self.inner_groups) - 1
      hidden_states = block(hidden_states, mask_adder, training=training,
                            query_rows=query_rows if last else None)
      outputs.append(hidden_states)
    return outputs

  def get_config(self):
    return dict(super().get_config(), inner_group_num=self.inner_group_num,
                block_config=dict(self.block_config))
