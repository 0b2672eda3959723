r"""Times albert_tf against tf-models-official's AlbertEncoder, in one run.

  python -m benchmarks.encoder_benchmark --preset=albert_base_v2 --batch_size=8 \
      --seq_length=128 [--use_xla]

Both sides get the same config, the same random batch, the same activation
and the same training step: MLM + SOP losses (the original formulas), LAMB
with weight decay 0.01 and the original exclusions, gradients clipped to
global norm 1.0. Timed rounds alternate between the two so machine noise
hits both alike; the median round is reported as examples/s.
"""

import statistics
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tf_keras

from albert_tf.training import optimization
from albert_tf import presets
from albert_tf.modeling.activations import get_activation
from albert_tf.modeling.losses import masked_lm_loss
from albert_tf.modeling.losses import sentence_order_loss
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer

FLAGS = flags.FLAGS


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flags.DEFINE_string("preset", None,
                      "A named config (default albert_base_v2).")
  flags.DEFINE_string("albert_config_file", None, "Or an albert_config.json.")
  flags.DEFINE_integer("batch_size", 8, "Examples per step.")
  flags.DEFINE_integer("seq_length", 128, "Tokens per example.")
  flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions.")
  flags.DEFINE_bool("use_xla", False, "Compile the steps with XLA.")
  flags.DEFINE_integer("steps", 5, "Steps per timed round.")
  flags.DEFINE_integer("rounds", 5, "Timed rounds per implementation.")
  flags.DEFINE_bool("compare_model_garden", True,
                    "Also time tf-models-official's AlbertEncoder.")


_NO_DECAY = list(optimization.DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY)


def random_batch(config, batch_size, seq_length, predictions, seed=0):
  rng = np.random.RandomState(seed)
  return {
      "input_word_ids": rng.randint(0, config.vocab_size,
                                    (batch_size, seq_length)).astype(np.int32),
      "input_mask": np.ones((batch_size, seq_length), np.int32),
      "input_type_ids": np.repeat(
          (np.arange(seq_length) >= seq_length // 2)[None].astype(np.int32),
          batch_size, axis=0),
      "masked_lm_positions": np.sort(rng.randint(
          1, seq_length, (batch_size, predictions)), axis=1).astype(np.int32),
      "masked_lm_ids": rng.randint(0, config.vocab_size,
                                   (batch_size, predictions)).astype(np.int32),
      "masked_lm_weights": np.ones((batch_size, predictions), np.float32),
      "sentence_order_labels": rng.randint(0, 2, (batch_size,)).astype(
          np.int32),
  }


def _lamb():
  # pylint: disable=g-import-not-at-top
  from official.modeling.optimization import lamb
  return lamb.LAMB(learning_rate=1e-4, weight_decay_rate=0.01,
                   epsilon=1e-6, exclude_from_weight_decay=_NO_DECAY,
                   exclude_from_layer_adaptation=_NO_DECAY)


def _train_step_fn(model, forward, optimizer, jit_compile):
  """A compiled step: forward, original losses, clipped LAMB update."""

  @tf.function(jit_compile=jit_compile)
  def step(batch):
    with tf.GradientTape() as tape:
      mlm_logits, sop_logits = forward(batch)
      loss = (masked_lm_loss(mlm_logits, batch["masked_lm_ids"],
                             batch["masked_lm_weights"]) +
              sentence_order_loss(sop_logits, batch["sentence_order_labels"]))
    grads = tape.gradient(loss, model.trainable_variables)
    grads, _ = tf.clip_by_global_norm(grads, 1.0)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  return step


def build_albert_tf(config, jit_compile):
  """(forward_fn, train_step_fn) for our encoder and pretrainer."""
  encoder = AlbertEncoder(config)
  pretrainer = AlbertPretrainer(config)
  encoder_keys = ("input_word_ids", "input_mask", "input_type_ids")

  @tf.function(jit_compile=jit_compile)
  def forward(batch):
    outputs = encoder({k: batch[k] for k in encoder_keys}, training=False)
    return outputs["sequence_output"], outputs["pooled_output"]

  def pretrain_forward(batch):
    outputs = pretrainer({k: batch[k] for k in encoder_keys +
                          ("masked_lm_positions",)}, training=True,
                         heads_only=True)
    return outputs["mlm_logits"], outputs["sop_logits"]

  return forward, _train_step_fn(pretrainer, pretrain_forward, _lamb(),
                                 jit_compile)


def _model_garden_activation(name):
  """The config's activation as a plain function Keras can serialize.

  albert_tf's own gelu carries a hand-written gradient (to save memory),
  which Model Garden's get_config cannot serialize; the forward math is
  the same function of x.
  """
  activation = get_activation(name)

  def model_garden_activation(x):
    return activation(x)
  model_garden_activation.__name__ = f"albert_{name}"
  return model_garden_activation


def build_model_garden(config, jit_compile):
  """The same work with official.nlp.modeling's AlbertEncoder + MaskedLM."""
  # pylint: disable=g-import-not-at-top
  from official.nlp.modeling import layers as mg_layers
  from official.nlp.modeling import networks as mg_networks

  def make_encoder():
    return mg_networks.AlbertEncoder(
        vocab_size=config.vocab_size,
        embedding_width=config.embedding_size,
        hidden_size=config.hidden_size,
        num_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        max_sequence_length=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
        intermediate_size=config.intermediate_size,
        activation=_model_garden_activation(config.hidden_act),
        dropout_rate=config.hidden_dropout_prob,
        attention_dropout_rate=config.attention_probs_dropout_prob,
        initializer=tf_keras.initializers.TruncatedNormal(
            stddev=config.initializer_range),
        dict_outputs=True)

  def encoder_inputs(batch):
    return dict(input_word_ids=batch["input_word_ids"],
                input_mask=batch["input_mask"],
                input_type_ids=batch["input_type_ids"])

  encoder = make_encoder()

  @tf.function(jit_compile=jit_compile)
  def forward(batch):
    outputs = encoder(encoder_inputs(batch), training=False)
    return outputs["sequence_output"], outputs["pooled_output"]

  train_encoder = make_encoder()
  masked_lm = mg_layers.MaskedLM(
      embedding_table=train_encoder.get_embedding_table(),
      activation=_model_garden_activation(config.hidden_act), output="logits")
  sop = tf_keras.layers.Dense(2)
  sop.build([None, config.hidden_size])
  masked_lm.build([None, None, config.hidden_size])
  # A container so the step sees one model's trainable_variables.
  pretrainer = tf_keras.Model()
  pretrainer.parts = [train_encoder, masked_lm, sop]

  def pretrain_forward(batch):
    outputs = train_encoder(encoder_inputs(batch), training=True)
    mlm_logits = masked_lm(outputs["sequence_output"],
                           masked_positions=batch["masked_lm_positions"])
    return mlm_logits, sop(outputs["pooled_output"])

  return forward, _train_step_fn(pretrainer, pretrain_forward, _lamb(),
                                 jit_compile)


def _time_round(fn, batch, steps):
  start = time.perf_counter()
  for _ in range(steps):
    result = fn(batch)
  tf.nest.map_structure(lambda t: t.numpy(), result)  # Wait for the last.
  return steps / (time.perf_counter() - start)


def run(config, batch_size, seq_length, predictions, use_xla, steps, rounds,
        compare_model_garden):
  """Returns {(implementation, work): median examples/s}."""
  batch = {k: tf.constant(v) for k, v in random_batch(
      config, batch_size, seq_length, predictions).items()}
  builders = {"albert_tf": build_albert_tf}
  if compare_model_garden:
    builders["model_garden"] = build_model_garden
  fns = {}
  for impl, builder in builders.items():
    forward, train = builder(config, use_xla)
    fns[(impl, "forward")] = forward
    fns[(impl, "train_step")] = train
  for fn in fns.values():  # Trace, compile and warm up before timing.
    _time_round(fn, batch, 2)
  samples = {key: [] for key in fns}
  for _ in range(rounds):
    for key, fn in fns.items():
      samples[key].append(batch_size * _time_round(fn, batch, steps))
  return {key: statistics.median(v) for key, v in samples.items()}


def format_results(results, title):
  lines = [title, f"{'':12s}{'albert_tf':>14s}{'model_garden':>14s}"
                  f"{'ratio':>8s}   (examples/s, median)"]
  for work in ("forward", "train_step"):
    ours = results[("albert_tf", work)]
    theirs = results.get(("model_garden", work))
    if theirs:
      lines.append(f"{work:12s}{ours:14.2f}{theirs:14.2f}{ours / theirs:8.2f}")
    else:
      lines.append(f"{work:12s}{ours:14.2f}{'-':>14s}{'-':>8s}")
  return "\n".join(lines)


def main(argv):
  del argv
  preset = FLAGS.preset
  if not preset and not FLAGS.albert_config_file:
    preset = "albert_base_v2"
  try:
    config = presets.load_config(FLAGS.albert_config_file, preset)
  except ValueError as e:
    raise app.UsageError(str(e)) from e
  if config.flavor != "google" and FLAGS.compare_model_garden:
    raise app.UsageError("Model Garden has no albert_zh flavor; pass "
                         "--nocompare_model_garden")
  if config.num_hidden_groups != 1 or config.inner_group_num != 1:
    if FLAGS.compare_model_garden:
      raise app.UsageError("Model Garden's AlbertEncoder shares one block; "
                           "pass --nocompare_model_garden for this config")
  results = run(config, FLAGS.batch_size, FLAGS.seq_length,
                FLAGS.max_predictions_per_seq, FLAGS.use_xla, FLAGS.steps,
                FLAGS.rounds, FLAGS.compare_model_garden)
  title = (f"{preset or FLAGS.albert_config_file}: batch {FLAGS.batch_size}, "
           f"seq {FLAGS.seq_length}, XLA {'on' if FLAGS.use_xla else 'off'}, "
           f"{FLAGS.rounds} rounds x {FLAGS.steps} steps, "
           f"device {tf.config.list_logical_devices()[-1].device_type}")
  print(format_results(results, title))


if __name__ == "__main__":
  define_flags()
  app.run(main)
