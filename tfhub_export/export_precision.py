"""--export_precision: the dtype an export computes in.

  float32    the model as trained (the default).
  bfloat16   the model is built under tf_keras' `mixed_bfloat16` policy:
             its variables stay float32 (checkpoints load unchanged and the
             file is as large as float32's), every layer casts them and its
             inputs to bfloat16 and computes in bfloat16. Outputs are cast
             back to float32 at the signature, so a bfloat16 export has the
             same signatures, names, shapes and dtypes as a float32 one and
             clients do not change.

bfloat16 pays on CPUs with native bfloat16 matrix units (Intel AMX, AMD
Zen 4+'s AVX512_BF16) and on TPUs/GPUs; on older CPUs oneDNN emulates it and
it is slower than float32. docs/speed.md has the measurements.
"""

import contextlib

import tensorflow as tf
import tf_keras
# keras_option_scope is what tf_keras' own model.save(save_traces=False)
# uses; it has no public name.
from tf_keras.src.saving.legacy.saved_model import utils as saved_model_utils

from tfhub_export import export_utils

PRECISIONS = ("float32", "bfloat16")
# The tf_keras policy a model is built under for each precision.
_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def check_precision(precision):
  if precision not in PRECISIONS:
    raise export_utils.ExportError(
        f"--export_precision must be one of {', '.join(PRECISIONS)}, got "
        f"{precision!r}")


@contextlib.contextmanager
def computing_in(precision):
  """Models built, traced and saved inside compute in `precision`.

  Keras layers take the global policy when they are created, and sublayers
  are created when their parent is first built or called: the whole export
  (building the model, loading its weights, tracing the signatures) has to
  run inside. The previous policy is restored on exit.
  """
  check_precision(precision)
  previous = tf_keras.mixed_precision.global_policy()
  tf_keras.mixed_precision.set_global_policy(_POLICIES[precision])
  try:
    if precision == "float32":
      yield
    else:
      # tf.saved_model.save also traces every Keras layer's own call
      # functions ("save_traces"); for mixed_bfloat16 layers that tracing
      # did not finish (the google_tiny encoder export ran over 20 minutes
      # in FunctionType comparisons, against about one minute in float32).
      # The exports serve their own tf.functions, and
      # load_encoder_from_saved_model reads variables only, so the traces
      # are not needed: a bfloat16 export leaves them out (its Keras layer
      # objects cannot be revived with their call functions).
      with saved_model_utils.keras_option_scope(save_traces=False):
        yield
  finally:
    tf_keras.mixed_precision.set_global_policy(previous)


def _as_float32(value):
  if (isinstance(value, tf.Tensor) and value.dtype.is_floating and
      value.dtype != tf.float32):
    return tf.cast(value, tf.float32)
  return value


def float32_outputs(outputs):
  """`outputs` (any nest) with its bfloat16/float16 tensors cast to float32;
  other tensors (ids, strings, float32) are returned as they are."""
  return tf.nest.map_structure(_as_float32, outputs)
