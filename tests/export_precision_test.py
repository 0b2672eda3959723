"""--export_precision=bfloat16: the same signatures and dtypes as float32,
outputs within bfloat16's rounding of float32's (fine-tuned models:
tests/finetuning_export_test.py)."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import export_fixtures as fx
import reference_data as ref
from tfhub_export import export
from tfhub_export import export_precision
from tfhub_export import export_utils

NAME = "google_tiny"
PRECISIONS = ("float32", "bfloat16")
# bfloat16 keeps 8 significant bits: each value it holds is float32's within
# a relative 2**-9, and every matmul, LayerNorm and gelu of the encoder
# rounds its inputs and outputs, so the error grows layer by layer.
# google_tiny's weights are drawn with initializer_range 0.5 (25 times the
# released models'), which amplifies it. Measured (relative error: norm of
# the difference over the norm of float32's): on the golden inputs the 4
# layers' outputs 2.0%, 2.3%, 3.1%, 4.1% and pooled_output 7.0%; on the
# English fixture texts below sequence_output 8.8% and pooled_output 13.5%.
# The bounds leave room over that and still catch a model that computes
# something else: one layer more or less moves the outputs by 88-110%
# (checked below on the float32 export).
TOLERANCES = {"sequence_output": 0.15, "encoder_outputs": 0.15,
              "pooled_output": 0.3, "served_pooled_output": 0.3}


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
  """google_tiny's encoder and serving exports in each precision:
  {precision: {part: path}}. float32's are the shared export fixtures'."""
  tmp = tmp_path_factory.mktemp("precision")
  spec = export_utils.TokenizerSpec(spm_model_file=fx.tokenizer_file(NAME))
  paths = {"float32": fx.exports(NAME), "bfloat16": {}}
  for part in ("encoder", "serving"):
    path, = export.export(
        ref.config_path(NAME), ref.checkpoint_prefix(NAME), spec,
        str(tmp / part), export_type=part, seq_length=fx.SEQ_LENGTH,
        log=lambda *_: None, precision="bfloat16")
    paths["bfloat16"][part] = path
  return paths


def _signature_types(signature):
  """What a client sees of a signature: input and output names, dtypes and
  shapes."""
  _, inputs = signature.structured_input_signature
  return ({k: (v.dtype, v.shape.as_list()) for k, v in inputs.items()},
          {k: (v.dtype, v.shape.as_list())
           for k, v in signature.structured_outputs.items()})


def _computes_in_bfloat16(signature):
  """Whether a loaded signature's graph multiplies matrices in bfloat16."""
  graph_def = signature.graph.as_graph_def()
  nodes = list(graph_def.node) + [
      node for function in graph_def.library.function
      for node in function.node_def]
  return any(node.op in ("MatMul", "BatchMatMulV2", "Einsum") and
             node.attr["T"].type == tf.bfloat16.as_datatype_enum
             for node in nodes)


def _relative_error(got, expected):
  return (np.linalg.norm(got.astype(np.float64) - expected) /
          np.linalg.norm(expected.astype(np.float64)))


@pytest.mark.parametrize("part", ["encoder", "serving"])
def test_bfloat16_export_has_the_float32_signatures(exports, part):
  loaded = {p: tf.saved_model.load(exports[p][part]) for p in PRECISIONS}
  assert set(loaded["bfloat16"].signatures) == set(
      loaded["float32"].signatures)
  for key in loaded["float32"].signatures:
    assert (_signature_types(loaded["bfloat16"].signatures[key]) ==
            _signature_types(loaded["float32"].signatures[key])), key
  assert _computes_in_bfloat16(
      loaded["bfloat16"].signatures["serving_default"])
  assert not _computes_in_bfloat16(
      loaded["float32"].signatures["serving_default"])


def test_bfloat16_outputs_are_float32_within_bfloat16_rounding(exports):
  ids = {k: tf.constant(v) for k, v in fx.python_pack(NAME,
                                                       fx.ENGLISH).items()}
  texts = [a for a, _ in fx.ENGLISH]
  outputs = {}
  for precision in PRECISIONS:
    encoder = tf.saved_model.load(exports[precision]["encoder"])
    serving = tf.saved_model.load(
        exports[precision]["serving"]).signatures["serving_default"]
    direct = encoder(ids)
    served = serving(text_a=tf.constant(texts),
                     text_b=tf.constant([""] * len(texts)))
    outputs[precision] = {
        "pooled_output": direct["pooled_output"],
        "sequence_output": direct["sequence_output"],
        "encoder_outputs": direct["encoder_outputs"][1],
        "served_pooled_output": served["pooled_output"]}
  errors = {}
  for key, expected in outputs["float32"].items():
    got = outputs["bfloat16"][key]
    assert got.dtype == tf.float32
    errors[key] = _relative_error(got.numpy(), expected.numpy())
  print("bfloat16 relative errors:", errors)
  assert all(0 < errors[k] < TOLERANCES[k] for k in errors), errors
  # One layer more is far outside the bounds.
  layers = tf.saved_model.load(exports["float32"]["encoder"])(ids)[
      "encoder_outputs"]
  assert _relative_error(layers[2].numpy(), layers[1].numpy()) > 0.5


def test_the_policy_is_restored_and_bad_precision_refused(exports):
  del exports  # Made (and left) the exports first.
  assert tf_keras.mixed_precision.global_policy().name == "float32"
  with pytest.raises(export_utils.ExportError, match="--export_precision"):
    with export_precision.computing_in("float16"):
      pass
