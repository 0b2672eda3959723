"""Gradient accumulation: K micro-batches make the full batch's step."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from albert_tf.errors import UserError
from albert_tf.modeling import AlbertPretrainer
from albert_tf.training.gradient_accumulation import AccumulationError
from albert_tf.training.gradient_accumulation import accumulate_gradients
from albert_tf.training.gradient_accumulation import check_divisible
from albert_tf.training import pretraining_job
from albert_tf.training.pretraining_settings import UsageError
from albert_tf.training.pretraining_trainer import batch_sums
from albert_tf.training.pretraining_trainer import PretrainingTrainer
from cli_helpers import run_module
from run_pretraining_test import TINY_CONFIG
from run_pretraining_test import final_weights
from run_pretraining_test import flag_args
from run_pretraining_test import step_losses
from run_pretraining_test import train_in_process
from run_pretraining_test import write_records

STEPS = 3
# Three steps, a checkpoint after each: the runs below compare final weights.
RUN = {"num_train_steps": STEPS, "num_warmup_steps": 1,
       "save_checkpoints_steps": 1, "iterations_per_loop": 1,
       "learning_rate": 0.001, "train_batch_size": 8}
# Adam/LAMB divide by the gradient's running RMS, so for a weight whose
# gradient nearly cancels over the batch (the SOP bias) the float noise of
# another summation order is amplified in the update; a small learning rate
# keeps that amplified noise below the tolerance. The gradients themselves
# are compared directly in test_trainer_gradients_equal_full_batch.


# -- the reusable piece -------------------------------------------------------


def _toy_problem(seed=0):
  rng = np.random.default_rng(seed)
  batch = {"x": tf.constant(rng.normal(size=[12, 5]), tf.float32),
           "y": tf.constant(rng.normal(size=[12, 1]), tf.float32),
           "ids": tf.constant(rng.integers(0, 7, size=[12]), tf.int32)}
  kernel = tf.Variable(rng.normal(size=[5, 1]), dtype=tf.float32)
  table = tf.Variable(rng.normal(size=[7, 1]), dtype=tf.float32)
  unused = tf.Variable([1.0])
  variables = [kernel, table, unused]

  def fn(micro):
    with tf.GradientTape() as tape:
      # tf.gather gives the table an IndexedSlices gradient.
      prediction = micro["x"] @ kernel + tf.gather(table, micro["ids"])
      loss = tf.reduce_sum((prediction - micro["y"]) ** 2) / 12.0
    count = tf.shape(micro["x"])[0]
    return tape.gradient(loss, variables), {"loss": loss, "count": count}

  return fn, batch, variables


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("graph", [False, True])
def test_micro_batches_sum_to_the_full_batch(k, graph):
  fn, batch, variables = _toy_problem()
  full_gradients, full_outputs = fn(batch)

  def accumulate(batch):
    return accumulate_gradients(fn, batch, k, variables=variables)

  if graph:
    accumulate = tf.function(accumulate)
  gradients, outputs = accumulate(batch)
  assert outputs["count"].numpy() == 12
  np.testing.assert_allclose(outputs["loss"], full_outputs["loss"],
                             rtol=1e-6)
  np.testing.assert_allclose(gradients[0], full_gradients[0], rtol=1e-5)
  np.testing.assert_allclose(gradients[1],
                             tf.convert_to_tensor(full_gradients[1]),
                             rtol=1e-5)
  # An unused variable's gradient stays None, as in the full batch's, so
  # the optimizer leaves it alone (no weight decay on it either).
  assert full_gradients[2] is None
  assert gradients[2] is None


def test_without_variables_a_none_gradient_stays_none():
  fn, batch, _ = _toy_problem()
  gradients, _ = tf.function(
      lambda b: accumulate_gradients(fn, b, 3))(batch)
  assert gradients[2] is None
  np.testing.assert_allclose(gradients[0], fn(batch)[0][0], rtol=1e-5)


def test_one_micro_batch_is_a_plain_call():
  fn, batch, variables = _toy_problem()
  gradients, _ = accumulate_gradients(fn, batch, 1, variables=variables)
  np.testing.assert_array_equal(gradients[0], fn(batch)[0][0])


def test_indivisible_batches_are_user_errors():
  fn, batch, variables = _toy_problem()
  with pytest.raises(AccumulationError, match="12 examples.*5 equal"):
    accumulate_gradients(fn, batch, 5, variables=variables)
  with pytest.raises(UserError, match="--train_batch_size=8 is not divisible "
                     "by --gradient_accumulation_steps=3 x 2"):
    check_divisible(8, 3, num_replicas=2)
  with pytest.raises(UserError, match="at least 1"):
    check_divisible(8, 0)


# -- in the pretraining trainer and run_pretraining ---------------------------------------------------------


def _with_padded_predictions(path, seed):
  """Zero the weights of a random number of trailing predictions, as
  create_pretraining_data pads short documents: micro-batches then hold
  different weight sums, and only the GLOBAL sum gives the full batch's
  loss."""
  rng = np.random.default_rng(seed)
  records = []
  for record in tf.data.TFRecordDataset(path):
    example = tf.train.Example.FromString(record.numpy())
    weights = example.features.feature["masked_lm_weights"].float_list.value
    real = int(rng.integers(1, len(weights) + 1))
    weights[:] = [1.0] * real + [0.0] * (len(weights) - real)
    records.append(example.SerializeToString())
  with tf.io.TFRecordWriter(path) as writer:
    for record in records:
      writer.write(record)


def test_trainer_gradients_equal_full_batch():
  tf_keras.utils.set_random_seed(1)
  model = AlbertPretrainer(TINY_CONFIG)
  rng = np.random.default_rng(0)
  batch, seq, pred = 8, 32, 5
  features = {
      "input_ids": tf.constant(rng.integers(5, 100, [batch, seq]), tf.int32),
      "input_mask": tf.ones([batch, seq], tf.int32),
      "segment_ids": tf.zeros([batch, seq], tf.int32),
      "masked_lm_positions": tf.constant(rng.integers(1, seq - 1,
                                                      [batch, pred]), tf.int32),
      "masked_lm_ids": tf.constant(rng.integers(5, 100, [batch, pred]),
                                   tf.int32),
      "masked_lm_weights": tf.constant(
          (rng.random([batch, pred]) < 0.6).astype(np.float32)),
      "next_sentence_labels": tf.constant(rng.integers(0, 2, [batch, 1]),
                                          tf.int32)}
  results = {}
  for k in (1, 4):
    trainer = PretrainingTrainer(tf.distribute.get_strategy(), model,
                                 tf_keras.optimizers.SGD(), batch,
                                 gradient_accumulation_steps=k)
    results[k] = trainer._forward_backward(features, batch_sums(features))  # pylint: disable=protected-access
  (full, full_sums), (accumulated, sums) = results[1], results[4]
  for variable, a, b in zip(model.trainable_variables, full, accumulated):
    a = tf.convert_to_tensor(a).numpy()
    np.testing.assert_allclose(b, a, atol=1e-7 + 1e-5 * np.abs(a).max(),
                               err_msg=variable.name)
  for name, value in full_sums.items():
    np.testing.assert_allclose(sums[name], value, rtol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
  root = tmp_path_factory.mktemp("accumulation")
  for shard in range(2):
    path = str(root / f"train-{shard}.tfrecord")
    write_records(path, 48, seed=shard)
    _with_padded_predictions(path, seed=shard)
  config = root / "albert_config.json"
  config.write_text(json.dumps(TINY_CONFIG))
  return root


@pytest.fixture(scope="module")
def full_batch(data, tmp_path_factory):
  output_dir = tmp_path_factory.mktemp("full_batch")
  (train_output, _), lines = train_in_process(data, output_dir, **RUN)
  return final_weights(output_dir), train_output, step_losses(lines)


def _assert_same_weights(got, expected, atol):
  assert set(got) == set(expected)
  for name, value in expected.items():
    np.testing.assert_allclose(got[name], value, atol=atol, err_msg=name)


K = 4


@pytest.fixture(scope="module")
def accumulated(data, tmp_path_factory):
  """An uninterrupted run with K micro-batches per step."""
  output_dir = tmp_path_factory.mktemp("accumulated")
  (train_output, _), lines = train_in_process(
      data, output_dir, gradient_accumulation_steps=K, **RUN)
  return output_dir, train_output, lines


def test_accumulated_steps_equal_full_batch_steps(full_batch, accumulated):
  weights, full_output, full_losses = full_batch
  output_dir, train_output, lines = accumulated
  # The logged losses are the full batch's, step by step.
  np.testing.assert_allclose(step_losses(lines), full_losses, atol=1e-4)
  for name in ("mlm_loss", "sop_loss", "masked_lm_accuracy",
               "sentence_order_accuracy"):
    assert train_output[name] == pytest.approx(full_output[name], rel=1e-4)
  _assert_same_weights(final_weights(output_dir), weights, 1e-5)


def test_mirrored_two_devices_with_accumulation_equal_full_batch(
    data, full_batch, tmp_path):
  result = run_module("albert_tf.run_pretraining",
                      *flag_args(data, tmp_path / "mirrored",
                                 distribution_strategy="mirrored",
                                 num_cpu_devices=2,
                                 gradient_accumulation_steps=2, **RUN))
  assert result.returncode == 0, result.stderr[-3000:]
  np.testing.assert_allclose(step_losses(result.stdout.splitlines()),
                             full_batch[2], atol=1e-4)
  _assert_same_weights(final_weights(tmp_path / "mirrored"), full_batch[0],
                       1e-5)


class _KilledMidAccumulation(Exception):
  pass


def test_kill_mid_accumulation_resumes_to_the_uninterrupted_weights(
    data, accumulated, tmp_path, monkeypatch):
  k = K
  expected = final_weights(accumulated[0])
  # The model dies on the second micro-batch of the last step: after the
  # first micro-batch's gradients were added up, before the update.
  calls = {"count": 0, "die_at": (STEPS - 1) * k + 2}

  def tick():
    calls["count"] += 1
    if calls["count"] == calls["die_at"]:
      raise _KilledMidAccumulation()
    return np.int32(0)

  class DyingPretrainer(AlbertPretrainer):

    def call(self, inputs, training=None, heads_only=False):
      if training:
        alive = tf.py_function(tick, [], tf.int32)
        with tf.control_dependencies([alive]):
          inputs = {name: tf.identity(t) for name, t in inputs.items()}
      return super().call(inputs, training=training, heads_only=heads_only)

  resumed = tmp_path / "resumed"
  monkeypatch.setattr(pretraining_job, "AlbertPretrainer", DyingPretrainer)
  with pytest.raises(Exception, match="_KilledMidAccumulation"):
    train_in_process(data, resumed, gradient_accumulation_steps=k, **RUN)
  assert calls["count"] == calls["die_at"]
  assert not (resumed / "tf1").exists()
  # The newest checkpoint is from the last completed step: no partial sums.
  assert tf.train.latest_checkpoint(str(resumed)).endswith(
      f"model.ckpt-{STEPS - 1}")
  monkeypatch.undo()
  (_, _), lines = train_in_process(data, resumed,
                                   gradient_accumulation_steps=k, **RUN)
  assert any("resuming from" in line for line in lines)
  _assert_same_weights(final_weights(resumed), expected, 1e-6)


def test_accumulation_flag_errors(data, tmp_path):
  with pytest.raises(UsageError,
                     match="--train_batch_size=8 is not divisible by "
                     "--gradient_accumulation_steps=3"):
    train_in_process(data, tmp_path / "out",
                     **dict(RUN, gradient_accumulation_steps=3))
  with pytest.raises(UsageError,
                     match="--gradient_accumulation_steps must be at least 1"):
    train_in_process(data, tmp_path / "out",
                     **dict(RUN, gradient_accumulation_steps=0))


def teardown_module():
  tf_keras.mixed_precision.set_global_policy("float32")


def test_a_variable_the_loss_does_not_reach_is_left_alone(caplog):
  # A tagger never reaches the pooler: like the original's optimizers, the
  # step skips it (no weight decay on it) and says nothing about it.
  from albert_tf.training.optimization import create_optimizer
  from albert_tf.training.orbit_trainer import apply_connected_gradients
  used = tf.Variable([1.0, 2.0], name="used/kernel")
  unused = tf.Variable([3.0, 4.0], name="pooler/kernel")
  optimizer = create_optimizer("adamw", learning_rate=0.1,
                               num_train_steps=10, num_warmup_steps=0)

  def micro_batch_step(batch):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(used * batch)
    return tape.gradient(loss, [used, unused]), {"loss": loss}

  batch = tf.ones([4, 2])
  for k in (1, 2):
    gradients, _ = accumulate_gradients(micro_batch_step, batch, k,
                                        variables=[used, unused])
    assert gradients[1] is None
    with caplog.at_level("WARNING"):
      apply_connected_gradients(optimizer, gradients, [used, unused])
  np.testing.assert_array_equal(unused.numpy(), [3.0, 4.0])
  assert not np.allclose(used.numpy(), [1.0, 2.0])
  assert "Gradients do not exist" not in caplog.text
