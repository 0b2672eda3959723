"""LayerNorm exactly as tf.contrib.layers.layer_norm, which ALBERT used."""

import tensorflow as tf
import tf_keras


def layer_norm(inputs, gamma, beta, epsilon):
  """tf.contrib.layers.layer_norm's forward ops, with a written-out gradient.

  The forward pass is the original's (tf.nn.moments, then
  tf.nn.batch_normalization). Differentiating those ops automatically would
  keep several [rows, width] temporaries per LayerNorm until the backward
  pass (x - mean, the broadcast scale, ...); the gradient below keeps only
  the input and recomputes the normalised rows from it.
  """
  gamma = tf.convert_to_tensor(gamma)
  beta = tf.convert_to_tensor(beta)
  return _layer_norm(inputs, gamma, beta, epsilon)


def _layer_norm(inputs, gamma, beta, epsilon):

  @tf.custom_gradient
  def normalize(x, scale, offset):
    mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
    output = tf.nn.batch_normalization(
        x, mean, variance, offset=offset, scale=scale,
        variance_epsilon=epsilon)

    def gradient(upstream):
      # Recomputed in the input's dtype, accumulated like autodiff's.
      mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
      inverse = tf.math.rsqrt(variance + epsilon)
      normalized = (x - mean) * inverse
      rows = list(range(len(x.shape) - 1)) if x.shape.rank else [0]
      d_scale = tf.reduce_sum(upstream * normalized, axis=rows)
      d_offset = tf.reduce_sum(upstream, axis=rows)
      scaled = upstream * scale
      d_x = inverse * (
          scaled - tf.reduce_mean(scaled, axis=-1, keepdims=True) -
          normalized * tf.reduce_mean(scaled * normalized, axis=-1,
                                      keepdims=True))
      return d_x, d_scale, d_offset

    return output, gradient

  return normalize(inputs, gamma, beta)


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
    return layer_norm(inputs, self.gamma, self.beta, self.epsilon)

  def get_config(self):
    return dict(super().get_config(), epsilon=self.epsilon)
