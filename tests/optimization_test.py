"""The original ALBERT schedule and LAMB/AdamW math, on hand-checked values."""

import numpy as np
import pytest
import tensorflow as tf

from albert_tf.training import optimization


def test_schedule_matches_the_original_formula():
  schedule = optimization.WarmupPolynomialDecay(
      1.0, num_train_steps=10, num_warmup_steps=4, poly_power=1.0)
  # Warmup: step/4 (step 0 trains with lr 0); then (1 - step/10)^1 from the
  # raw step, so the decay does not restart after warmup.
  expected = [0.0, 0.25, 0.5, 0.75, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, 0.0]
  got = [float(schedule(step)) for step in range(12)]
  np.testing.assert_allclose(got, expected, atol=1e-7)


def test_schedule_with_power_and_start_warmup_step():
  schedule = optimization.WarmupPolynomialDecay(
      2.0, num_train_steps=12, num_warmup_steps=2, start_warmup_step=2,
      poly_power=2.0)
  # decay over num_train_steps - start_warmup_step = 10 steps, at raw step.
  assert float(schedule(3)) == pytest.approx(2.0 * 1 / 2)
  assert float(schedule(4)) == pytest.approx(2.0 * (1 - 4 / 10) ** 2)
  assert float(schedule(11)) == pytest.approx(0.0)


def test_schedule_rejects_impossible_steps():
  with pytest.raises(ValueError, match="num_train_steps"):
    optimization.WarmupPolynomialDecay(1.0, 5, start_warmup_step=5)


def _numpy_step(w, g, m, v, lr, decay, adapt, wd=0.01, b1=0.9, b2=0.999,
                eps=1e-6, t=None):
  """One update; t (1-based step) given: with Adam's bias correction."""
  m = b1 * m + (1 - b1) * g
  v = b2 * v + (1 - b2) * g * g
  if t is None:
    update = m / (np.sqrt(v) + eps)
  else:
    update = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
  if decay:
    update = update + wd * w
  ratio = 1.0
  if adapt:
    w_norm, u_norm = np.linalg.norm(w), np.linalg.norm(update)
    ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
  return w - ratio * lr * update, m, v


@pytest.mark.parametrize("bias_correction", [False, True])
@pytest.mark.parametrize("kind", optimization.OPTIMIZERS)
def test_two_steps_match_hand_computed_updates(kind, bias_correction):
  rng = np.random.default_rng(0)
  init = {name: rng.normal(size=(3, 2)).astype(np.float32)
          for name in ("layer/kernel", "layer/bias", "LayerNorm/gamma")}
  grads = [{name: rng.normal(size=(3, 2)).astype(np.float32) * 0.1
            for name in init} for _ in range(2)]
  variables = {name: tf.Variable(value) for name, value in init.items()}
  optimizer = optimization.create_optimizer(
      kind, learning_rate=0.1, num_train_steps=10, num_warmup_steps=0,
      variable_names={v.ref(): name for name, v in variables.items()},
      bias_correction=bias_correction)
  for step_grads in grads:
    optimizer.apply_gradients(
        [(tf.constant(step_grads[name]), variables[name])
         for name in variables])

  for name, w in init.items():
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    decay = name == "layer/kernel"
    for step, step_grads in enumerate(grads):
      lr = 0.1 * (1 - step / 10)
      g = step_grads[name]
      # Gradients are small, so clipping to global norm 1.0 does not act.
      w, m, v = _numpy_step(w, g, m, v, lr, decay,
                            adapt=decay and kind == "lamb",
                            t=step + 1 if bias_correction else None)
    np.testing.assert_allclose(variables[name].numpy(), w, rtol=1e-5,
                               atol=1e-6, err_msg=name)


def test_first_update_without_bias_correction_is_3x_adams():
  """The original's first AdamW step is (1 - b1) / sqrt(1 - b2) = 3.16
  times Adam's; the stable fine-tuning recipe corrects it."""
  moved = {}
  for bias_correction in (False, True):
    variable = tf.Variable(tf.zeros([2]))
    optimizer = optimization.create_optimizer(
        "adamw", learning_rate=0.1, num_train_steps=10, num_warmup_steps=0,
        weight_decay_rate=0.0, bias_correction=bias_correction)
    optimizer.apply_gradients([(tf.constant([0.3, -0.4]), variable)])
    moved[bias_correction] = variable.numpy()
  np.testing.assert_allclose(moved[True], [-0.1, 0.1], rtol=1e-4)
  np.testing.assert_allclose(moved[False] / moved[True], 0.1 / 0.001**0.5,
                             rtol=1e-4)


def test_learning_rate_multipliers_scale_single_variables():
  head, encoder = tf.Variable(tf.zeros([2])), tf.Variable(tf.zeros([2]))
  optimizer = optimization.create_optimizer(
      "adamw", learning_rate=0.1, num_train_steps=10, num_warmup_steps=0,
      weight_decay_rate=0.0, learning_rate_multipliers={head.ref(): 10.0})
  gradient = tf.constant([0.3, -0.4])
  optimizer.apply_gradients([(gradient, head), (gradient, encoder)])
  np.testing.assert_allclose(head.numpy(), 10.0 * encoder.numpy(), rtol=1e-6)
  assert np.all(encoder.numpy() != 0.0)


def test_excluded_variables_get_no_weight_decay():
  variables = {name: tf.Variable(tf.ones([4]))
               for name in ("bert/encoder/dense/kernel",
                            "bert/encoder/dense/bias",
                            "bert/embeddings/LayerNorm/gamma",
                            "cls/predictions/transform/layer_norm/beta")}
  optimizer = optimization.create_optimizer(
      "adamw", learning_rate=1.0, num_train_steps=10, num_warmup_steps=0,
      variable_names={v.ref(): name for name, v in variables.items()})
  optimizer.apply_gradients([(tf.zeros([4]), v) for v in variables.values()])
  # A zero gradient leaves only the decay term: 1 - lr * 0.01 * 1.
  np.testing.assert_allclose(
      variables["bert/encoder/dense/kernel"].numpy(), np.full(4, 0.99))
  for name in list(variables)[1:]:
    np.testing.assert_array_equal(variables[name].numpy(), np.ones(4))


def test_gradients_are_clipped_to_global_norm_one():
  variable = tf.Variable(tf.zeros([2]))
  optimizer = optimization.AlbertOptimizer(
      1.0, layer_adaptation=False, weight_decay_rate=0.0, beta_1=0.0,
      beta_2=0.0, epsilon=0.0)
  optimizer.apply_gradients([(tf.constant([30.0, 40.0]), variable)])
  # Clipped to [0.6, 0.8]; with beta 0 and eps 0 the update is sign(g).
  np.testing.assert_allclose(variable.numpy(), [-1.0, -1.0], atol=1e-6)
  assert optimizer.global_clipnorm == 1.0


def test_lamb_trust_ratio_is_one_for_zero_weights():
  variable = tf.Variable(tf.zeros([3]))
  optimizer = optimization.create_optimizer(
      "lamb", learning_rate=0.5, num_train_steps=10, num_warmup_steps=0)
  optimizer.apply_gradients([(tf.constant([0.1, -0.2, 0.3]), variable)])
  # ||w|| = 0, so the ratio is 1: w = -lr * m / (sqrt(v) + eps) with no bias
  # correction (m = 0.1 g, v = 0.001 g^2).
  g = np.array([0.1, -0.2, 0.3])
  expected = -0.5 * 0.1 * g / (np.sqrt(0.001) * np.abs(g) + 1e-6)
  np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5)


def test_unknown_optimizer_is_refused():
  with pytest.raises(ValueError, match="--optimizer must be one of"):
    optimization.create_optimizer("sgd")


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
