"""LayerNorm exactly as tf.contrib.layers.layer_norm, which ALBERT used."""

import tensorflow as tf
import tf_keras


class Tf1LayerNorm(tf_keras.layers.Layer):
  """Normalizes over the last axis with epsilon 1e-12 and gamma/beta weights.

  Computed with tf.nn.moments and tf.nn.batch_normalization, the same ops
  (and therefore the same rounding) as the original graph.
  """

  def __init__(self, epsilon=1e-12, **kwargs):
    super().__init__(**kwargs)
    self.epsilon = epsilon

  def build(self, input_shape):
    width = input_shape[-1]
    self.gamma = self.add_weight("gamma", shape=[width], initializer="ones")
    self.beta = self.add_weight("beta", shape=[width], initializer="zeros")
    super().build(input_shape)

  def call(self, inputs):
    mean, variance = tf.nn.moments(inputs, axes=[-1], keepdims=True)
    return tf.nn.batch_normalization(
        inputs, mean, variance, offset=self.beta, scale=self.gamma,
        variance_epsilon=self.epsilon)

  def get_config(self):
    return dict(super().get_config(), epsilon=self.epsilon)
