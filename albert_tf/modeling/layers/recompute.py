"""Activation recomputation (rematerialisation) for the transformer block.

Training keeps every intermediate activation of every layer for the
backward pass; ALBERT runs its one shared block num_hidden_layers times, so
those activations, not the weights, dominate its memory. Recomputation keeps
less and runs the forward pass again during the backward pass
(tf.recompute_grad):

  none       keep everything (the default; the fastest).
  attention  recompute the attention core — scores, softmax, dropout and
             the weighted sum: the [batch, heads, seq, seq] tensors, which
             grow with the square of the sequence length.
  block      keep only each block's input and recompute the whole block
             (attention and feed-forward) in the backward pass: the least
             memory, about one more forward pass of compute.

Dropout and recomputation: the recomputed forward pass must drop the same
units as the first one, or the gradients are those of another network.
So a training block draws ONE seed per call, OUTSIDE the recomputed
function, and passes it in; each dropout site derives its own seed from it
(stateless_fold_in) and both passes draw the same mask. In our trainers the
seed comes from the step's seed scope (seeded_dropout.py: a function of the
run seed, step, replica, micro-batch and call, so that resuming draws it
again too), in every recompute mode: recomputation then changes neither
the masks nor the gradients. Outside a scope (user code calling the model
with training=True), recomputing blocks draw the call's seed statefully.
"""

import tensorflow as tf

from albert_tf.errors import UserError
from albert_tf.modeling.layers import seeded_dropout
# Re-exported: the blocks' dropout sites use it.
from albert_tf.modeling.layers.seeded_dropout import stateless_dropout  # pylint: disable=unused-import

RECOMPUTE_MODES = ("none", "attention", "block")

# Dropout sites of a block, each with its own seed derived from the call's.
ATTENTION_PROBS_SITE = 0
ATTENTION_OUTPUT_SITE = 1
FFN_OUTPUT_SITE = 2


class RecomputeModeError(UserError, ValueError):
  """recompute_activations is not one of RECOMPUTE_MODES."""


def check_recompute_mode(mode):
  """Returns `mode` if valid, else raises RecomputeModeError."""
  if mode not in RECOMPUTE_MODES:
    raise RecomputeModeError(
        f"recompute_activations={mode!r}; expected one of "
        f"{', '.join(RECOMPUTE_MODES)}")
  return mode


def new_dropout_seed():
  """A fresh [2] int32 seed for one block call (a stateful draw), for
  recomputing blocks trained outside a seed scope."""
  return tf.random.uniform([2], minval=0, maxval=2**31 - 1, dtype=tf.int32)


def block_dropout_seed(recompute_mode):
  """The seed of a training block call's dropout: the seed scope's next
  one, else (recomputing blocks only) a stateful draw, else None (Keras'
  dropout)."""
  seed = seeded_dropout.next_seed()
  if seed is None and recompute_mode != "none":
    seed = new_dropout_seed()
  return seed


def recompute(fn, *tensors):
  """fn(*tensors), with its activations recomputed in the backward pass.

  `tensors` are the differentiable inputs; anything else (masks, seeds,
  indices, training) must be closed over by `fn`.
  """
  return tf.recompute_grad(fn)(*tensors)
