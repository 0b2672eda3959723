"""The original TF1 pretraining graph, rebuilt with tf.compat.v1 for timing.

The original release (modeling.py, run_pretraining.py, optimization.py,
lamb_optimizer.py) needs TensorFlow 1.15 and tf.contrib, which have no wheels
for Python 3.11. This module builds the same graph with the same kinds of ops
under tf.compat.v1 — variables from `get_variable` under the original scopes,
einsum projections to heads, a [B, 1, F, T] mask adder, contrib-style layer
norm (moments + batch_normalization, epsilon 1e-12), MLM/SOP heads with
one-hot losses, `tf.gradients`, clipping, the original LAMB/AdamW written as
per-variable assign ops and `polynomial_decay` + warmup — and runs it the way
the original runs off TPU: one `Session.run(train_op)` per step, input from
a tf.data iterator inside the graph.

It is a baseline for `benchmarks.pretraining_benchmark`, not a product path.
tests/tf1_reference_graph_test.py restores the reference checkpoints (made
by the original code) into it by name and checks its outputs against the
golden ones, so the graph being timed is the original's computation.
Google flavor only (albert_zh's graph is not rebuilt here).
"""

import math

import tensorflow as tf

from albert_tf.training import optimization
from albert_tf.modeling.activations import get_activation

v1 = tf.compat.v1

def _initializer(config):
  return v1.truncated_normal_initializer(stddev=config.initializer_range)


def _layer_norm(x, scope="LayerNorm"):
  with v1.variable_scope(scope):
    width = x.shape[-1]
    beta = v1.get_variable("beta", [width], initializer=v1.zeros_initializer())
    gamma = v1.get_variable("gamma", [width],
                            initializer=v1.ones_initializer())
    mean, variance = tf.nn.moments(x, [-1], keepdims=True)
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, 1e-12)


def _dropout(x, rate):
  return tf.nn.dropout(x, rate=rate) if rate > 0 else x


def _kernel_and_bias(config, in_width, out_width):
  kernel = v1.get_variable("kernel", [in_width, out_width],
                           initializer=_initializer(config))
  bias = v1.get_variable("bias", [out_width],
                         initializer=v1.zeros_initializer())
  return kernel, bias


def _dense(x, config, out_width, scope, activation=None):
  """[B, F, in] -> [B, F, out] with a 2-D kernel, as dense_layer_2d."""
  with v1.variable_scope(scope):
    kernel, bias = _kernel_and_bias(config, x.shape[-1], out_width)
    y = tf.einsum("BFH,HO->BFO", x, kernel) + bias
    return activation(y) if activation else y


def _to_heads(x, config, scope):
  """[B, F, H] -> [B, F, N, D] with the 2-D kernel viewed as [H, N, D]."""
  heads = config.num_attention_heads
  width = config.hidden_size // heads
  with v1.variable_scope(scope):
    kernel, bias = _kernel_and_bias(config, x.shape[-1], config.hidden_size)
    kernel = tf.reshape(kernel, [x.shape[-1], heads, width])
    return (tf.einsum("BFH,HND->BFND", x, kernel) +
            tf.reshape(bias, [heads, width]))


def _attention(x, mask_adder, config, training):
  heads = config.num_attention_heads
  width = config.hidden_size // heads
  with v1.variable_scope("self"):
    query = tf.transpose(_to_heads(x, config, "query"), [0, 2, 1, 3])
    key = tf.transpose(_to_heads(x, config, "key"), [0, 2, 1, 3])
    value = tf.transpose(_to_heads(x, config, "value"), [0, 2, 1, 3])
    scores = tf.matmul(query, key, transpose_b=True) / math.sqrt(width)
    probs = tf.nn.softmax(scores + mask_adder)
    probs = _dropout(probs, config.attention_probs_dropout_prob
                     if training else 0.0)
    context = tf.transpose(tf.matmul(probs, value), [0, 2, 1, 3])
  with v1.variable_scope("output/dense"):
    kernel, bias = _kernel_and_bias(config, config.hidden_size,
                                    config.hidden_size)
    kernel = tf.reshape(kernel, [heads, width, config.hidden_size])
    return tf.einsum("BFND,NDH->BFH", context, kernel) + bias


def _block(x, mask_adder, config, training):
  """One post-LN attention + FFN block (an inner_group)."""
  hidden_dropout = config.hidden_dropout_prob if training else 0.0
  with v1.variable_scope("attention_1"):
    attended = _attention(x, mask_adder, config, training)
  x = _layer_norm(_dropout(attended, hidden_dropout) + x, "LayerNorm")
  with v1.variable_scope("ffn_1/intermediate"):
    inner = _dense(x, config, config.intermediate_size, "dense",
                   get_activation(config.hidden_act))
    outer = _dense(inner, config, config.hidden_size, "output/dense")
  return _layer_norm(_dropout(outer, hidden_dropout) + x, "LayerNorm_1")


def encoder(config, input_ids, input_mask, token_type_ids, training,
            one_hot_token_types=True):
  """Builds scope `bert`; returns (sequence_output, pooled_output, table).

  one_hot_token_types=False looks token types up with tf.gather, as the
  original does with use_one_hot_embeddings=False (its CPU/GPU setting):
  the same values, but a sparse gradient (docs/original_quirks.md).
  """
  seq_length = input_ids.shape[1]
  hidden_dropout = config.hidden_dropout_prob if training else 0.0
  with v1.variable_scope("bert"):
    with v1.variable_scope("embeddings"):
      table = v1.get_variable("word_embeddings",
                              [config.vocab_size, config.embedding_size],
                              initializer=_initializer(config))
      x = tf.gather(table, input_ids)
      types = v1.get_variable("token_type_embeddings",
                              [config.type_vocab_size, config.embedding_size],
                              initializer=_initializer(config))
      if one_hot_token_types:
        one_hot_types = tf.one_hot(tf.reshape(token_type_ids, [-1]),
                                   config.type_vocab_size)
        x += tf.reshape(tf.matmul(one_hot_types, types),
                        [-1, seq_length, config.embedding_size])
      else:
        x += tf.gather(types, token_type_ids)
      positions = v1.get_variable(
          "position_embeddings",
          [config.max_position_embeddings, config.embedding_size],
          initializer=_initializer(config))
      x += tf.slice(positions, [0, 0], [seq_length, -1])[None]
      x = _dropout(_layer_norm(x), hidden_dropout)
    with v1.variable_scope("encoder"):
      if config.embedding_size != config.hidden_size:
        x = _dense(x, config, config.hidden_size, "embedding_hidden_mapping_in")
      # [B, 1, 1, T] adder, broadcast over heads and query positions.
      mask = tf.cast(input_mask[:, None, None, :], tf.float32)
      mask_adder = (1.0 - mask) * -10000.0
      for layer in range(config.num_hidden_layers):
        group = int(layer / config.num_hidden_layers * config.num_hidden_groups)
        with v1.variable_scope(f"transformer/group_{group}",
                               reuse=v1.AUTO_REUSE):
          for inner in range(config.inner_group_num):
            with v1.variable_scope(f"inner_group_{inner}"):
              x = _block(x, mask_adder, config, training)
    with v1.variable_scope("pooler"):
      pooled = _dense(x[:, 0:1], config, config.hidden_size, "dense",
                      tf.tanh)[:, 0]
  return x, pooled, table


def pretraining_losses(config, features, training, one_hot_token_types=True):
  """The original MLM + SOP losses; returns a dict of tensors."""
  sequence, pooled, table = encoder(
      config, features["input_ids"], features["input_mask"],
      features["segment_ids"], training, one_hot_token_types)
  batch, seq_length = features["input_ids"].shape
  with v1.variable_scope("cls/predictions"):
    offsets = tf.range(batch)[:, None] * seq_length
    flat_positions = tf.reshape(features["masked_lm_positions"] + offsets, [-1])
    picked = tf.gather(tf.reshape(sequence, [-1, config.hidden_size]),
                       flat_positions)
    with v1.variable_scope("transform"):
      with v1.variable_scope("dense"):
        kernel, bias = _kernel_and_bias(config, config.hidden_size,
                                        config.embedding_size)
        picked = get_activation(config.hidden_act)(
            tf.matmul(picked, kernel) + bias)
      picked = _layer_norm(picked)
    output_bias = v1.get_variable("output_bias", [config.vocab_size],
                                  initializer=v1.zeros_initializer())
    mlm_log_probs = tf.nn.log_softmax(
        tf.matmul(picked, table, transpose_b=True) + output_bias)
    ids = tf.reshape(features["masked_lm_ids"], [-1])
    weights = tf.reshape(tf.cast(features["masked_lm_weights"], tf.float32),
                         [-1])
    per_example = -tf.reduce_sum(
        mlm_log_probs * tf.one_hot(ids, config.vocab_size), axis=-1)
    mlm_loss = (tf.reduce_sum(weights * per_example) /
                (tf.reduce_sum(weights) + 1e-5))
  with v1.variable_scope("cls/seq_relationship"):
    sop_weights = v1.get_variable("output_weights", [2, config.hidden_size],
                                  initializer=_initializer(config))
    sop_bias = v1.get_variable("output_bias", [2],
                               initializer=v1.zeros_initializer())
    sop_log_probs = tf.nn.log_softmax(
        tf.matmul(pooled, sop_weights, transpose_b=True) + sop_bias)
    labels = tf.reshape(features["next_sentence_labels"], [-1])
    sop_loss = tf.reduce_mean(
        -tf.reduce_sum(sop_log_probs * tf.one_hot(labels, 2), axis=-1))
  return {"sequence_output": sequence, "pooled_output": pooled,
          "mlm_log_probs": mlm_log_probs, "sop_log_probs": sop_log_probs,
          "mlm_loss": mlm_loss, "sop_loss": sop_loss,
          "total_loss": mlm_loss + sop_loss}


def learning_rate(init_lr, num_train_steps, num_warmup_steps,
                  start_warmup_step=0, poly_power=1.0, step=None):
  """polynomial_decay at the global step (or `step`), linear warmup before
  it."""
  if step is None:
    step = v1.train.get_or_create_global_step()
  decayed = v1.train.polynomial_decay(
      init_lr, step, num_train_steps - start_warmup_step,
      end_learning_rate=0.0, power=poly_power, cycle=False)
  if not num_warmup_steps:
    return decayed
  into_warmup = tf.cast(step, tf.float32) - float(start_warmup_step)
  warmup = init_lr * into_warmup / float(num_warmup_steps)
  is_warmup = tf.cast(into_warmup < num_warmup_steps, tf.float32)
  return (1.0 - is_warmup) * decayed + is_warmup * warmup


def _uses(name,
          excluded=optimization.DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY):
  return not any(part in name for part in excluded)


def train_op(loss, lr, optimizer="lamb", **hyperparameters):
  """tf.gradients of `loss` for every trainable variable, then
  apply_gradients."""
  variables = v1.trainable_variables()
  return apply_gradients(tf.gradients(loss, variables), variables, lr,
                         optimizer, **hyperparameters)


def apply_gradients(gradients, variables, lr, optimizer="lamb",
                    weight_decay_rate=0.01, beta_1=0.9, beta_2=0.999,
                    epsilon=1e-6):
  """Clip to global norm 1.0, one LAMB/AdamW update per variable (adam_m /
  adam_v slots, no bias correction), then global_step + 1."""
  gradients, _ = tf.clip_by_global_norm(gradients, 1.0)
  updates = []
  for gradient, variable in zip(gradients, variables):
    # A gather's sparse gradient becomes dense here, as in the original's
    # tf.multiply(1.0 - beta_1, grad); the clipping above saw it sparse.
    gradient = tf.convert_to_tensor(gradient)
    name = variable.op.name
    m = v1.get_variable(name + "/adam_m", variable.shape, tf.float32,
                        trainable=False, initializer=v1.zeros_initializer())
    v = v1.get_variable(name + "/adam_v", variable.shape, tf.float32,
                        trainable=False, initializer=v1.zeros_initializer())
    next_m = beta_1 * m + (1.0 - beta_1) * gradient
    next_v = beta_2 * v + (1.0 - beta_2) * tf.square(gradient)
    update = next_m / (tf.sqrt(next_v) + epsilon)
    if _uses(name):
      update += weight_decay_rate * variable
    ratio = 1.0
    if optimizer == "lamb" and _uses(name):
      w_norm = tf.norm(variable)
      u_norm = tf.norm(update)
      ratio = tf.where(w_norm > 0.0,
                       tf.where(u_norm > 0.0, w_norm / u_norm, 1.0), 1.0)
    updates += [v1.assign(variable, variable - ratio * lr * update),
                v1.assign(m, next_m), v1.assign(v, next_v)]
  step = v1.train.get_or_create_global_step()
  with tf.control_dependencies(updates):
    return v1.assign_add(step, 1)
