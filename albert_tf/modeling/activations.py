"""Activations named in ALBERT configs, with the original's exact formulas."""

import tensorflow as tf


def gelu(x):
  """The tanh approximation of GELU used by the original code for "gelu".

  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the original's formula. It is
  computed by tf.nn.gelu(approximate=True) because TF's graph optimizer
  recognises that op pattern and fuses it into the preceding MatMul+BiasAdd
  (the result differs from the original's op order by about one ulp).
  """
  return tf.nn.gelu(x, approximate=True)


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
