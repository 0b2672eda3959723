"""Mixed precision numerics: bfloat16 / float16 close to float32, and the
new memory features (accumulation, recomputation) under mixed precision.

Also run on a GPU by benchmarks/gpu_memory_benchmark.py --run_numerics_tests.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from albert_tf.modeling import AlbertPretrainer
from albert_tf.training.pretraining_trainer import batch_sums
from albert_tf.training.pretraining_trainer import PretrainingTrainer
from recompute_test import BATCH
from recompute_test import CONFIG
from recompute_test import _features


def _model_and_trainer(policy, recompute="none", accumulation=1,
                       loss_scaling=False, weights=None):
  tf_keras.mixed_precision.set_global_policy(policy)
  try:
    tf_keras.utils.set_random_seed(3)
    model = AlbertPretrainer(CONFIG, recompute_activations=recompute)
    if weights is not None:
      model.set_weights(weights)
    optimizer = tf_keras.optimizers.SGD()
    if loss_scaling:
      # A fixed scale: the dynamic one starts at 2**15, whose first steps
      # overflow on purpose (and are skipped) until it has come down.
      optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
          optimizer, dynamic=False, initial_scale=2.0**6)
    trainer = PretrainingTrainer(tf.distribute.get_strategy(), model,
                                 optimizer, BATCH,
                                 gradient_accumulation_steps=accumulation)
    features = _features()
    gradients, sums = trainer._forward_backward(  # pylint: disable=protected-access
        features, batch_sums(features))
  finally:
    tf_keras.mixed_precision.set_global_policy("float32")
  loss = float(sums["mlm_share"] + sums["sop_share"])
  return model, [tf.convert_to_tensor(g).numpy() for g in gradients], loss


@pytest.fixture(scope="module")
def float32_reference():
  model, gradients, loss = _model_and_trainer("float32")
  return model.get_weights(), gradients, loss


def _relative_error(got, expected):
  return (np.linalg.norm(got.astype(np.float64) - expected) /
          max(np.linalg.norm(expected), 1e-12))


@pytest.mark.parametrize("policy, loss_scaling, recompute, accumulation", [
    ("mixed_bfloat16", False, "none", 1),
    ("mixed_float16", True, "block", 2),
])
def test_mixed_precision_is_close_to_float32(
    float32_reference, policy, loss_scaling, recompute, accumulation):
  """Weights and gradients stay float32; the loss and gradients are close to
  float32's, also with recomputation and accumulation (float16 with loss
  scaling)."""
  weights, reference, reference_loss = float32_reference
  model, gradients, loss = _model_and_trainer(
      policy, recompute=recompute, accumulation=accumulation,
      loss_scaling=loss_scaling, weights=weights)
  assert all(v.dtype == tf.float32 for v in model.trainable_variables)
  assert loss == pytest.approx(reference_loss, rel=2e-2)
  tolerance = 0.1 if policy == "mixed_bfloat16" else 2e-2
  for got, expected in zip(gradients, reference):
    assert got.dtype == np.float32
    assert np.isfinite(got).all()
    if np.linalg.norm(expected) > 1e-4:
      assert _relative_error(got, expected) < tolerance
