"""The ALBERT encoder network as a tf_keras Model."""

import tensorflow as tf
import tf_keras

from albert_tf.config import AlbertConfig
from albert_tf.config import FLAVOR_GOOGLE
from albert_tf.modeling.layers.albert_embeddings import AlbertEmbeddings
from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers.recompute import check_recompute_mode
from albert_tf.modeling.layers.self_attention import attention_mask_adder
from albert_tf.modeling.layers.transformer_group import TransformerGroup

INPUT_KEYS = ("input_word_ids", "input_mask", "input_type_ids")


def as_albert_config(config):
  """Accepts an AlbertConfig or its dict form (as from get_config())."""
  if isinstance(config, AlbertConfig):
    return config
  if isinstance(config, dict):
    return AlbertConfig.from_dict(config)
  raise TypeError(f"expected an AlbertConfig or a dict, got {type(config)}")


def set_save_spec(model, input_keys):
  """Declares [None, None] int32 inputs, so saving never fixes a length."""
  model._set_save_spec(  # pylint: disable=protected-access
      {k: tf.TensorSpec([None, None], tf.int32, name=k) for k in input_keys})


class AlbertEncoder(tf_keras.Model):
  """ALBERT encoder, numerically identical to the original TF1 graph.

  Inputs: a dict of int32 [B,S] tensors `input_word_ids` and, optionally,
  `input_mask` (default ones) and `input_type_ids` (default zeros); a bare
  tensor is taken as `input_word_ids`.

  Outputs: a dict with `sequence_output` [B,S,H], `pooled_output` [B,H],
  `encoder_outputs` (every entry of the original all_encoder_layers:
  num_hidden_layers × inner_group_num tensors [B,S,H]) and `embedding_output`
  (after the embedding LayerNorm: E wide for Google's flavor, H wide for
  albert_zh's).

  The flavor follows the config: Google (E-wide embeddings, then
  `embedding_hidden_mapping_in` when E≠H, `num_hidden_groups` groups of
  `inner_group_num` blocks) or albert_zh (`word_embeddings_2` projection before
  the H-wide position/type embeddings, one shared block, post- or pre-LN).

  `recompute_activations` (none | attention | block) trades compute for
  training memory: the transformer blocks recompute the attention core or
  their whole forward pass in the backward pass instead of keeping the
  activations (same gradients; see layers/recompute.py, also for dropout).
  Inference is unaffected.
  """

  def __init__(self, config, recompute_activations="none", **kwargs):
    kwargs.setdefault("name", "albert_encoder")
    super().__init__(**kwargs)
    config = as_albert_config(config)
    self.config = config
    self.recompute_activations = check_recompute_mode(recompute_activations)
    is_google = config.flavor == FLAVOR_GOOGLE

    self.embeddings = AlbertEmbeddings(
        vocab_size=config.vocab_size,
        embedding_size=config.embedding_size,
        type_vocab_size=config.type_vocab_size,
        max_position_embeddings=config.max_position_embeddings,
        projection_size=None if is_google else config.hidden_size,
        initializer_range=config.initializer_range,
        dropout_rate=config.hidden_dropout_prob,
        name="embeddings")
    # The original creates this projection only when the widths differ.
    self.embedding_hidden_mapping_in = None
    if self.embeddings.output_width != config.hidden_size:
      self.embedding_hidden_mapping_in = tf_keras.layers.Dense(
          config.hidden_size,
          kernel_initializer=truncated_normal(config.initializer_range),
          name="embedding_hidden_mapping_in")
    # albert_zh's single `layer_shared` block is one group of one block.
    block_config = dict(
        hidden_size=config.hidden_size,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        hidden_act=config.hidden_act,
        hidden_dropout_prob=config.hidden_dropout_prob,
        attention_probs_dropout_prob=config.attention_probs_dropout_prob,
        initializer_range=config.initializer_range,
        norm_first=config.ln_type == "preln",
        recompute=self.recompute_activations)
    self.groups = [
        TransformerGroup(config.inner_group_num, block_config,
                         name=f"group_{g}")
        for g in range(config.num_hidden_groups)
    ]
    self.pooler = tf_keras.layers.Dense(
        config.hidden_size, activation="tanh",
        kernel_initializer=truncated_normal(config.initializer_range),
        name="pooler")
    # Weights exist as soon as the model does (for checkpoint loading and
    # parameter counts); building from the config needs no tracing.
    self.build(None)
    set_save_spec(self, INPUT_KEYS)

  def build(self, input_shape):
    del input_shape  # Every shape follows from the config.
    config = self.config
    with tf.name_scope(self.name):
      build_in_scope(self.embeddings, [None, None])
      if self.embedding_hidden_mapping_in is not None:
        build_in_scope(self.embedding_hidden_mapping_in,
                       [None, None, self.embeddings.output_width])
      for group in self.groups:
        build_in_scope(group, [None, None, config.hidden_size])
      build_in_scope(self.pooler, [None, config.hidden_size])
    self.built = True

  def _check_inputs(self, inputs):
    if not isinstance(inputs, dict):
      inputs = {"input_word_ids": inputs}
    unknown = sorted(set(inputs) - set(INPUT_KEYS))
    if unknown or "input_word_ids" not in inputs:
      raise ValueError(
          f"{self.name}: expected a dict with `input_word_ids` and optionally "
          f"`input_mask`, `input_type_ids`; got keys {sorted(inputs)}")
    word_ids = tf.cast(inputs["input_word_ids"], tf.int32)
    if word_ids.shape.rank != 2:
      raise ValueError(f"{self.name}: `input_word_ids` must be [batch, seq], "
                       f"got shape {word_ids.shape}")
    mask = inputs.get("input_mask")
    mask = tf.ones_like(word_ids) if mask is None else tf.cast(mask, tf.int32)
    type_ids = inputs.get("input_type_ids")
    type_ids = (tf.zeros_like(word_ids) if type_ids is None
                else tf.cast(type_ids, tf.int32))
    return word_ids, mask, type_ids

  def _check_length(self, word_ids):
    max_length = self.config.max_position_embeddings
    message = (f"{self.name}: input sequence length must be <= "
               f"max_position_embeddings ({max_length})")
    seq_length = word_ids.shape[1]
    if seq_length is not None:
      if seq_length > max_length:
        raise ValueError(f"{message}, got {seq_length}")
      return word_ids
    with tf.control_dependencies([tf.debugging.assert_less_equal(
        tf.shape(word_ids)[1], max_length, message=message)]):
      return tf.identity(word_ids)

  def call(self, inputs, training=None, output_positions=None):
    """See the class docstring. `output_positions` (int [B,R]) is the
    pretraining fast path: the last block computes only the [CLS] row and
    these rows, and the outputs are `pooled_output`, `positions_output`
    [B,R,H] (equal to sequence_output gathered at output_positions) and
    `embedding_output` — no sequence_output or encoder_outputs. The heads
    need no other rows, and the last block's FFN is the costliest part left."""
    word_ids, mask, type_ids = self._check_inputs(inputs)
    word_ids = self._check_length(word_ids)
    embedding_output = self.embeddings(word_ids, type_ids, training=training)
    # Static sizes where known, so outputs keep static shapes in graphs.
    batch_size = word_ids.shape[0] or tf.shape(word_ids)[0]
    seq_length = word_ids.shape[1] or tf.shape(word_ids)[1]
    # Like the original, the transformer works on [B·S, width] matrices: every
    # dense layer is then one 2-D MatMul + BiasAdd (+ activation), a pattern
    # TF's graph optimizer fuses into one kernel.
    hidden_states = tf.reshape(embedding_output,
                               [-1, self.embeddings.output_width])
    if self.embedding_hidden_mapping_in is not None:
      hidden_states = self.embedding_hidden_mapping_in(hidden_states)
    mask_adder = attention_mask_adder(mask, hidden_states.dtype)
    query_rows = None
    if output_positions is not None:
      positions = tf.cast(output_positions, tf.int32)
      # Row 0 of every example first: the pooler's [CLS].
      positions = tf.concat([tf.zeros([batch_size, 1], tf.int32), positions],
                            1)
      query_rows = tf.reshape(
          positions + tf.range(batch_size)[:, tf.newaxis] * seq_length, [-1])
    block_outputs = []
    last_layer = self.config.num_hidden_layers - 1
    for layer_index in range(self.config.num_hidden_layers):
      group = self.groups[self.config.group_index(layer_index)]
      block_outputs += group(
          hidden_states, mask_adder, training=training,
          query_rows=query_rows if layer_index == last_layer else None)
      hidden_states = block_outputs[-1]
    if query_rows is not None:
      rows = tf.reshape(hidden_states, [batch_size, tf.shape(positions)[1],
                                        self.config.hidden_size])
      return {"pooled_output": self.pooler(rows[:, 0, :]),
              "positions_output": rows[:, 1:, :],
              "embedding_output": embedding_output}
    hidden_shape = [batch_size, seq_length, self.config.hidden_size]
    encoder_outputs = [tf.reshape(x, hidden_shape) for x in block_outputs]
    sequence_output = encoder_outputs[-1]
    pooled_output = self.pooler(sequence_output[:, 0, :])
    return {
        "sequence_output": sequence_output,
        "pooled_output": pooled_output,
        "encoder_outputs": encoder_outputs,
        "embedding_output": embedding_output,
    }

  def pooled_output(self, inputs, training=None):
    """Only `pooled_output`, computed faster: the last block runs on the
    [CLS] rows alone (classification and multiple-choice heads need no
    other row)."""
    word_ids = inputs["input_word_ids"] if isinstance(inputs, dict) else inputs
    no_positions = tf.zeros([tf.shape(word_ids)[0], 0], tf.int32)
    return self(inputs, training=training,
                output_positions=no_positions)["pooled_output"]

  def get_config(self):
    return {"name": self.name, "config": self.config.to_dict(),
            "recompute_activations": self.recompute_activations}

  @classmethod
  def from_config(cls, config, custom_objects=None):
    return cls(**config)
