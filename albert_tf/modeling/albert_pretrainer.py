"""ALBERT encoder with the original MLM and SOP pretraining heads."""

import tensorflow as tf
import tf_keras

from albert_tf.config import FLAVOR_GOOGLE
from albert_tf.modeling.heads.masked_lm_head import MaskedLMHead
from albert_tf.modeling.heads.sentence_order_head import SentenceOrderHead
from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.albert_encoder import INPUT_KEYS
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_encoder import as_albert_config
from albert_tf.modeling.albert_encoder import set_save_spec


class AlbertPretrainer(tf_keras.Model):
  """AlbertEncoder + masked-LM head + sentence-order head.

  Inputs: the encoder's dict plus `masked_lm_positions` [B,P] (int32).
  Outputs: the encoder's dict plus `mlm_logits` [B,P,V] and `sop_logits` [B,2].
  Use `albert_tf.modeling.losses.pretraining_losses` for the original losses.
  `recompute_activations`: see AlbertEncoder (none | attention | block).
  """

  def __init__(self, config, recompute_activations="none", **kwargs):
    kwargs.setdefault("name", "albert_pretrainer")
    super().__init__(**kwargs)
    config = as_albert_config(config)
    self.config = config
    self.encoder = AlbertEncoder(config,
                                 recompute_activations=recompute_activations)
    self.recompute_activations = self.encoder.recompute_activations
    # Google's head maps back to E; albert_zh's stays H wide and goes through
    # word_embeddings_2 instead.
    if config.flavor == FLAVOR_GOOGLE:
      transform_size = config.embedding_size
    else:
      transform_size = config.hidden_size
    self.masked_lm = MaskedLMHead(
        vocab_size=config.vocab_size,
        transform_size=transform_size,
        hidden_act=config.hidden_act,
        initializer_range=config.initializer_range,
        name="predictions")
    self.sentence_order = SentenceOrderHead(
        hidden_size=config.hidden_size, num_classes=2,
        initializer_range=config.initializer_range, name="seq_relationship")
    self.build(None)
    set_save_spec(self, INPUT_KEYS + ("masked_lm_positions",))

  def build(self, input_shape):
    del input_shape  # Every shape follows from the config.
    with tf.name_scope(self.name):
      build_in_scope(self.masked_lm, [None, None, self.config.hidden_size])
      build_in_scope(self.sentence_order, [None, self.config.hidden_size])
    self.built = True

  def call(self, inputs, training=None, heads_only=False):
    """`heads_only=True` (what training uses): only `mlm_logits`,
    `sop_logits` and `pooled_output`, the same numbers computed faster — the
    last transformer block runs on the [CLS] and masked rows alone (see
    AlbertEncoder's output_positions)."""
    if not isinstance(inputs, dict) or "masked_lm_positions" not in inputs:
      raise ValueError(
          f"{self.name}: expected a dict with `masked_lm_positions` and the "
          f"encoder inputs {INPUT_KEYS}")
    encoder_inputs = {k: v for k, v in inputs.items()
                      if k != "masked_lm_positions"}
    embeddings = self.encoder.embeddings
    if heads_only:
      outputs = self.encoder(encoder_inputs, training=training,
                             output_positions=inputs["masked_lm_positions"])
      return {
          "pooled_output": outputs["pooled_output"],
          "mlm_logits": self.masked_lm.logits_of_rows(
              outputs["positions_output"], embeddings.word_embeddings,
              embeddings.word_embeddings_2),
          "sop_logits": self.sentence_order(outputs["pooled_output"]),
      }
    outputs = dict(self.encoder(encoder_inputs, training=training))
    outputs["mlm_logits"] = self.masked_lm(
        outputs["sequence_output"], inputs["masked_lm_positions"],
        embeddings.word_embeddings, embeddings.word_embeddings_2)
    outputs["sop_logits"] = self.sentence_order(outputs["pooled_output"])
    return outputs

  def get_config(self):
    return {"name": self.name, "config": self.config.to_dict(),
            "recompute_activations": self.recompute_activations}

  @classmethod
  def from_config(cls, config, custom_objects=None):
    return cls(**config)
