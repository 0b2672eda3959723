"""The original's weight initializer."""

import tf_keras


def truncated_normal(initializer_range):
  """tf.truncated_normal_initializer(stddev=initializer_range), as in ALBERT.

  Call it once per weight: a tf_keras initializer instance without a seed
  returns the same values every time it is called.
  """
  return tf_keras.initializers.TruncatedNormal(stddev=initializer_range)
