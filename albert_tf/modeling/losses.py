"""The original pretraining losses (run_pretraining.py)."""

import tensorflow as tf


def cross_entropy(logits, labels):
  """Per-row softmax cross-entropy in float32.

  The original computes -Σ one_hot(label) · log_softmax(logits); the fused
  sparse op gives the same number (to float rounding) without materialising
  the [rows, vocab] one-hot and log-probability tensors, or their gradients.
  """
  return tf.nn.sparse_softmax_cross_entropy_with_logits(
      labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32))


def masked_lm_loss(mlm_logits, masked_lm_ids, masked_lm_weights):
  """Σ w·CE / (Σ w + 1e-5) over all masked positions, as in the original."""
  weights = tf.cast(masked_lm_weights, tf.float32)
  numerator = tf.reduce_sum(weights * cross_entropy(mlm_logits, masked_lm_ids))
  denominator = tf.reduce_sum(weights) + 1e-5
  return numerator / denominator


def sentence_order_loss(sop_logits, sentence_order_labels):
  """Mean cross-entropy of the SOP (or NSP) classifier."""
  labels = tf.reshape(sentence_order_labels, [-1])
  return tf.reduce_mean(cross_entropy(sop_logits, labels))


def pretraining_losses(outputs, masked_lm_ids, masked_lm_weights,
                       sentence_order_labels):
  """Returns {"mlm_loss", "sop_loss", "total_loss"}; total is their sum."""
  mlm = masked_lm_loss(outputs["mlm_logits"], masked_lm_ids, masked_lm_weights)
  sop = sentence_order_loss(outputs["sop_logits"], sentence_order_labels)
  return {"mlm_loss": mlm, "sop_loss": sop, "total_loss": mlm + sop}
