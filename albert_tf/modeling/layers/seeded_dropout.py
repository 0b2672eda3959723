"""Dropout masks that a resumed training run draws again exactly.

Keras' Dropout draws from a stateful random generator whose state no
checkpoint holds: a run resumed from step N draws other masks than the run
that went on from step N, so the two end up in different places (up to
0.05 apart in the weights after a few steps of a tiny model). Here, during
training, every mask is instead a pure function of

  (run seed, global step, replica, micro-batch, dropout call, site)

through stateless random ops. Nothing needs saving: the seed is a setting
(run manifests refuse another one on resume) and the global step is in
every checkpoint. So a resumed run draws the masks the uninterrupted run
drew, on any number of replicas, with gradient accumulation, and with
activation recomputation, whose second forward pass needs the first
pass's masks (see recompute.py).

How: the training step opens a `step_scope(seed, step)` around the forward
and backward pass of each replica; accumulate_gradients folds in the
micro-batch (`fold`); within a scope each dropout CALL takes the next seed
of the scope (`next_seed`: the scope's seed folded with a call counter,
counted while the step is traced: the same calls in the same order on
every run). A transformer block takes one seed per call and derives one
per dropout site from it, outside any recomputed function.

Outside a scope (a model called with training=True by user code, Keras
fit) `Dropout` is Keras' Dropout, as before. Inference never drops
anything, so its outputs do not change.
"""

import contextlib
import threading

import tensorflow as tf
import tf_keras

_scopes = threading.local()  # A stack per thread: MirroredStrategy runs
# each replica's step in a thread of its own.


class _Scope:
  """A seed and the number of dropout calls that took a seed from it."""

  def __init__(self, seed):
    self.seed = seed
    self.calls = 0


def _stack():
  if not hasattr(_scopes, "stack"):
    _scopes.stack = []
  return _scopes.stack


def _fold_in(seed, data):
  return tf.random.experimental.stateless_fold_in(
      seed, tf.cast(data, tf.int64))


@contextlib.contextmanager
def seed_scope(seed):
  """Within: training dropout draws stateless masks from `seed` ([2] int)."""
  stack = _stack()
  stack.append(_Scope(tf.cast(seed, tf.int64)))
  try:
    yield
  finally:
    stack.pop()


def step_seed(seed, step):
  """The [2] int64 seed of one replica's training step.

  seed: the run's seed (a Python int); step: the global step (the
  optimizer's iterations before the update). The replica's id in the sync
  group is folded in: replicas drop different units of their examples.
  """
  key = tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])
  context = tf.distribute.get_replica_context()
  if context is not None:
    key = _fold_in(key, context.replica_id_in_sync_group)
  return key


def step_scope(seed, step):
  """seed_scope(step_seed(seed, step)): what a replica's train step opens."""
  return seed_scope(step_seed(seed, step))


@contextlib.contextmanager
def fold(data):
  """Within: a sub-stream of the current scope for `data` (e.g. the index
  of a micro-batch), with its own call counter; nothing outside a scope."""
  stack = _stack()
  if not stack:
    yield
    return
  stack.append(_Scope(_fold_in(stack[-1].seed, data)))
  try:
    yield
  finally:
    stack.pop()


def next_seed():
  """The seed of the next dropout call in the current scope, or None."""
  stack = _stack()
  if not stack:
    return None
  scope = stack[-1]
  scope.calls += 1
  return _fold_in(scope.seed, scope.calls)


def stateless_dropout(x, rate, seed, site=None):
  """Dropout whose mask is a pure function of (seed, site) and the shape."""
  if not rate:
    return x
  if site is not None:
    seed = _fold_in(seed, site)
  return tf.nn.experimental.stateless_dropout(x, rate=rate, seed=seed)


@tf_keras.utils.register_keras_serializable(package="albert_tf")
class Dropout(tf_keras.layers.Dropout):
  """Keras' Dropout, drawing its training masks from the seed scope.

  Within a scope (the training steps of our trainers) the mask is
  stateless, so a resumed run draws it again; otherwise (and with a
  noise_shape, which our layers do not use), Keras' own.
  """

  def call(self, inputs, training=None):
    if training is True and self.rate and self.noise_shape is None:
      seed = next_seed()
      if seed is not None:
        return stateless_dropout(inputs, self.rate, seed)
    return super().call(inputs, training=training)
