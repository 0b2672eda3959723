"""The preprocessor SavedModel used the TF Hub way: hub.KerasLayer on string
inputs, one segment or two (tokenize + bert_pack_inputs), feeding the
encoder SavedModel."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

import export_fixtures as fx
from tfhub_export import export_utils
from tfhub_export import preprocessor_export

NAME = "zh_tiny"


def test_keras_model_on_raw_strings_one_segment():
  paths = fx.exports(NAME)
  text = tf_keras.layers.Input(shape=(), dtype=tf.string)
  encoder_inputs = hub.KerasLayer(paths["preprocessor"])(text)
  pooled = hub.KerasLayer(paths["encoder"])(encoder_inputs)["pooled_output"]
  model = tf_keras.Model(text, pooled)
  texts = [a for a, _ in fx.texts(NAME)]
  want = fx.keras_model(NAME).encoder(
      fx.python_pack(NAME, [(a, "") for a in texts]))
  fx.assert_close(model(tf.constant(texts)), want["pooled_output"],
                  "hub preprocessor + encoder")


def test_keras_model_on_sentence_pairs():
  paths = fx.exports(NAME)
  preprocessor = hub.load(paths["preprocessor"])
  tokenize = hub.KerasLayer(preprocessor.tokenize)
  pack = hub.KerasLayer(preprocessor.bert_pack_inputs,
                        arguments={"seq_length": 16})
  inputs = [tf_keras.layers.Input(shape=(), dtype=tf.string)
            for _ in range(2)]
  encoder_inputs = pack([tokenize(segment) for segment in inputs])
  model = tf_keras.Model(inputs, encoder_inputs)
  pairs = [(a, b or "好") for a, b in fx.texts(NAME)]
  got = model([tf.constant([a for a, _ in pairs]),
               tf.constant([b for _, b in pairs])])
  want = fx.python_pack(NAME, pairs, seq_length=16)
  for key in fx.INPUT_KEYS:
    np.testing.assert_array_equal(got[key], want[key], key)


def test_seq_length_too_short():
  with pytest.raises(export_utils.ExportError, match="at least 3"):
    preprocessor_export.export_preprocessor(
        export_utils.TokenizerSpec(**fx.tokenizer_kwargs(NAME)), "unused",
        seq_length=2)
  preprocessor = tf.saved_model.load(fx.exports(NAME)["preprocessor"])
  tokens = preprocessor.tokenize(tf.constant(["我们", "学习"]))
  with pytest.raises(tf.errors.InvalidArgumentError, match="too short"):
    preprocessor.bert_pack_inputs([tokens, tokens], seq_length=2)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
