"""DistilBERT's cosine loss between final hidden states (Sanh et al. 2019):
1 - cos(student, teacher) per token, which pulls the directions of the
student's hidden states towards the teacher's. Pretraining distillation
adds it to the soft and gold MLM losses (training/distillation_loss.py)."""

import tensorflow as tf


def cosine_distance(student_hidden, teacher_hidden):
  """1 - cos over the last axis, per position ([B, S, H] -> [B, S]).

  In float32 whatever the compute dtype; the teacher's states come in under
  tf.stop_gradient: only the student learns. A zero vector counts as
  orthogonal (distance 1) instead of giving NaN.
  """
  teacher = tf.math.l2_normalize(
      tf.stop_gradient(tf.cast(teacher_hidden, tf.float32)), axis=-1)
  student = tf.math.l2_normalize(tf.cast(student_hidden, tf.float32), axis=-1)
  return 1.0 - tf.reduce_sum(student * teacher, axis=-1)
