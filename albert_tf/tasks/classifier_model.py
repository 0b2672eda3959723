"""Sentence(-pair) classification and regression on pooled_output (GLUE)."""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers import seeded_dropout
from albert_tf.modeling.albert_encoder import INPUT_KEYS
from albert_tf.modeling.albert_encoder import set_save_spec

# The original fine-tuning heads: dropout 0.1 whatever the encoder's dropout,
# output weights ~ truncated normal (0.02).
HEAD_DROPOUT = 0.1
HEAD_INITIALIZER_RANGE = 0.02


def head_layers(units, input_shape):
  """(dropout, dense "output" layer) of an original fine-tuning head."""
  dropout = seeded_dropout.Dropout(HEAD_DROPOUT)
  dense = tf_keras.layers.Dense(
      units, kernel_initializer=truncated_normal(HEAD_INITIALIZER_RANGE),
      name="output")
  dense.build(input_shape)
  return dropout, dense


class ClassifierModel(tf_keras.Model):
  """AlbertEncoder → dropout(pooled_output) → dense(num_labels).

  Outputs {"logits": [B, num_labels]} plus, for classification,
  "probabilities" (softmax) and "predictions" (argmax class id); for
  regression (num_labels=1, is_regression=True) "predictions" is the score.
  """

  def __init__(self, encoder, num_labels, is_regression=False, **kwargs):
    kwargs.setdefault("name", "albert_classifier")
    super().__init__(**kwargs)
    if is_regression and num_labels != 1:
      raise ValueError("regression needs num_labels=1")
    self.encoder = encoder
    self.num_labels = num_labels
    self.is_regression = is_regression
    self.dropout, self.classifier = head_layers(
        num_labels, [None, encoder.config.hidden_size])
    set_save_spec(self, INPUT_KEYS)

  def call(self, inputs, training=None):
    pooled = self.encoder.pooled_output(inputs, training=training)
    logits = self.classifier(self.dropout(pooled, training=training))
    if self.is_regression:
      return {"logits": logits, "predictions": tf.squeeze(logits, -1)}
    return {"logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "predictions": tf.argmax(logits, axis=-1, output_type=tf.int32)}


def classification_loss(labels, outputs):
  """Per-example softmax cross-entropy on labels["label_ids"]."""
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=labels["label_ids"], logits=outputs["logits"])


def regression_loss(labels, outputs):
  """Per-example squared error on labels["label_values"] (the original's)."""
  return tf.square(outputs["predictions"] - labels["label_values"])
