"""The soft-target losses of knowledge distillation (Hinton et al. 2015,
DistilBERT's recipe), per example like the tasks' gold losses.

A task's loss under distillation is

  alpha * T^2 * soft cross-entropy(teacher logits / T, student logits / T)
  + (1 - alpha) * gold loss

The T^2 keeps the soft term's gradients the size of the gold term's
whatever the temperature (the soft gradients scale as 1/T^2). The teacher's
outputs come in under tf.stop_gradient: only the student learns.
"""

import tensorflow as tf

from albert_tf.errors import FlagError


def soft_cross_entropy(teacher_logits, student_logits, temperature):
  """T^2 * sum_k -softmax(t/T)_k * log_softmax(s/T)_k over the last axis.

  Positions masked with a huge negative logit (SQuAD's p_mask) get teacher
  probability 0 and add nothing.
  """
  temperature = tf.cast(temperature, student_logits.dtype)
  targets = tf.nn.softmax(
      tf.stop_gradient(tf.cast(teacher_logits, student_logits.dtype)) /
      temperature, axis=-1)
  log_probs = tf.nn.log_softmax(student_logits / temperature, axis=-1)
  # 0 * log_prob where the teacher puts no mass, also for masked positions
  # whose log_prob is -1e30 / T (no 0 * inf).
  return -tf.reduce_sum(tf.math.multiply_no_nan(log_probs, targets),
                        axis=-1) * temperature**2


def soft_binary_cross_entropy(teacher_logits, student_logits, temperature):
  """The same for one sigmoid logit (SQuAD v2's answerability), elementwise."""
  temperature = tf.cast(temperature, student_logits.dtype)
  targets = tf.sigmoid(
      tf.stop_gradient(tf.cast(teacher_logits, student_logits.dtype)) /
      temperature)
  return tf.nn.sigmoid_cross_entropy_with_logits(
      labels=targets, logits=student_logits / temperature) * temperature**2


def masked_mean(per_position, weights):
  """Mean over the last axis of the positions with weight 1 (0 when none),
  as the token tagger's gold loss averages over labelled pieces."""
  weights = tf.cast(weights, per_position.dtype)
  return tf.reduce_sum(per_position * weights, -1) / tf.maximum(
      tf.reduce_sum(weights, -1), 1.0)


def combine(soft, gold, alpha):
  """alpha * soft + (1 - alpha) * gold, per example."""
  return alpha * soft + (1.0 - alpha) * gold


def check_flags(temperature, alpha):
  """--distillation_temperature and --distillation_alpha in range (the
  fine-tuning tools and run_pretraining take both)."""
  if not temperature > 0:
    raise FlagError(f"--distillation_temperature must be positive, got "
                    f"{temperature}")
  if not 0.0 <= alpha <= 1.0:
    raise FlagError(f"--distillation_alpha must be in [0, 1], got {alpha}")
