"""The original SQuAD heads over the encoder's sequence_output.

SquadV1Head (run_squad_v1, `cls/squad/*`): one [2, H] projection giving
start and end logits per position.

SquadV2Head (run_squad_v2, XLNet-style):
- start_logits/dense: H→1 per position; masked with p_mask
  (logit·(1-p) - 1e30·p) and log-softmaxed.
- end_logits: for a start position s, dense_0 (2H→H, tanh) over
  [h_i ; h_s] for every position i, LayerNorm (ε 1e-12), dense_1 (H→1),
  masked, log-softmaxed. In training s is the gold start (teacher
  forcing); at inference the start_n_top best starts are each expanded with
  their end_n_top best ends (beam decoding).
- answer_class: dense_0 (2H→H, tanh) over [Σ softmax(start)·h ; h_CLS],
  dropout, dense_1 (H→1, no bias) → cls_logits, the "no answer" logit.

Sublayer names follow the original variable scopes ("/" written "_").
"""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers.layer_norm import Tf1LayerNorm
from albert_tf.modeling.layers import seeded_dropout

_NEG = 1e30


def mask_logits(logits, p_mask):
  """logits·(1-p) - 1e30·p, the original's masking of invalid positions."""
  p_mask = tf.cast(p_mask, logits.dtype)
  return logits * (1.0 - p_mask) - _NEG * p_mask


class SquadV1Head(tf_keras.layers.Layer):
  """start/end logits = sequence_output · output_weightsᵀ + output_bias."""

  def __init__(self, hidden_size, initializer_range=0.02, **kwargs):
    kwargs.setdefault("name", "squad")
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.initializer_range = initializer_range

  def build(self, input_shape):
    # Stored [2, H] as the original's cls/squad/output_weights.
    self.output_weights = self.add_weight(
        "output_weights", shape=[2, self.hidden_size],
        initializer=truncated_normal(self.initializer_range))
    self.output_bias = self.add_weight(
        "output_bias", shape=[2], initializer="zeros")
    super().build(input_shape)

  def call(self, sequence_output):
    logits = tf.einsum("bsh,kh->kbs", sequence_output, self.output_weights)
    logits += self.output_bias[:, None, None]
    return {"start_logits": logits[0], "end_logits": logits[1]}

  def get_config(self):
    return dict(super().get_config(), hidden_size=self.hidden_size,
                initializer_range=self.initializer_range)


class SquadV2Head(tf_keras.layers.Layer):
  """Start, start-conditioned end and answer-class heads (see module doc)."""

  def __init__(self, hidden_size, initializer_range=0.02, start_n_top=5,
               end_n_top=5, dropout_prob=0.1, **kwargs):
    kwargs.setdefault("name", "squad_v2")
    super().__init__(**kwargs)
    self.hidden_size = hidden_size
    self.initializer_range = initializer_range
    self.start_n_top = start_n_top
    self.end_n_top = end_n_top
    self.dropout_prob = dropout_prob

    def dense(units, name, **kw):
      return tf_keras.layers.Dense(
          units, kernel_initializer=truncated_normal(initializer_range),
          name=name, **kw)

    self.start_dense = dense(1, "start_logits_dense")
    self.end_dense_0 = dense(hidden_size, "end_logits_dense_0",
                             activation="tanh")
    self.end_layer_norm = Tf1LayerNorm(name="end_logits_LayerNorm")
    self.end_dense_1 = dense(1, "end_logits_dense_1")
    self.answer_dense_0 = dense(hidden_size, "answer_class_dense_0",
                                activation="tanh")
    self.answer_dropout = seeded_dropout.Dropout(dropout_prob)
    self.answer_dense_1 = dense(1, "answer_class_dense_1", use_bias=False)

  def _end_logits(self, end_input):
    x = self.end_dense_0(end_input)
    x = self.end_layer_norm(x)
    return tf.squeeze(self.end_dense_1(x), -1)

  def call(self, sequence_output, p_mask, start_positions=None,
           training=False):
    """Returns a dict of head outputs.

    With start_positions ([B] gold starts): start_log_probs, end_log_probs
    ([B,S]) and cls_logits ([B]), for the training loss. Without:
    start_top_log_probs / start_top_index [B, start_n_top],
    end_top_log_probs / end_top_index [B, start_n_top·end_n_top] (row-major
    per start), cls_logits [B], and start_logits [B,S] (masked).
    """
    seq_len = tf.shape(sequence_output)[1]
    start_logits = mask_logits(
        tf.squeeze(self.start_dense(sequence_output), -1), p_mask)
    start_log_probs = tf.nn.log_softmax(start_logits, -1)
    outputs = {}
    if start_positions is not None:
      start_positions = tf.reshape(tf.cast(start_positions, tf.int32), [-1])
      start_features = tf.gather(sequence_output, start_positions,
                                 batch_dims=1)                     # [B,H]
      start_features = tf.tile(start_features[:, None], [1, seq_len, 1])
      end_logits = self._end_logits(
          tf.concat([sequence_output, start_features], -1))
      end_logits = mask_logits(end_logits, p_mask)
      outputs["start_log_probs"] = start_log_probs
      outputs["end_log_probs"] = tf.nn.log_softmax(end_logits, -1)
    else:
      k = self.start_n_top
      start_top_log_probs, start_top_index = tf.nn.top_k(start_log_probs, k=k)
      start_features = tf.gather(sequence_output, start_top_index,
                                 batch_dims=1)                     # [B,K,H]
      end_input = tf.concat([
          tf.tile(sequence_output[:, :, None], [1, 1, k, 1]),
          tf.tile(start_features[:, None], [1, seq_len, 1, 1])], -1)
      end_logits = self._end_logits(end_input)                     # [B,S,K]
      end_logits = tf.transpose(end_logits, [0, 2, 1])             # [B,K,S]
      end_logits = mask_logits(end_logits, tf.cast(p_mask, tf.int32)[:, None])
      end_log_probs = tf.nn.log_softmax(end_logits, -1)
      end_top_log_probs, end_top_index = tf.nn.top_k(
          end_log_probs, k=self.end_n_top)
      outputs["start_logits"] = start_logits
      outputs["start_top_log_probs"] = start_top_log_probs
      outputs["start_top_index"] = start_top_index
      outputs["end_top_log_probs"] = tf.reshape(
          end_top_log_probs, [-1, k * self.end_n_top])
      outputs["end_top_index"] = tf.reshape(
          end_top_index, [-1, k * self.end_n_top])

    # No dependency on the end, so each window has a single cls_logits.
    cls_feature = sequence_output[:, 0]
    start_p = tf.nn.softmax(start_logits, -1)
    start_feature = tf.einsum("bsh,bs->bh", sequence_output, start_p)
    answer = self.answer_dense_0(tf.concat([start_feature, cls_feature], -1))
    answer = self.answer_dropout(answer, training=training)
    outputs["cls_logits"] = tf.squeeze(self.answer_dense_1(answer), -1)
    return outputs

  def get_config(self):
    return dict(super().get_config(), hidden_size=self.hidden_size,
                initializer_range=self.initializer_range,
                start_n_top=self.start_n_top, end_n_top=self.end_n_top,
                dropout_prob=self.dropout_prob)


def squad_v1_loss(outputs, start_positions, end_positions):
  """Per-example (CE(start) + CE(end)) / 2; its batch mean is the original's."""
  start = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.reshape(tf.cast(start_positions, tf.int32), [-1]),
      logits=outputs["start_logits"])
  end = tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.reshape(tf.cast(end_positions, tf.int32), [-1]),
      logits=outputs["end_logits"])
  return (start + end) / 2.0


def squad_v2_loss(outputs, start_positions, end_positions, is_impossible):
  """Per-example (NLL(start) + NLL(end)) / 2 + 0.5 · sigmoid CE(cls_logits).

  The batch mean is the original's loss (each term was a batch mean).
  """
  def nll(log_probs, positions):
    positions = tf.reshape(tf.cast(positions, tf.int32), [-1])
    return -tf.gather(log_probs, positions, batch_dims=1)

  span = (nll(outputs["start_log_probs"], start_positions) +
          nll(outputs["end_log_probs"], end_positions)) * 0.5
  answer = tf.nn.sigmoid_cross_entropy_with_logits(
      labels=tf.cast(tf.reshape(is_impossible, [-1]), tf.float32),
      logits=outputs["cls_logits"])
  return span + 0.5 * answer
