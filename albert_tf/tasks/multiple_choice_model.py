"""Multiple choice (RACE): one logit per option from its pooled_output."""

import tensorflow as tf
import tf_keras

from albert_tf.tasks.classifier_model import head_layers
from albert_tf.modeling.albert_encoder import INPUT_KEYS


class MultipleChoiceModel(tf_keras.Model):
  """Inputs [B, num_choices, S] → {"logits", "probabilities", "predictions"}.

  Each (context, question+option) sequence goes through the encoder on its
  own; dropout 0.1 and a dense layer to one logit, as the original run_race.
  """

  def __init__(self, encoder, num_choices=4, **kwargs):
    kwargs.setdefault("name", "albert_multiple_choice")
    super().__init__(**kwargs)
    self.encoder = encoder
    self.num_choices = num_choices
    self.dropout, self.scorer = head_layers(
        1, [None, encoder.config.hidden_size])
    self._set_save_spec({k: tf.TensorSpec([None, num_choices, None], tf.int32,
                                          name=k) for k in INPUT_KEYS})

  def call(self, inputs, training=None):
    flat = {}
    for key, value in inputs.items():
      seq_length = value.shape[-1] or tf.shape(value)[-1]
      flat[key] = tf.reshape(value, [-1, seq_length])
    pooled = self.encoder.pooled_output(flat, training=training)
    scores = self.scorer(self.dropout(pooled, training=training))
    logits = tf.reshape(scores, [-1, self.num_choices])
    return {"logits": logits,
            "probabilities": tf.nn.softmax(logits, axis=-1),
            "predictions": tf.argmax(logits, axis=-1, output_type=tf.int32)}
