"""The training loop pretraining and fine-tuning share, on orbit.

orbit runs `iterations_per_loop` train steps per tf.function call (a
tf.while_loop, like TPUEstimator) under a tf.distribute strategy. This
module holds what both trainers do the same way:

  loss_and_gradients   the one train-step computation: a replica's share of
                       the global-batch loss and its gradients (with loss
                       scaling for float16); gradient accumulation wraps it
  StrategyTrainer      orbit.StandardTrainer base: model, optimizer, global
                       batch, per-loop mean metrics, divergence check,
                       learning rate and examples/s of each loop
  orbit_prints_to_log  orbit's controller prints its progress dicts; jobs
                       send them to the INFO log instead of stdout
"""

import contextlib
import io
import math
import time

from absl import logging
import orbit
import tensorflow as tf
import tf_keras

from albert_tf.errors import UserError


class TrainingDivergedError(UserError, RuntimeError):
  """The loss became NaN or infinite; no checkpoint of that state is kept."""


def _is_loss_scaled(optimizer):
  return isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer)


def loss_and_gradients(compute_loss, variables, optimizer):
  """(loss, extras, gradients) of compute_loss() → (loss, extras).

  `loss` is this replica's share of the global-batch loss (the replicas'
  shares sum to the loss of the whole batch, and so do their gradients when
  the optimizer sums them across replicas).
  """
  with tf.GradientTape() as tape:
    loss, extras = compute_loss()
    scaled_loss = loss
    if _is_loss_scaled(optimizer):
      scaled_loss = optimizer.get_scaled_loss(loss)
  gradients = tape.gradient(scaled_loss, variables)
  if _is_loss_scaled(optimizer):
    gradients = optimizer.get_unscaled_gradients(gradients)
  return loss, extras, gradients


def apply_connected_gradients(optimizer, gradients, variables):
  """Applies the gradients, leaving out variables the loss does not reach.

  The original's optimizers skip a None gradient; so does Keras, but with a
  "Gradients do not exist" warning per step. Fine-tuning a tagger or SQuAD
  never reaches the pooler, so the warning would be noise, not news.
  """
  pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
  return optimizer.apply_gradients(pairs)


class StrategyTrainer(orbit.StandardTrainer):
  """An orbit trainer of `model` with `optimizer` over `strategy`.

  Subclasses implement train_step (calling strategy.run) and update
  `self.train_metrics` (tf_keras Means, created here in the strategy's
  scope) from the replicas; `loss_metrics` name the ones that must stay
  finite. train_loop_end returns the loop's means plus learning_rate and
  examples_per_second.
  """

  def __init__(self, strategy, model, optimizer, global_batch_size,
               train_metric_names, loss_metrics, train_dataset=None,
               divergence_hint=""):
    self.strategy = strategy
    self.model = model
    self.optimizer = optimizer
    self.global_batch_size = global_batch_size
    self.loss_metrics = tuple(loss_metrics)
    self.divergence_hint = divergence_hint
    with strategy.scope():
      self.train_metrics = {name: tf_keras.metrics.Mean(name, dtype=tf.float32)
                            for name in train_metric_names}
    self._loop_started = None
    self.last_train_output = {}
    orbit.StandardTrainer.__init__(
        self, train_dataset,
        options=orbit.StandardTrainerOptions(use_tf_while_loop=True))

  def train_loop_begin(self):
    for metric in self.train_metrics.values():
      metric.reset_states()
    self._loop_started = (time.perf_counter(),
                          int(self.optimizer.iterations.numpy()))

  def train_loop_end(self):
    output = {name: float(metric.result().numpy())
              for name, metric in self.train_metrics.items()}
    step = int(self.optimizer.iterations.numpy())
    if not all(math.isfinite(output[name]) for name in self.loss_metrics):
      values = ", ".join(f"{name}={output[name]}"
                         for name in self.loss_metrics)
      raise TrainingDivergedError(
          f"the loss is not finite at step {step} ({values}); the last good "
          f"checkpoint is kept. {self.divergence_hint}".rstrip())
    output["learning_rate"] = float(self.current_learning_rate())
    started, first_step = self._loop_started
    seconds = max(time.perf_counter() - started, 1e-9)
    output["examples_per_second"] = (
        (step - first_step) * self.global_batch_size / seconds)
    self.last_train_output = output
    return output

  def current_learning_rate(self):
    optimizer = self.optimizer
    if _is_loss_scaled(optimizer):
      optimizer = optimizer.inner_optimizer
    # tf_keras reports the rate the latest step used.
    rate = optimizer.learning_rate
    return rate.numpy() if hasattr(rate, "numpy") else rate


class _ToInfoLog(io.TextIOBase):
  """Sends what orbit prints (multi-line dicts) to the INFO log instead."""

  def write(self, text):
    if text.strip():
      logging.info(text.rstrip())
    return len(text)


def orbit_prints_to_log():
  """A context in which stdout (orbit's progress prints) goes to the log."""
  return contextlib.redirect_stdout(_ToInfoLog())
