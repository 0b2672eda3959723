"""Every output of the original graph, reproduced from its checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_tf import checkpoints
import reference_data as ref


def _outputs_like_expected(name):
  config = albert_tf.AlbertConfig.from_json_file(ref.config_path(name))
  model = albert_tf.AlbertPretrainer(config)
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix(name))
  raw = ref.inputs(name)
  outputs = model(ref.model_inputs(name), training=False)
  losses = albert_tf.pretraining_losses(
      outputs, raw["masked_lm_ids"], raw["masked_lm_weights"],
      raw["sentence_order_labels"])
  got = {
      "sequence_output": outputs["sequence_output"],
      "pooled_output": outputs["pooled_output"],
      "embedding_output": outputs["embedding_output"],
      # The original lays MLM rows out batch-major: [B·P, V].
      "mlm_log_probs": tf.reshape(tf.nn.log_softmax(outputs["mlm_logits"]),
                                  [-1, config.vocab_size]),
      "sop_log_probs": tf.nn.log_softmax(outputs["sop_logits"]),
      "word_embedding_output":
          model.encoder.embeddings.lookup_words(raw["input_ids"]),
      **losses,
  }
  for k, layer_output in enumerate(outputs["encoder_outputs"]):
    got[f"encoder_layer_{k}"] = layer_output
  return got, len(outputs["encoder_outputs"])


@pytest.mark.parametrize("name", ref.MODEL_FIXTURES)
def test_every_expected_array_matches_the_original(name):
  got, num_encoder_outputs = _outputs_like_expected(name)
  expected = ref.expected(name)
  expected_layers = [k for k in expected if k.startswith("encoder_layer_")]
  assert num_encoder_outputs == len(expected_layers)
  for key, want in expected.items():
    have = np.asarray(got[key])
    assert have.shape == want.shape, key
    np.testing.assert_allclose(have, want, rtol=0, atol=ref.TOLERANCE,
                               err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", ref.MODEL_FIXTURES)
def test_training_fast_path_matches_the_original(name):
  """heads_only (the last block on the [CLS] and masked rows only, what
  training runs) gives the original's losses and log-probs too."""
  config = albert_tf.AlbertConfig.from_json_file(ref.config_path(name))
  model = albert_tf.AlbertPretrainer(config)
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix(name))
  raw, expected = ref.inputs(name), ref.expected(name)
  outputs = model(ref.model_inputs(name), training=False, heads_only=True)
  assert "sequence_output" not in outputs
  losses = albert_tf.pretraining_losses(
      outputs, raw["masked_lm_ids"], raw["masked_lm_weights"],
      raw["sentence_order_labels"])
  got = {"pooled_output": outputs["pooled_output"],
         "mlm_log_probs": tf.reshape(tf.nn.log_softmax(outputs["mlm_logits"]),
                                     [-1, config.vocab_size]),
         "sop_log_probs": tf.nn.log_softmax(outputs["sop_logits"]), **losses}
  # What the classification and multiple-choice heads call: the last block
  # on the [CLS] rows only.
  got["pooled_output_only"] = model.encoder.pooled_output(
      ref.model_inputs(name, with_positions=False))
  expected = dict(expected, pooled_output_only=expected["pooled_output"])
  for key, have in got.items():
    np.testing.assert_allclose(np.asarray(have), expected[key], rtol=0,
                               atol=ref.TOLERANCE, err_msg=f"{name}: {key}")


def test_google_groups_has_every_inner_group_output():
  config = albert_tf.AlbertConfig.from_json_file(
      ref.config_path("google_groups"))
  # 4 layers × inner_group_num 2, from two groups.
  assert config.num_hidden_groups == 2 and config.inner_group_num == 2
  got, num_encoder_outputs = _outputs_like_expected("google_groups")
  assert num_encoder_outputs == 8
  assert "encoder_layer_7" in got


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
