"""The encoder SavedModel as TF Hub users load it: hub.KerasLayer (fine-tuning
or frozen), Keras 3 TFSMLayer, and back into an albert_tf AlbertEncoder."""

import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

import albert_tf
from albert_tf import checkpoints
import export_fixtures as fx
import reference_data as ref
from tfhub_export import encoder_export
from tfhub_export import export_utils

NAME = "google_tiny"


@pytest.fixture(scope="module")
def encoder_path():
  return fx.exports(NAME)["encoder"]


def _batch(seed=0):
  rng = np.random.RandomState(seed)
  vocab = fx.config(NAME).vocab_size
  mask = np.ones([4, 10], np.int32)
  mask[2:, 7:] = 0
  return {
      "input_word_ids": rng.randint(5, vocab, [4, 10]).astype(np.int32),
      "input_mask": mask,
      "input_type_ids": np.repeat([[0] * 5 + [1] * 5], 4, 0).astype(np.int32),
  }


def _classifier(encoder_path, trainable):
  layer = hub.KerasLayer(encoder_path, trainable=trainable)
  inputs = {k: tf_keras.Input([None], dtype=tf.int32, name=k)
            for k in fx.INPUT_KEYS}
  pooled = layer(inputs)["pooled_output"]
  logits = tf_keras.layers.Dense(
      2, kernel_initializer=tf_keras.initializers.GlorotUniform(seed=1))(pooled)
  model = tf_keras.Model(inputs, logits)
  model.compile(optimizer=tf_keras.optimizers.SGD(0.1),
                loss=tf_keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True))
  return model, layer


@pytest.mark.parametrize("trainable", [True, False])
def test_hub_keras_layer_fine_tunes_only_when_trainable(encoder_path,
                                                        trainable):
  tf_keras.utils.set_random_seed(0)
  model, layer = _classifier(encoder_path, trainable)
  num_weights = len(fx.keras_model(NAME).encoder.weights)
  assert len(layer.weights) == num_weights
  assert len(layer.trainable_weights) == (num_weights if trainable else 0)
  before = [w.numpy().copy() for w in layer.weights]
  model.train_on_batch(_batch(), np.array([0, 1, 0, 1]))
  changed = sum(not np.array_equal(b, w.numpy())
                for b, w in zip(before, layer.weights))
  if trainable:
    assert changed == num_weights  # Every encoder weight got a gradient.
  else:
    assert changed == 0


def test_hub_keras_layer_equals_albert_encoder(encoder_path):
  layer = hub.KerasLayer(encoder_path, trainable=False)
  batch = _batch(1)
  got = layer(batch)
  want = fx.keras_model(NAME).encoder(batch)
  for key in ("pooled_output", "sequence_output"):
    fx.assert_close(got[key], want[key], key)
  assert len(got["encoder_outputs"]) == fx.config(NAME).num_hidden_layers


def test_keras3_tfsm_layer(encoder_path):
  keras = pytest.importorskip("keras")
  assert keras.__version__.startswith("3.")
  layer = keras.layers.TFSMLayer(encoder_path)  # The `serve` endpoint.
  batch = _batch(2)
  got = layer(batch)
  want = fx.keras_model(NAME).encoder(batch)
  fx.assert_close(got["pooled_output"], want["pooled_output"],
                  "TFSMLayer pooled_output")
  assert len(layer.weights) == len(fx.keras_model(NAME).encoder.weights)


def test_load_encoder_from_saved_model(encoder_path):
  encoder = encoder_export.load_encoder_from_saved_model(encoder_path)
  assert isinstance(encoder, albert_tf.AlbertEncoder)
  assert encoder.config.to_dict() == fx.config(NAME).to_dict()
  batch = _batch(3)
  want = fx.keras_model(NAME).encoder(batch)
  got = encoder(batch)
  for key in ("pooled_output", "sequence_output"):
    np.testing.assert_array_equal(got[key], want[key])
  # Into an existing encoder (e.g. a fine-tuning model's), named otherwise.
  target = albert_tf.AlbertEncoder(fx.config(NAME), name="task_encoder")
  assert encoder_export.assign_from_saved_model(
      target, encoder_path) == len(target.weights)
  np.testing.assert_array_equal(target(batch)["pooled_output"],
                                want["pooled_output"])


def test_load_encoder_rejects_another_config(encoder_path):
  other = fx.config(NAME).replace(hidden_size=48, num_attention_heads=4)
  encoder = albert_tf.AlbertEncoder(other)
  before = [w.numpy().copy() for w in encoder.weights]
  with pytest.raises(checkpoints.CheckpointMismatchError,
                     match="shape mismatches"):
    encoder_export.assign_from_saved_model(encoder, encoder_path)
  for b, w in zip(before, encoder.weights):
    np.testing.assert_array_equal(b, w.numpy())  # Nothing assigned.


def test_export_without_heads_has_no_mlm(tmp_path):
  """An encoder-only checkpoint (e.g. ours, converted) exports no mlm/sop."""
  encoder = fx.keras_model(NAME).encoder
  prefix = checkpoints.save_tf2_checkpoint(encoder, str(tmp_path / "ckpt"))
  loaded = export_utils.load_model(ref.config_path(NAME), prefix)
  assert not loaded.has_heads
  assert "no pretraining heads" in loaded.report
  spec = export_utils.TokenizerSpec(**fx.tokenizer_kwargs(NAME))
  config_file = shutil.copy(ref.config_path(NAME), tmp_path)
  module = encoder_export.EncoderSavedModel(
      loaded.pretrainer, spec, config_file, has_heads=False)
  assert sorted(module.export_signatures) == sorted(
      encoder_export.ENCODER_SIGNATURES)
  assert not hasattr(module, "mlm")
  batch = _batch(4)
  fx.assert_close(module.__call__(batch, training=False)["pooled_output"],
                  encoder(batch)["pooled_output"], "encoder-only")


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))


def test_tokenizer_asset_tokenizes_like_the_source(encoder_path):
  """The bundled SentencePiece model, without its training paths."""
  from albert_tf.tokenization import python_tokenizer  # pylint: disable=g-import-not-at-top
  from sentencepiece import sentencepiece_model_pb2  # pylint: disable=g-import-not-at-top
  info = tf.saved_model.load(encoder_path).signatures["tokenization_info"]()
  asset = info["vocab_file"].numpy().decode()
  proto = sentencepiece_model_pb2.ModelProto()
  with open(asset, "rb") as f:
    proto.ParseFromString(f.read())
  assert list(proto.trainer_spec.input) == []
  assert "/" not in proto.trainer_spec.model_prefix
  bundled = python_tokenizer.FullTokenizer(None, spm_model_file=asset)
  source = fx.python_tokenizer(NAME)
  for text, _ in fx.texts(NAME):
    text = python_tokenizer.preprocess_text(text, lower=True)
    assert bundled.tokenize(text) == source.tokenize(text)


def test_saved_model_cli_shows_the_tf1_hub_signatures(encoder_path):
  result = subprocess.run(
      [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli",
       "show", "--dir", encoder_path, "--all"],
      capture_output=True, text=True, env=fx.fresh_env(), timeout=300,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  show = result.stdout
  for signature in (encoder_export.ENCODER_SIGNATURES +
                    encoder_export.HEAD_SIGNATURES):
    assert f"signature_def['{signature}']" in show
  for name in ("input_ids", "segment_ids", "mlm_positions", "input_word_ids",
               "mlm_logits", "sop_log_probs", "pooled_output",
               "sequence_output", "vocab_file", "do_lower_case"):
    assert f"['{name}']" in show, name
  assert "albert_encoder" not in "".join(
      line for line in show.splitlines() if "outputs[" in line)
