"""Helpers for building nested layers with readable variable names."""

import tensorflow as tf


def build_in_scope(layer, input_shape):
  """Builds `layer` under its own name scope, as Keras' __call__ would.

  Building sublayers eagerly in `build()` keeps weight creation independent of
  the first call; the scope keeps names like `embeddings/LayerNorm/gamma`.
  """
  if not layer.built:
    with tf.name_scope(layer.name):
      layer.build(input_shape)
