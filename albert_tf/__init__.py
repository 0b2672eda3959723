"""albert_tf: ALBERT for TensorFlow 2 / Keras, faithful to the original release.

  import albert_tf
  config = albert_tf.get_preset("albert_base_v2")
  encoder = albert_tf.AlbertEncoder(config)

The names below are imported on first use, so `python -m albert_tf.<tool>`
can quiet TensorFlow's start-up messages before TensorFlow loads.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "AlbertConfig": "albert_tf.config",
    "AlbertConfigError": "albert_tf.config",
    "get_preset": "albert_tf.presets",
    "AlbertEncoder": "albert_tf.modeling.albert_encoder",
    "AlbertPretrainer": "albert_tf.modeling.albert_pretrainer",
    "pretraining_losses": "albert_tf.modeling.losses",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
  return sorted(list(globals()) + __all__)
