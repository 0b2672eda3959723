"""Gradient accumulation: one optimizer step over K micro-batches.

`accumulate_gradients(fn, batch, K)` splits every tensor of `batch` along
its first axis into K equal micro-batches, runs `fn` on each in a
tf.while_loop and returns the sums of its gradients and outputs. Only one
micro-batch's activations are alive at a time, so peak activation memory
drops about K-fold while the step computes the same numbers as the full
batch, provided `fn` returns each micro-batch's SHARE of the full-batch
loss: a loss normalised by a full-batch quantity (the global batch size,
the global sum of weights) computed before the split, not by the
micro-batch's own size. Then Σ_k ∇share_k = ∇loss exactly (up to the order
of the float additions), and the caller clips and applies the sum once.

The piece knows nothing of pretraining, strategies or optimizers: any
training loop that computes `(gradients, outputs)` of a batch can use it
inside its replica step, e.g.

    def micro_step(micro_batch):
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(per_example_loss(model, micro_batch)) / (
            global_batch_size)
      return tape.gradient(loss, model.trainable_variables), {"loss": loss}

    gradients, outputs = accumulate_gradients(
        micro_step, batch, num_micro_batches,
        variables=model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
"""

import tensorflow as tf

from albert_tf.errors import FlagError
from albert_tf.modeling.layers import seeded_dropout


class AccumulationError(FlagError):
  """The batch cannot be split into the requested number of micro-batches."""


def check_divisible(global_batch_size, num_micro_batches, num_replicas=1,
                    flag_name="train_batch_size"):
  """Raises AccumulationError unless the global batch splits evenly into
  `num_replicas` × `num_micro_batches` equal micro-batches."""
  if num_micro_batches < 1:
    raise AccumulationError(
        f"--gradient_accumulation_steps must be at least 1, got "
        f"{num_micro_batches}")
  if global_batch_size % (num_micro_batches * num_replicas):
    raise AccumulationError(
        f"--{flag_name}={global_batch_size} is not divisible by "
        f"--gradient_accumulation_steps={num_micro_batches} x "
        f"{num_replicas} replica(s) = {num_micro_batches * num_replicas}: "
        "every replica needs K equal micro-batches")


def _split(tensor, num_micro_batches):
  """[B, ...] -> [K, B/K, ...], checking that K divides B."""
  tensor = tf.convert_to_tensor(tensor)
  batch = tensor.shape[0]
  if batch is not None:
    if batch % num_micro_batches:
      raise AccumulationError(
          f"a batch of {batch} examples does not split into "
          f"{num_micro_batches} equal micro-batches")
    micro = batch // num_micro_batches
  else:
    batch = tf.shape(tensor)[0]
    tf.debugging.assert_equal(
        batch % num_micro_batches, 0,
        message="the batch does not split into equal micro-batches")
    micro = batch // num_micro_batches
  shape = tf.concat([[num_micro_batches, micro], tf.shape(tensor)[1:]], 0)
  split = tf.reshape(tensor, shape)
  if isinstance(micro, int):
    split.set_shape([num_micro_batches, micro] + tensor.shape[1:].as_list())
  return split


def _zeros(spec, variable=None):
  """Zeros shaped like a gradient: the variable's, else the traced spec's.

  None for a variable the loss does not reach (its gradient spec is None):
  it stays out of the sums and out of the update, as in the original, whose
  optimizers skip a None gradient (the pooler when fine-tuning a tagger).
  """
  if spec is None:
    return None
  if variable is not None:
    return tf.zeros_like(variable)
  if isinstance(spec, tf.IndexedSlicesSpec):
    shape, dtype = tf.TensorShape(spec._shape), spec._values_dtype  # pylint: disable=protected-access
  else:
    shape, dtype = spec.shape, spec.dtype
  if not shape.is_fully_defined():
    raise ValueError(
        f"accumulate_gradients: a gradient of shape {shape} is not fully "
        "known; pass `variables`")
  return tf.zeros(shape, dtype)


def _dense(gradient, like):
  if gradient is None:
    # Traced as present, yet None on this trace: zeros keep the sum's shape.
    return None if like is None else tf.zeros_like(like)
  if isinstance(gradient, tf.IndexedSlices):
    return tf.convert_to_tensor(gradient)
  return gradient


def accumulate_gradients(fn, batch, num_micro_batches, variables=None):
  """Sums `fn`'s gradients and outputs over K micro-batches of `batch`.

  Args:
    fn: micro_batch -> (gradients, outputs). `micro_batch` has `batch`'s
      structure with 1/K of its rows; `gradients` is a list of tensors (None
      or tf.IndexedSlices allowed); `outputs` any nest of tensors to sum
      (losses, counts of correct predictions, ...: sums, not means).
    batch: a nest of tensors, all with the same leading (batch) dimension,
      which K must divide.
    num_micro_batches: K, a Python int >= 1. K = 1 calls `fn(batch)` once,
      exactly as without accumulation.
    variables: the variables the gradients belong to, in order (optional;
      without them every gradient's shape must be static).

  Returns:
    (gradients, outputs): the sums over the micro-batches. Gradients are
    dense tensors; a None gradient (a variable the loss does not reach)
    stays None.

  `fn` is traced twice: once into a throwaway function to learn the
  structure of what it returns (no compilation, nothing runs), once as the
  body of the loop. The K micro-batches then run one after the other in a
  tf.while_loop (no parallel iterations), so a micro-batch's activations
  are freed before the next one starts.

  Dropout: within a training step's seed scope (seeded_dropout), every
  micro-batch draws its own masks, from the step's seed folded with the
  micro-batch's index: deterministic per step, so a resumed run draws them
  again.
  """
  if num_micro_batches < 1:
    raise AccumulationError(
        f"num_micro_batches must be at least 1, got {num_micro_batches}")
  if num_micro_batches == 1:
    return fn(batch)
  split = tf.nest.map_structure(lambda t: _split(t, num_micro_batches), batch)
  micro_specs = tf.nest.map_structure(
      lambda t: tf.TensorSpec(t.shape[1:], t.dtype), split)
  def micro_batch_fn(micro_batch, index):
    with seeded_dropout.fold(index):
      return fn(micro_batch)

  gradient_specs, output_specs = tf.function(
      lambda micro_batch: micro_batch_fn(micro_batch, 0), autograph=False
  ).get_concrete_function(micro_specs).structured_outputs
  if variables is not None:
    variables = list(variables)
    if len(variables) != len(gradient_specs):
      raise ValueError(
          f"accumulate_gradients: fn returned {len(gradient_specs)} "
          f"gradients for {len(variables)} variables")
  else:
    variables = [None] * len(gradient_specs)
  zero_gradients = [_zeros(spec, v) for spec, v in zip(gradient_specs,
                                                       variables)]
  present = [i for i, g in enumerate(zero_gradients) if g is not None]
  zero_outputs = tf.nest.map_structure(
      lambda spec: tf.zeros(spec.shape, spec.dtype), output_specs)

  def body(index, gradient_sums, output_sums):
    micro_batch = tf.nest.map_structure(lambda t: t[index], split)
    gradients, outputs = micro_batch_fn(micro_batch, index)
    gradients = [_dense(gradients[i], variables[i]) for i in present]
    gradient_sums = [s + tf.cast(g, s.dtype)
                     for s, g in zip(gradient_sums, gradients)]
    output_sums = tf.nest.map_structure(lambda s, o: s + tf.cast(o, s.dtype),
                                        output_sums, outputs)
    return index + 1, gradient_sums, output_sums

  _, gradient_sums, output_sums = tf.while_loop(
      lambda index, *_: index < num_micro_batches, body,
      (tf.constant(0), [zero_gradients[i] for i in present], zero_outputs),
      parallel_iterations=1, maximum_iterations=num_micro_batches)
  gradients = [None] * len(zero_gradients)
  for i, total in zip(present, gradient_sums):
    gradients[i] = total
  return gradients, output_sums
