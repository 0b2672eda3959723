"""Activation recomputation: the same gradients, with and without dropout."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import albert_tf
from albert_tf.errors import UserError
from albert_tf.modeling import AlbertPretrainer
from albert_tf.modeling.layers import recompute as recompute_lib
from albert_tf.modeling.layers import seeded_dropout
from albert_tf.modeling.layers import TransformerBlock
from albert_tf.training.pretraining_trainer import batch_sums
from albert_tf.training.pretraining_trainer import PretrainingTrainer

CONFIG = {
    "attention_probs_dropout_prob": 0.0, "embedding_size": 16,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 32,
    "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 64,
    "max_position_embeddings": 64, "num_attention_heads": 4,
    "num_hidden_groups": 1, "num_hidden_layers": 3, "type_vocab_size": 2,
    "vocab_size": 120}
BATCH, SEQ, PRED = 4, 24, 5


def _features(seed=0):
  rng = np.random.default_rng(seed)
  mask = np.ones([BATCH, SEQ], np.int32)
  mask[1, SEQ - 6:] = 0  # Padding: the attention mask matters.
  return {
      "input_ids": tf.constant(rng.integers(5, 120, [BATCH, SEQ]), tf.int32),
      "input_mask": tf.constant(mask),
      "segment_ids": tf.constant(
          np.repeat([[0] * (SEQ // 2) + [1] * (SEQ // 2)], BATCH, 0),
          tf.int32),
      "masked_lm_positions": tf.constant(
          np.sort(rng.integers(1, SEQ - 6, [BATCH, PRED]), axis=1), tf.int32),
      "masked_lm_ids": tf.constant(rng.integers(5, 120, [BATCH, PRED]),
                                   tf.int32),
      "masked_lm_weights": tf.ones([BATCH, PRED]),
      "next_sentence_labels": tf.constant(rng.integers(0, 2, [BATCH, 1]),
                                          tf.int32)}


_WEIGHTS = []


def _gradients(mode, use_xla=False, heads_only=True):
  tf_keras.utils.set_random_seed(3)
  model = AlbertPretrainer(CONFIG, recompute_activations=mode)
  if not _WEIGHTS:
    _WEIGHTS.extend(model.get_weights())
  model.set_weights(_WEIGHTS)
  features = _features()
  if heads_only:
    trainer = PretrainingTrainer(tf.distribute.get_strategy(), model,
                                 tf_keras.optimizers.SGD(), BATCH,
                                 use_xla=use_xla)
    gradients, sums = trainer._forward_backward(  # pylint: disable=protected-access
        features, batch_sums(features))
    return gradients, sums["mlm_share"] + sums["sop_share"]

  @tf.function
  def full_path():
    with tf.GradientTape() as tape:
      outputs = model({"input_word_ids": features["input_ids"],
                       "input_mask": features["input_mask"],
                       "input_type_ids": features["segment_ids"],
                       "masked_lm_positions": features["masked_lm_positions"]},
                      training=True)
      loss = albert_tf.modeling.losses.pretraining_losses(
          outputs, features["masked_lm_ids"], features["masked_lm_weights"],
          features["next_sentence_labels"])["total_loss"]
    return tape.gradient(loss, model.trainable_variables), loss

  return full_path()


def _assert_close(got, expected):
  got_gradients, got_loss = got
  gradients, loss = expected
  np.testing.assert_allclose(got_loss, loss, rtol=1e-6)
  assert len(got_gradients) == len(gradients)
  for a, b in zip(got_gradients, gradients):
    np.testing.assert_allclose(tf.convert_to_tensor(a),
                               tf.convert_to_tensor(b), atol=1e-6)


@pytest.fixture(scope="module")
def baseline():
  return {heads_only: _gradients("none", heads_only=heads_only)
          for heads_only in (True, False)}


@pytest.mark.parametrize("mode, heads_only", [
    ("attention", True), ("block", True), ("block", False)])
def test_recompute_gives_the_same_gradients(baseline, mode, heads_only):
  _assert_close(_gradients(mode, heads_only=heads_only), baseline[heads_only])


def test_recompute_block_under_xla(baseline):
  _assert_close(_gradients("block", use_xla=True), baseline[True])


# -- dropout ---------------------------------------------------------------------


def _block(mode):
  tf_keras.utils.set_random_seed(5)
  block = TransformerBlock(32, 4, 64, hidden_dropout_prob=0.3,
                           attention_probs_dropout_prob=0.2, recompute=mode)
  block.build([None, 32])
  return block


def _block_inputs():
  rng = np.random.default_rng(1)
  states = tf.constant(rng.normal(size=[2 * 8, 32]), tf.float32)
  mask = np.ones([2, 8], np.int32)
  mask[0, 6:] = 0
  return states, albert_tf.modeling.layers.attention_mask_adder(mask)


def _block_gradients(block, states, call):
  # A fixed random projection of the output: every output unit matters.
  projection = tf.constant(np.random.default_rng(2).normal(size=[16, 32]),
                           tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(states)
    output = call(states)
    loss = tf.reduce_sum(output * projection)
  return (output, loss, *tape.gradient(loss, [states] +
                                       block.trainable_variables))


@pytest.mark.parametrize("mode", ["attention", "block"])
@pytest.mark.parametrize("graph", [False, True])
def test_recompute_with_dropout_uses_the_same_masks(mode, graph, monkeypatch):
  """The recomputed pass drops the same units: the gradients are those of
  the network that produced the output (the same block without
  recomputation, given the same dropout seed)."""
  seed = tf.constant([7, 11], tf.int32)
  monkeypatch.setattr(recompute_lib, "new_dropout_seed", lambda: seed)
  states, mask_adder = _block_inputs()
  block = _block(mode)

  def recomputed(x):
    return block(x, mask_adder, training=True)

  def plain(x):
    # The same stateless masks, every activation kept.
    return block._forward(x, mask_adder, True, None, dropout_seed=seed)  # pylint: disable=protected-access

  run = tf.function if graph else (lambda f: f)
  got = run(lambda: _block_gradients(block, states, recomputed))()
  expected = run(lambda: _block_gradients(block, states, plain))()
  np.testing.assert_allclose(got[0], expected[0], atol=1e-6)
  for a, b in zip(got[2:], expected[2:]):
    np.testing.assert_allclose(a, b, atol=1e-6)
  # Dropout is active: the output differs from inference.
  inference = block(states, mask_adder, training=False)
  assert np.abs(got[0] - inference.numpy()).max() > 1e-2


def test_dropout_masks_change_between_calls():
  states, mask_adder = _block_inputs()
  block = _block("block")
  first = block(states, mask_adder, training=True)
  second = block(states, mask_adder, training=True)
  assert np.abs(first.numpy() - second.numpy()).max() > 1e-2


def test_dropout_rate_is_kept():
  ones = tf.ones([200, 200])
  dropped = recompute_lib.stateless_dropout(ones, 0.3, tf.constant([1, 2]),
                                            recompute_lib.FFN_OUTPUT_SITE)
  kept = (dropped.numpy() > 0).mean()
  assert kept == pytest.approx(0.7, abs=0.01)
  np.testing.assert_allclose(dropped.numpy()[dropped.numpy() > 0], 1 / 0.7,
                             rtol=1e-6)


def _seeded_steps(mode, steps, weights):
  """[(gradients, loss)] of training steps with dropout 0.1 drawn from the
  seed scope of (seed 11, step) for each of `steps`, as the trainers draw
  it."""
  config = dict(CONFIG, hidden_dropout_prob=0.1,
                attention_probs_dropout_prob=0.1)
  model = AlbertPretrainer(config, recompute_activations=mode)
  model.set_weights(weights)
  trainer = PretrainingTrainer(tf.distribute.get_strategy(), model,
                               tf_keras.optimizers.SGD(), BATCH, seed=11)
  features = _features()
  results = []
  for step in steps:
    gradients, sums = trainer._forward_backward(  # pylint: disable=protected-access
        features, batch_sums(features),
        seeded_dropout.step_seed(11, step))
    results.append(([tf.convert_to_tensor(g).numpy() for g in gradients],
                    float(sums["mlm_share"] + sums["sop_share"])))
  return results


def test_seeded_dropout_is_the_same_in_every_mode_and_on_every_call():
  """In training, the masks are a function of (seed, step, ...): every
  recompute mode draws the same ones (same gradients), a step computed
  again draws them again (what resuming needs), another step draws
  others."""
  tf_keras.utils.set_random_seed(3)
  weights = AlbertPretrainer(CONFIG).get_weights()
  (gradients, loss), again, other_step = _seeded_steps("none", [4, 4, 5],
                                                        weights)
  assert again[1] == loss
  for a, b in zip(again[0], gradients):
    np.testing.assert_array_equal(a, b)
  # Another step's masks: another loss (so dropout is on).
  assert abs(other_step[1] - loss) > 1e-4
  for mode in ("attention", "block"):
    (got,) = _seeded_steps(mode, [4], weights)
    _assert_close(got, (gradients, loss))


# -- construction -------------------------------------------------------------------


def test_mode_is_in_the_config_and_checked():
  encoder = albert_tf.AlbertEncoder(CONFIG, recompute_activations="block")
  assert encoder.get_config()["recompute_activations"] == "block"
  clone = albert_tf.AlbertEncoder.from_config(encoder.get_config())
  assert clone.recompute_activations == "block"
  assert all(block.recompute == "block" for group in clone.groups
             for block in group.inner_groups)
  pretrainer = AlbertPretrainer(CONFIG, recompute_activations="attention")
  assert AlbertPretrainer.from_config(
      pretrainer.get_config()).recompute_activations == "attention"
  with pytest.raises(UserError, match="recompute_activations='blocks'; "
                     "expected one of none, attention, block"):
    albert_tf.AlbertEncoder(CONFIG, recompute_activations="blocks")


def test_inference_is_unaffected():
  features = _features()
  inputs = {"input_word_ids": features["input_ids"],
            "input_mask": features["input_mask"],
            "input_type_ids": features["segment_ids"]}
  tf_keras.utils.set_random_seed(3)
  plain = albert_tf.AlbertEncoder(CONFIG)
  recomputing = albert_tf.AlbertEncoder(CONFIG, recompute_activations="block")
  recomputing.set_weights(plain.get_weights())
  np.testing.assert_array_equal(
      recomputing(inputs, training=False)["sequence_output"],
      plain(inputs, training=False)["sequence_output"])
