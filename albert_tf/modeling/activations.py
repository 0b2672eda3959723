"""Activations named in ALBERT configs, with the original's exact formulas."""

import tensorflow as tf


_SQRT_2_OVER_PI = 0.7978845608028654
_CUBIC = 0.044715


@tf.custom_gradient
def gelu(x):
  """The tanh approximation of GELU used by the original code for "gelu".

  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the original's formula. It is
  computed by tf.nn.gelu(approximate=True) because TF's graph optimizer
  recognises that op pattern and fuses it into the preceding MatMul+BiasAdd
  (the result differs from the original's op order by about one ulp).

  The gradient is written out and recomputed from x alone: automatic
  differentiation of the formula would keep half a dozen [rows, intermediate]
  temporaries (x³, the tanh argument, the tanh, ...) of every layer alive
  until the backward pass — the largest activations of a training step
  without XLA (XLA fuses them away). Same derivative, up to float rounding.
  """
  def gradient(upstream):
    x2 = tf.square(x)
    t = tf.tanh(_SQRT_2_OVER_PI * (x + _CUBIC * x2 * x))
    derivative = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - tf.square(t)) * (
        _SQRT_2_OVER_PI * (1.0 + 3.0 * _CUBIC * x2))
    return upstream * derivative

  return tf.nn.gelu(x, approximate=True), gradient


def gelu_exact(x):
  """x·Φ(x) with the normal CDF through erf: Hugging Face's "gelu"."""
  return tf.nn.gelu(x, approximate=False)


def linear(x):
  return x


_ACTIVATIONS = {
    "gelu": gelu,
    # HF's name for the same tanh form; configs converted from HF use it.
    "gelu_new": gelu,
    "gelu_exact": gelu_exact,
    "relu": tf.nn.relu,
    "tanh": tf.tanh,
    "linear": linear,
}


def get_activation(name):
  """Maps a config's hidden_act string to a function."""
  try:
    return _ACTIVATIONS[name]
  except KeyError:
    raise ValueError(f"unsupported hidden_act {name!r}; expected one of "
                     f"{', '.join(_ACTIVATIONS)}") from None
