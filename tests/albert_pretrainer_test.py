"""AlbertPretrainer heads and the original losses."""

import math

import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_tf.modeling import losses
from albert_tf.config import AlbertConfig
import reference_data as ref


def tiny_config(**changes):
  values = dict(vocab_size=30, embedding_size=6, hidden_size=12,
                num_hidden_layers=2, num_attention_heads=3,
                intermediate_size=20, max_position_embeddings=16)
  values.update(changes)
  return AlbertConfig.from_dict(values)


def features(batch=2, seq=8, predictions=3):
  rng = np.random.RandomState(3)
  return {
      "input_word_ids": rng.randint(0, 30, (batch, seq)).astype(np.int32),
      "masked_lm_positions": rng.randint(1, seq, (batch, predictions)
                                         ).astype(np.int32),
  }


@pytest.mark.parametrize("ln_type", [None, "postln"])
def test_outputs_and_tied_embeddings(ln_type):
  model = albert_tf.AlbertPretrainer(tiny_config(ln_type=ln_type))
  outputs = model(features())
  assert outputs["mlm_logits"].shape == (2, 3, 30)
  assert outputs["sop_logits"].shape == (2, 2)
  assert outputs["sequence_output"].shape == (2, 8, 12)
  assert isinstance(model.encoder, albert_tf.AlbertEncoder)
  # The MLM head owns no [V, E] matrix: it reuses the word embeddings.
  head_shapes = [tuple(v.shape) for v in model.masked_lm.trainable_variables]
  assert (30, 6) not in head_shapes and (6, 30) not in head_shapes
  emb = model.encoder.embeddings
  hidden = tf.gather(outputs["sequence_output"], features()[
      "masked_lm_positions"], batch_dims=1)
  hidden = model.masked_lm.layer_norm(model.masked_lm.transform(hidden))
  if ln_type:  # albert_zh goes back through word_embeddings_2.
    hidden = tf.matmul(hidden, emb.word_embeddings_2, transpose_b=True)
  want = tf.matmul(hidden, emb.word_embeddings, transpose_b=True)
  np.testing.assert_allclose(outputs["mlm_logits"],
                             want + model.masked_lm.output_bias,
                             atol=ref.TOLERANCE)


@pytest.mark.parametrize("heads_only", [False, True])
def test_a_batch_of_zero_examples_gives_empty_outputs(heads_only):
  # A replica can be handed an empty last batch; it must not fail.
  model = albert_tf.AlbertPretrainer(tiny_config())
  outputs = tf.function(lambda x: model(x, heads_only=heads_only))(
      features(batch=0))
  assert outputs["mlm_logits"].shape == (0, 3, 30)
  assert outputs["sop_logits"].shape == (0, 2)
  assert model.encoder.pooled_output(
      {"input_word_ids": tf.zeros([0, 8], tf.int32)}).shape == (0, 12)


def test_heads_only_equals_the_full_outputs():
  model = albert_tf.AlbertPretrainer(tiny_config(num_hidden_groups=2,
                                                 inner_group_num=2))
  full = model(features(batch=3))
  fast = model(features(batch=3), heads_only=True)
  assert set(fast) == {"mlm_logits", "sop_logits", "pooled_output"}
  for key in fast:
    np.testing.assert_allclose(fast[key], full[key], atol=ref.TOLERANCE,
                               rtol=0)


def test_missing_positions_is_a_clear_error():
  model = albert_tf.AlbertPretrainer(tiny_config())
  with pytest.raises(ValueError, match="masked_lm_positions"):
    model({"input_word_ids": features()["input_word_ids"]})


def test_masked_lm_loss_formula_by_hand():
  logits = tf.constant([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
  ids = tf.constant([[0, 2]])
  weights = tf.constant([[1.0, 0.5]])
  ce0 = -math.log(math.exp(2) / (math.exp(2) + 2))
  ce1 = -math.log(1 / (math.e + 2))
  want = (ce0 + 0.5 * ce1) / (1.5 + 1e-5)
  assert losses.masked_lm_loss(logits, ids, weights).numpy() == pytest.approx(
      want, rel=1e-6)
  # All weights zero: 0 / 1e-5, not NaN.
  assert losses.masked_lm_loss(logits, ids, tf.zeros([1, 2])).numpy() == 0.0


def test_sentence_order_loss_is_mean_cross_entropy():
  logits = tf.constant([[1.0, 0.0], [0.0, 3.0]])
  labels = tf.constant([1, 1])
  want = (-math.log(1 / (math.e + 1)) +
          -math.log(math.exp(3) / (math.exp(3) + 1))) / 2
  assert losses.sentence_order_loss(logits, labels).numpy() == pytest.approx(
      want, rel=1e-6)
  # [B, 1] labels, as stored in the pretraining TFRecords, work too.
  assert losses.sentence_order_loss(
      logits, tf.constant([[1], [1]])).numpy() == pytest.approx(want, rel=1e-6)


def test_total_loss_is_the_unweighted_sum():
  model = albert_tf.AlbertPretrainer(tiny_config())
  outputs = model(features())
  result = albert_tf.pretraining_losses(
      outputs, tf.ones([2, 3], tf.int32), tf.ones([2, 3]), tf.constant([0, 1]))
  assert result["total_loss"].numpy() == pytest.approx(
      result["mlm_loss"].numpy() + result["sop_loss"].numpy())


def test_config_round_trip():
  model = albert_tf.AlbertPretrainer(tiny_config(ln_type="preln"))
  clone = albert_tf.AlbertPretrainer.from_config(model.get_config())
  assert clone.config == model.config
  assert len(clone.trainable_variables) == len(model.trainable_variables)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
