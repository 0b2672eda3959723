"""Activations named in ALBERT configs, with the original's exact formulas."""

import math

import tensorflow as tf


def gelu(x):
  """The tanh approximation of GELU used by the original code for "gelu"."""
  cdf = 0.5 * (1.0 + tf.tanh(
      math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))
  return x * cdf


def linear(x):
  return x


_ACTIVATIONS = {
    "gelu": gelu,
    # HF's name for the same tanh form; configs converted from HF use it.
    "gelu_new": gelu,
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
