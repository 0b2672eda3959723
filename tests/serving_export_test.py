"""export_serving_model: a fine-tuned-style classifier served on raw text,
as TF Serving (saved_model_cli, PredictRequest) sees it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import albert_tf
from albert_tf import checkpoints
import export_fixtures as fx
import reference_data as ref
from tfhub_export import export_utils
from tfhub_export import serving_export

NAME = "google_tiny"
NUM_CLASSES = 3


class TinyClassifier(tf_keras.Model):
  """What the fine-tuned classifiers look like: encoder → probabilities."""

  def __init__(self, config, **kwargs):
    super().__init__(**kwargs)
    self.config = config
    self.encoder = albert_tf.AlbertEncoder(config)
    self.classifier = tf_keras.layers.Dense(
        NUM_CLASSES, name="classifier",
        kernel_initializer=tf_keras.initializers.GlorotUniform(seed=7))

  def call(self, inputs, training=None):
    outputs = self.encoder(inputs, training=training)
    logits = self.classifier(outputs["pooled_output"])
    return {"probabilities": tf.nn.softmax(logits),
            "predictions": tf.argmax(logits, axis=-1, output_type=tf.int32),
            "encoder_outputs": outputs["encoder_outputs"]}


@pytest.fixture(scope="module")
def classifier():
  model = TinyClassifier(fx.config(NAME))
  checkpoints.load_tf1_checkpoint(model.encoder, ref.checkpoint_prefix(NAME))
  return model


@pytest.fixture(scope="module")
def served(classifier, tmp_path_factory):
  """(base path, version dir) of the classifier's serving export."""
  base = str(tmp_path_factory.mktemp("serving") / "classifier")
  version_dir = serving_export.export_serving_model(
      classifier, base, seq_length=fx.SEQ_LENGTH,
      output_names=["probabilities", "predictions"],
      **fx.tokenizer_kwargs(NAME))
  return base, version_dir


def _run(*args, timeout=300):
  env = fx.fresh_env()
  result = subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, env=env, timeout=timeout,
                          cwd=ref.PROJECT_ROOT, check=False)
  assert result.returncode == 0, result.stderr[-5000:]
  return result.stdout


def test_layout_and_version(served):
  base, version_dir = served
  assert version_dir == os.path.join(base, "1")
  assert sorted(os.listdir(base)) == ["1"]  # No staging directory left.
  assert {"saved_model.pb", "variables"} <= set(os.listdir(version_dir))
  assert serving_export.existing_versions(base) == [1]


def test_saved_model_cli_show_lists_named_signatures(served):
  _, version_dir = served
  show = _run("-m", "tensorflow.python.tools.saved_model_cli", "show",
              "--dir", version_dir, "--all")
  for signature in serving_export.SIGNATURES:
    assert f"signature_def['{signature}']" in show
  for name in ("text_a", "text_b", "text", "examples", "input_word_ids",
               "probabilities", "predictions"):
    assert f"['{name}']" in show
  # Only the outputs asked for, under their own names.
  outputs = {line.split("'")[1] for line in show.splitlines()
             if line.strip().startswith("outputs[")}
  assert outputs == {"probabilities", "predictions", "__saved_model_init_op"}
  assert "albert_encoder" not in show and "output_0" not in show


def test_saved_model_cli_run_on_raw_strings(served, classifier):
  _, version_dir = served
  out = _run("-m", "tfhub_export.saved_model_cli", "run",
             "--dir", version_dir, "--tag_set", "serve",
             "--signature_def", "serving_default",
             "--input_exprs",
             'text_a=["Return the number of items.", "a"];text_b=["", "b"]')
  assert "probabilities" in out and "predictions" in out
  packed = fx.python_pack(NAME, [("Return the number of items.", ""),
                                 ("a", "b")])
  want = classifier(packed)["predictions"].numpy()
  printed = out.split("Result for output key predictions:")[1].split("]")[0]
  assert [int(x) for x in printed.strip(" \n[").split()] == want.tolist()


def _signature_def(version_dir, name):
  from tensorflow.core.protobuf import saved_model_pb2  # pylint: disable=g-import-not-at-top
  saved_model = saved_model_pb2.SavedModel()
  with open(os.path.join(version_dir, "saved_model.pb"), "rb") as f:
    saved_model.ParseFromString(f.read())
  return saved_model.meta_graphs[0].signature_def[name]


def test_predict_request_matches_the_signature(served, classifier):
  predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2")
  _, version_dir = served
  pairs = [("The quick brown fox.", ""), ("Sentence one.", "Sentence two.")]
  request = predict_pb2.PredictRequest()
  request.model_spec.name = "albert"
  request.model_spec.signature_name = "serving_default"
  request.inputs["text_a"].CopyFrom(tf.make_tensor_proto(
      [a for a, _ in pairs]))
  request.inputs["text_b"].CopyFrom(tf.make_tensor_proto(
      [b for _, b in pairs]))
  request.output_filter.extend(["probabilities", "predictions"])
  request = predict_pb2.PredictRequest.FromString(
      request.SerializeToString())  # As it crosses the wire.

  signature = _signature_def(version_dir, request.model_spec.signature_name)
  assert signature.method_name == "tensorflow/serving/predict"
  assert set(request.inputs) == set(signature.inputs)
  for key, tensor in request.inputs.items():
    info = signature.inputs[key]
    assert tensor.dtype == info.dtype
    shape = tf.TensorShape(tensor.tensor_shape)
    assert shape.is_compatible_with(tf.TensorShape(info.tensor_shape))
  assert set(request.output_filter) <= set(signature.outputs)

  # What the model server does with it: the signature on those tensors.
  loaded = tf.saved_model.load(version_dir)
  feeds = {k: tf.constant(tf.make_ndarray(v))
           for k, v in request.inputs.items()}
  result = loaded.signatures[request.model_spec.signature_name](**feeds)
  want = classifier(fx.python_pack(NAME, pairs))
  fx.assert_close(result["probabilities"], want["probabilities"],
                  "probabilities")
  np.testing.assert_array_equal(result["predictions"], want["predictions"])
  for key, value in result.items():
    info = signature.outputs[key]
    assert value.dtype.as_datatype_enum == info.dtype
    assert value.shape.is_compatible_with(tf.TensorShape(info.tensor_shape))


def _tf_example(lengths):
  """A serialized tf.Example with `lengths[name]` ids per feature."""
  feature = {name: tf.train.Feature(int64_list=tf.train.Int64List(
      value=[1] * length)) for name, length in lengths.items()}
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


def test_tf_example_of_the_wrong_length_names_the_feature(served,
                                                          classifier):
  _, version_dir = served
  serve = tf.saved_model.load(version_dir).signatures["serve_tf_example"]
  full = {name: fx.SEQ_LENGTH for name in serving_export.TF_EXAMPLE_FEATURES}
  good = serve(examples=tf.constant([_tf_example(full)] * 2))
  ids = {key: tf.ones([2, fx.SEQ_LENGTH], tf.int32) for key in fx.INPUT_KEYS}
  fx.assert_close(good["probabilities"], classifier(ids)["probabilities"],
                  "probabilities")
  for length in (fx.SEQ_LENGTH - 4, fx.SEQ_LENGTH + 1, 0):
    short = dict(full, input_mask=length)
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
      serve(examples=tf.constant([_tf_example(full), _tf_example(short)]))
    message = raised.value.message
    assert ("feature input_mask must hold "
            f"{fx.SEQ_LENGTH} int64 values per example") in message, message
    assert "Values size" not in message


OPS_SCRIPT = r"""
import json, sys
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

def ops_of(path):
  saved_model = saved_model_pb2.SavedModel()
  with open(path, "rb") as f:
    saved_model.ParseFromString(f.read())
  ops, functions = set(), set()
  for graph in saved_model.meta_graphs:
    ops |= {node.op for node in graph.graph_def.node}
    for function in graph.graph_def.library.function:
      functions.add(function.signature.name)
      ops |= {node.op for node in function.node_def}
  return ops - functions

ops = {path: ops_of(path) for path in sys.argv[1:]}
core = {path: {op for op in o if op_def_registry.get(op) is not None}
        for path, o in ops.items()}
import tensorflow_text  # Now the TF Text ops are registered too.
result = {}
for path, o in ops.items():
  text = {op for op in o - core[path] if op_def_registry.get(op) is not None}
  result[path] = {"text": sorted(text),
                  "unknown": sorted(o - core[path] - text)}
print(json.dumps(result))
"""


def test_only_core_and_tf_text_ops():
  """TF Serving 2.20 links core TF and TF Text: nothing else may be used."""
  paths = {(name, kind): os.path.join(fx.exports(name)[kind],
                                      "saved_model.pb")
           for name in fx.FLAVORS for kind in ("serving", "preprocessor")}
  result = json.loads(_run("-c", OPS_SCRIPT,
                           *paths.values()).splitlines()[-1])
  for (name, kind), path in paths.items():
    ops = result[path]
    assert ops["unknown"] == [], (name, kind)
    # The tokenizer really is in the graph, made of TF Text's ops.
    expected = ({"TFText>FastSentencepieceTokenize", "NormalizeUTF8"}
                if name == "google_tiny" else
                {"RegexSplitWithOffsets", "WordpieceTokenizeWithOffsets"})
    assert expected <= set(ops["text"]), (name, kind, ops["text"])


def test_next_version(tmp_path):
  base = str(tmp_path / "model")
  assert serving_export.next_version(base) == 1
  for name in ("1", "7", "tmp", ".7.tmp-x"):
    os.makedirs(os.path.join(base, name))
  open(os.path.join(base, "9"), "w").close()  # A file, not a version.
  assert serving_export.existing_versions(base) == [1, 7]
  assert serving_export.next_version(base) == 8


def test_existing_versions_are_kept_or_replaced(tmp_path):
  """A task model without variables keeps these exports quick."""

  class MeanId(tf.Module):

    @tf.function
    def __call__(self, inputs):
      ids = tf.cast(inputs["input_word_ids"], tf.float32)
      return {"mean_id": tf.reduce_mean(ids, axis=1)}

  base = str(tmp_path / "model")
  kwargs = dict(seq_length=8, **fx.tokenizer_kwargs("zh_tiny"))
  os.makedirs(os.path.join(base, "1"))
  stamp = os.path.join(base, "1", "stamp")
  open(stamp, "w").close()
  with pytest.raises(FileExistsError, match="overwrite"):
    serving_export.export_serving_model(MeanId(), base, version=1, **kwargs)
  assert os.path.exists(stamp)
  # Not an export of ours: --overwrite leaves it alone too.
  with pytest.raises(OSError, match="not an output of albert_tf"):
    serving_export.export_serving_model(MeanId(), base, version=1,
                                        overwrite=True, **kwargs)
  assert os.path.exists(stamp)
  open(os.path.join(base, "1", ".albert_tf_output"), "w").close()
  again = serving_export.export_serving_model(MeanId(), base, version=1,
                                              overwrite=True, **kwargs)
  assert again == os.path.join(base, "1") and not os.path.exists(stamp)
  assert sorted(os.listdir(base)) == ["1"]
  loaded = tf.saved_model.load(again)
  out = loaded.signatures["serve_text"](text=tf.constant(["我们"]))
  assert list(out) == ["mean_id"]


def test_failed_export_leaves_nothing(tmp_path, classifier):
  base = str(tmp_path / "model")

  def broken(inputs):
    raise RuntimeError("task model exploded")

  class Broken(tf.Module):
    __call__ = tf.function(lambda self, inputs: broken(inputs))

  with pytest.raises(RuntimeError, match="exploded"):
    serving_export.export_serving_model(Broken(), base, seq_length=8,
                                        **fx.tokenizer_kwargs(NAME))
  assert not os.path.exists(base) or os.listdir(base) == []
  with pytest.raises(ValueError, match="not a tensor"):
    serving_export.export_serving_model(
        classifier, base, seq_length=8, output_names=["encoder_outputs"],
        **fx.tokenizer_kwargs(NAME))
  assert not os.path.exists(base) or os.listdir(base) == []


def test_bad_arguments_are_refused_before_any_work(tmp_path, classifier):
  base = str(tmp_path / "model")
  with pytest.raises(export_utils.ExportError, match="exactly one"):
    serving_export.export_serving_model(classifier, base)
  with pytest.raises(export_utils.ExportError, match="vocab_size"):
    serving_export.export_serving_model(classifier, base,
                                        spm_model_file=ref.SPM_MODEL)
  with pytest.raises(export_utils.ExportError, match="version"):
    serving_export.export_serving_model(classifier, base, version=0,
                                        **fx.tokenizer_kwargs(NAME))
  assert not os.path.exists(base)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
