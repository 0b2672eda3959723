"""Token classification (BIO tagging) on sequence_output."""

import tensorflow as tf
import tf_keras

from albert_tf.tasks.classifier_model import head_layers
from albert_tf.modeling.albert_encoder import INPUT_KEYS
from albert_tf.modeling.albert_encoder import set_save_spec


class TokenClassifierModel(tf_keras.Model):
  """AlbertEncoder → dropout(sequence_output) → dense(num_labels) per token.

  Outputs {"logits": [B, S, L], "probabilities", "tag_ids": [B, S]}.
  input_masking: an InputMasking layer (tasks/input_masking.py) applied to
  the inputs in training, or None.
  """

  def __init__(self, encoder, num_labels, input_masking=None, **kwargs):
    kwargs.setdefault("name", "albert_token_classifier")
    super().__init__(**kwargs)
    self.encoder = encoder
    self.num_labels = num_labels
    self.input_masking = input_masking
    self.dropout, self.classifier = head_layers(
        num_labels, [None, None, encoder.config.hidden_size])
    set_save_spec(self, INPUT_KEYS)

  def call(self, inputs, training=None):
    if self.input_masking is not None:
      inputs = self.input_masking(inputs, training=training)
    sequence = self.encoder(inputs, training=training)["sequence_output"]
    logits = self.classifier(self.dropout(sequence, training=training))
    return {"logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "tag_ids": tf.argmax(logits, axis=-1, output_type=tf.int32)}


def token_classification_loss(labels, outputs):
  """Per-example mean cross-entropy over labelled pieces.

  labels["label_ids"] is -1 (ignored) on [CLS], [SEP], padding and every
  word piece after a word's first.
  """
  label_ids = labels["label_ids"]
  weights = tf.cast(label_ids >= 0, tf.float32)
  losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.maximum(label_ids, 0), logits=outputs["logits"])
  return tf.reduce_sum(losses * weights, -1) / tf.maximum(
      tf.reduce_sum(weights, -1), 1.0)
