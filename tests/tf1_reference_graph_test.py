"""The benchmark's TF1 baseline graph is the original's computation.

Its variables restore BY NAME from the reference checkpoints (written by the
original code), its outputs equal the original's golden outputs, and its
LAMB / AdamW steps move the weights exactly as albert_tf's optimizer does.
"""

import numpy as np
import pytest
import tensorflow as tf

from albert_tf.training import optimization
from benchmarks import tf1_reference_graph
from albert_tf.checkpoints import load_tf1_checkpoint
from albert_tf.checkpoints import tf1_variable_map
from albert_tf.config import AlbertConfig
from albert_tf.modeling.losses import pretraining_losses
from albert_tf.modeling import AlbertPretrainer
import reference_data

v1 = tf.compat.v1


def _features(name):
  raw = reference_data.inputs(name)
  return {"input_ids": raw["input_ids"], "input_mask": raw["input_mask"],
          "segment_ids": raw["token_type_ids"],
          "masked_lm_positions": raw["masked_lm_positions"],
          "masked_lm_ids": raw["masked_lm_ids"],
          "masked_lm_weights": raw["masked_lm_weights"],
          "next_sentence_labels": raw["sentence_order_labels"]}


def _constants(features):
  return {k: tf.constant(v) for k, v in features.items()}


@pytest.mark.parametrize("name", ["google_tiny", "google_groups"])
def test_outputs_equal_the_original_golden_outputs(name):
  config = AlbertConfig.from_json_file(reference_data.config_path(name))
  expected = reference_data.expected(name)
  with tf.Graph().as_default():
    outputs = tf1_reference_graph.pretraining_losses(
        config, _constants(_features(name)), training=False)
    # Saver restores every variable by its name: a wrong scope fails here.
    saver = v1.train.Saver(v1.global_variables())
    assert sorted(v.op.name for v in v1.global_variables()) == sorted(
        reference_data.variable_shapes(name))
    with v1.Session() as session:
      saver.restore(session, reference_data.checkpoint_prefix(name))
      got = session.run(outputs)
  for key in ("sequence_output", "pooled_output", "mlm_log_probs",
              "sop_log_probs", "mlm_loss", "sop_loss", "total_loss"):
    np.testing.assert_allclose(got[key], expected[key],
                               atol=reference_data.TOLERANCE, err_msg=key)


def _tiny_config():
  # Dropout off so both sides compute the same function.
  return AlbertConfig.from_json_file(
      reference_data.config_path("google_tiny")).replace(
          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _albert_tf_model(config, features):
  model = AlbertPretrainer(config)
  inputs = {"input_word_ids": features["input_ids"],
            "input_mask": features["input_mask"],
            "input_type_ids": features["segment_ids"],
            "masked_lm_positions": features["masked_lm_positions"]}
  model(inputs)
  load_tf1_checkpoint(model, reference_data.checkpoint_prefix("google_tiny"))
  return model, inputs


def test_gradients_match_albert_tf():
  config, features = _tiny_config(), _features("google_tiny")
  with tf.Graph().as_default():
    outputs = tf1_reference_graph.pretraining_losses(
        config, _constants(features), training=True)
    variables = v1.trainable_variables()
    gradients = [tf.convert_to_tensor(g) for g in
                 tf.gradients(outputs["total_loss"], variables)]
    with v1.Session() as session:
      v1.train.Saver().restore(
          session, reference_data.checkpoint_prefix("google_tiny"))
      theirs = dict(zip([v.op.name for v in variables],
                        session.run(gradients)))
  model, inputs = _albert_tf_model(config, features)
  with tf.GradientTape() as tape:
    loss = pretraining_losses(
        model(inputs, training=True), features["masked_lm_ids"],
        features["masked_lm_weights"],
        features["next_sentence_labels"])["total_loss"]
  names = {v.ref(): name for name, v in tf1_variable_map(model).items()}
  variables = model.trainable_variables
  ours = {names[v.ref()]: tf.convert_to_tensor(g).numpy()
          for v, g in zip(variables, tape.gradient(loss, variables))}
  assert set(ours) == set(theirs)
  for name, gradient in theirs.items():
    # Float32 summation order differs (einsum vs Keras kernels).
    scale = max(1.0, float(np.abs(gradient).max()))
    np.testing.assert_allclose(ours[name], gradient, atol=2e-5 * scale,
                               err_msg=name)


def _random_gradients(shapes, seed):
  rng = np.random.RandomState(seed)
  # Norms well above 1, so the global-norm clipping acts.
  return {name: (rng.randn(*shape) * 0.5).astype(np.float32)
          for name, shape in sorted(shapes.items())}


@pytest.mark.parametrize("optimizer", ["lamb", "adamw"])
def test_optimizer_steps_match_albert_tf(optimizer):
  """Two updates with the same given gradients: clipping, moments, decay,
  exclusions, trust ratio and the schedule agree."""
  config, features = _tiny_config(), _features("google_tiny")
  model, _ = _albert_tf_model(config, features)
  names = tf1_variable_map(model)
  shapes = {name: v.shape.as_list() for name, v in names.items()}
  steps = [_random_gradients(shapes, seed) for seed in (1, 2)]

  keras_optimizer = optimization.create_optimizer(
      optimizer, 0.01, num_train_steps=10, num_warmup_steps=0,
      variable_names={v.ref(): name for name, v in names.items()})
  variables = model.trainable_variables
  by_ref = {v.ref(): name for name, v in names.items()}
  for gradients in steps:
    keras_optimizer.apply_gradients(
        [(tf.constant(gradients[by_ref[v.ref()]]), v) for v in variables])
  ours = {name: v.numpy() for name, v in names.items()}

  with tf.Graph().as_default():
    tf1_reference_graph.pretraining_losses(
        config, _constants(features), training=False)
    model_variables = v1.trainable_variables()
    feeds = [v1.placeholder(tf.float32, v.shape) for v in model_variables]
    rate = tf1_reference_graph.learning_rate(0.01, num_train_steps=10,
                                             num_warmup_steps=0)
    step_op = tf1_reference_graph.apply_gradients(feeds, model_variables,
                                                  rate, optimizer)
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      v1.train.Saver(model_variables).restore(
          session, reference_data.checkpoint_prefix("google_tiny"))
      for gradients in steps:
        session.run(step_op, {feed: gradients[v.op.name]
                              for feed, v in zip(feeds, model_variables)})
      theirs = session.run({v.op.name: v for v in model_variables})

  reader = tf.train.load_checkpoint(
      reference_data.checkpoint_prefix("google_tiny"))
  assert set(ours) == set(theirs)
  for name in theirs:
    np.testing.assert_allclose(ours[name], theirs[name], atol=1e-6,
                               err_msg=name)
    assert not np.allclose(theirs[name], reader.get_tensor(name)), name


def _twelve_lamb_steps(one_hot_token_types=True, next_step_rate=False):
  """(global norm before clipping at step 0, weights after 12 steps) of the
  original graph on the fixture's batch, dropout off."""
  config, features = _tiny_config(), _features("google_tiny")
  with tf.Graph().as_default():
    outputs = tf1_reference_graph.pretraining_losses(
        config, _constants(features), training=True,
        one_hot_token_types=one_hot_token_types)
    variables = v1.trainable_variables()
    step = v1.train.get_or_create_global_step()
    rate = tf1_reference_graph.learning_rate(
        0.01, num_train_steps=12, num_warmup_steps=4,
        step=step + 1 if next_step_rate else None)
    gradients = tf.gradients(outputs["total_loss"], variables)
    norm = tf.linalg.global_norm(gradients)
    train = tf1_reference_graph.apply_gradients(gradients, variables, rate)
    with v1.Session() as session:
      session.run(v1.global_variables_initializer())
      v1.train.Saver(variables).restore(
          session, reference_data.checkpoint_prefix("google_tiny"))
      first_norm = session.run(norm)
      for _ in range(12):
        session.run(train)
      return first_norm, session.run({v.op.name: v for v in variables})


def test_the_cpu_behaviours_of_the_original_change_training():
  """The sizes docs/original_quirks.md gives for the two places where the
  original's CPU runs differ from its TPU runs (which albert_tf follows)."""
  tpu_norm, tpu = _twelve_lamb_steps()
  gather_norm, gather = _twelve_lamb_steps(one_hot_token_types=False)
  _, next_rate = _twelve_lamb_steps(next_step_rate=True)

  def gap(weights):
    return max(float(np.abs(weights[k] - tpu[k]).max()) for k in tpu)
  # The gather's sparse gradient: another norm for the clipping to see.
  assert tpu_norm == pytest.approx(73.94, abs=0.01)
  assert gather_norm == pytest.approx(75.84, abs=0.01)
  assert gap(gather) == pytest.approx(0.054, abs=0.005)
  assert gap(next_rate) == pytest.approx(0.156, abs=0.005)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
