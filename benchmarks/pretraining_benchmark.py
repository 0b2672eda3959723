r"""Pretraining speed, in one run: albert_tf against its two peers.

  python -m benchmarks.pretraining_benchmark --preset=albert_base_v2 \
      --batch_size=8 --seq_length=128 --xla=off,on

Times full pretraining steps — TFRecords in the original format through
each implementation's own input pipeline, MLM + SOP losses, LAMB with weight
decay 0.01, clipping to global norm 1.0, warmup + polynomial decay — for:

- albert_tf: what `run_pretraining` runs (PretrainingTrainer: orbit loop of
  --steps_per_loop steps per tf.function call, AlbertPretrainer, the
  original LAMB, our input pipeline); XLA as `--use_xla` compiles it.
- model_garden: tf-models-official's BERT/ALBERT pretrainer as its
  `train.py` builds it (official.core.base_trainer.Trainer + MaskedLMTask:
  BertPretrainerV2 over networks.AlbertEncoder, its LAMB and schedule from
  official.modeling.optimization, its pretraining data loader). XLA as its
  trainer does it (runtime.enable_xla compiles the task's train_step).
- tf1_original: the original TF1 graph rebuilt under tf.compat.v1
  (benchmarks.tf1_reference_graph), one Session.run per step as the original
  runs off TPU. XLA: the session's auto-clustering (global_jit_level ON_1;
  the original has no XLA switch of its own).

All start from random weights (speed does not depend on them) and read the
same generated records. Rounds alternate between the implementations so
machine noise hits all alike; the median round is reported in examples/s.
"""

import dataclasses
import os
import statistics
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from albert_tf.training import optimization
from albert_tf import presets
from benchmarks import tf1_reference_graph
from albert_tf.checkpoints import tf1_variable_map
from albert_tf.modeling import AlbertPretrainer
from albert_tf.pretraining_data.tfrecord_features import feature_spec
from albert_tf.pretraining_data.input_pipeline import decode_record
from albert_tf.pretraining_data.input_pipeline import pretraining_dataset
from albert_tf.training.pretraining_trainer import PretrainingTrainer

IMPLEMENTATIONS = ("albert_tf", "model_garden", "tf1_original")
# The original's pretraining hyperparameters (docs/original_quirks.md, "Pretraining").
LEARNING_RATE = 0.00176
NUM_WARMUP_STEPS = 3125
NUM_TRAIN_STEPS = 125000
_NO_DECAY = list(optimization.DEFAULT_EXCLUDE_FROM_WEIGHT_DECAY)


def define_flags():
  flags.DEFINE_string("preset", None,
                      "A named config (default albert_base_v2).")
  flags.DEFINE_string("albert_config_file", None, "Or an albert_config.json.")
  flags.DEFINE_integer("batch_size", 8, "Examples per step.")
  flags.DEFINE_integer("seq_length", 128, "Tokens per example.")
  flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions.")
  flags.DEFINE_list("xla", ["off", "on"], "XLA settings to time: off, on.")
  flags.DEFINE_list("implementations", list(IMPLEMENTATIONS),
                    "Which of albert_tf, model_garden, tf1_original to time.")
  flags.DEFINE_integer("steps_per_loop", 3,
                       "Steps per timed round (iterations_per_loop).")
  flags.DEFINE_integer("rounds", 3, "Timed rounds per implementation.")
  flags.DEFINE_integer("warmup_loops", 1,
                       "Untimed loops first (tracing, XLA compilation).")


# -- data --------------------------------------------------------------------


def write_records(path, config, num_examples, seq_length, predictions,
                  seed=0):
  """Random examples with the original pretraining features."""
  rng = np.random.RandomState(seed)
  spec = feature_spec(seq_length, predictions)
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(num_examples):
      length = rng.randint(seq_length // 2, seq_length + 1)
      split = rng.randint(1, length - 1)
      values = {
          "input_ids": list(rng.randint(5, config.vocab_size, length)) +
                       [0] * (seq_length - length),
          "input_mask": [1] * length + [0] * (seq_length - length),
          "segment_ids": [0] * split + [1] * (length - split) +
                         [0] * (seq_length - length),
          "token_boundary": [1] * length + [0] * (seq_length - length),
          "masked_lm_positions": sorted(rng.choice(
              np.arange(1, length), predictions, replace=False)),
          "masked_lm_ids": list(rng.randint(5, config.vocab_size,
                                            predictions)),
          "masked_lm_weights": [1.0] * predictions,
          "next_sentence_labels": [rng.randint(2)],
      }
      feature = {}
      for name, value in values.items():
        if spec[name].dtype == tf.float32:
          feature[name] = tf.train.Feature(
              float_list=tf.train.FloatList(value=value))
        else:
          feature[name] = tf.train.Feature(
              int64_list=tf.train.Int64List(value=[int(v) for v in value]))
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())
  return path


@dataclasses.dataclass
class Setup:
  config: object
  records: str
  batch_size: int
  seq_length: int
  predictions: int


# -- the three implementations -------------------------------------------------
# Each builder returns (run_loop(steps) -> last loss, count_parameters()); the
# count is read after the first loop (Keras builds models on first call).


def build_albert_tf(setup, use_xla):
  strategy = tf.distribute.get_strategy()
  with strategy.scope():
    model = AlbertPretrainer(setup.config)
    model({"input_word_ids": tf.zeros([1, setup.seq_length], tf.int32),
           "input_mask": tf.ones([1, setup.seq_length], tf.int32),
           "input_type_ids": tf.zeros([1, setup.seq_length], tf.int32),
           "masked_lm_positions": tf.zeros([1, setup.predictions], tf.int32)})
    names = {v.ref(): name for name, v in tf1_variable_map(model).items()}
    optimizer = optimization.create_optimizer(
        "lamb", LEARNING_RATE, NUM_TRAIN_STEPS, NUM_WARMUP_STEPS,
        variable_names=names)
    optimizer.build(model.trainable_variables)

  def dataset_fn(context):
    return pretraining_dataset(
        setup.records, setup.batch_size, setup.seq_length, setup.predictions,
        is_training=True, input_context=context, seed=0)

  trainer = PretrainingTrainer(strategy, model, optimizer, setup.batch_size,
                               train_dataset_fn=dataset_fn, use_xla=use_xla)

  def run_loop(steps):
    # train_loop_end reads the metrics back: the loop has finished.
    return trainer.train(tf.constant(steps))["total_loss"]

  return run_loop, model.count_params


def build_model_garden(setup, use_xla):
  # pylint: disable=g-import-not-at-top
  from official.core import base_trainer
  from official.core import config_definitions as cfg
  from official.modeling import optimization as mg_optimization
  from official.nlp.configs import bert
  from official.nlp.configs import encoders
  from official.nlp.data import pretrain_dataloader
  from official.nlp.tasks import masked_lm

  config = setup.config
  encoder = encoders.EncoderConfig(type="albert", albert=encoders.AlbertEncoderConfig(
      vocab_size=config.vocab_size, embedding_width=config.embedding_size,
      hidden_size=config.hidden_size, num_layers=config.num_hidden_layers,
      num_attention_heads=config.num_attention_heads,
      hidden_activation="gelu", intermediate_size=config.intermediate_size,
      dropout_rate=config.hidden_dropout_prob,
      attention_dropout_rate=config.attention_probs_dropout_prob,
      max_position_embeddings=config.max_position_embeddings,
      type_vocab_size=config.type_vocab_size,
      initializer_range=config.initializer_range))
  task_config = masked_lm.MaskedLMConfig(
      model=bert.PretrainerConfig(
          encoder=encoder,
          cls_heads=[bert.ClsHeadConfig(
              inner_dim=config.hidden_size, num_classes=2,
              dropout_rate=config.hidden_dropout_prob,
              name="next_sentence")]),
      train_data=pretrain_dataloader.BertPretrainDataConfig(
          input_path=setup.records, global_batch_size=setup.batch_size,
          seq_length=setup.seq_length,
          max_predictions_per_seq=setup.predictions,
          use_next_sentence_label=True, is_training=True, seed=0))
  optimizer_config = mg_optimization.OptimizationConfig({
      "optimizer": {"type": "lamb", "lamb": {
          "weight_decay_rate": 0.01, "epsilon": 1e-6,
          "exclude_from_weight_decay": _NO_DECAY,
          "exclude_from_layer_adaptation": _NO_DECAY,
          "global_clipnorm": 1.0}},
      "learning_rate": {"type": "polynomial", "polynomial": {
          "initial_learning_rate": LEARNING_RATE,
          "decay_steps": NUM_TRAIN_STEPS, "end_learning_rate": 0.0}},
      "warmup": {"type": "polynomial", "polynomial": {
          "warmup_steps": NUM_WARMUP_STEPS, "power": 1.0}}})
  experiment = cfg.ExperimentConfig(
      task=task_config,
      trainer=cfg.TrainerConfig(optimizer_config=optimizer_config,
                                train_tf_while_loop=True,
                                train_tf_function=True),
      # base_trainer compiles train_step with XLA only when it also sees
      # GPUs; num_gpus is read nowhere else, so this is its XLA switch.
      runtime=cfg.RuntimeConfig(enable_xla=use_xla,
                                num_gpus=1 if use_xla else 0))
  task = masked_lm.MaskedLMTask(task_config)
  model = task.build_model()
  factory = mg_optimization.OptimizerFactory(optimizer_config)
  optimizer = factory.build_optimizer(factory.build_learning_rate())
  trainer = base_trainer.Trainer(experiment, task, model=model,
                                 optimizer=optimizer, train=True,
                                 evaluate=False)

  def run_loop(steps):
    logs = trainer.train(tf.constant(steps))
    return float(np.asarray(logs["training_loss"]))

  return run_loop, model.count_params


def build_tf1_original(setup, use_xla):
  v1 = tf.compat.v1
  graph = tf.Graph()
  with graph.as_default():
    v1.set_random_seed(0)
    dataset = tf.data.TFRecordDataset(setup.records).repeat().shuffle(100, seed=0)
    dataset = dataset.map(
        lambda r: decode_record(r, setup.seq_length, setup.predictions),
        num_parallel_calls=tf.data.AUTOTUNE).batch(
            setup.batch_size, drop_remainder=True).prefetch(2)
    features = v1.data.make_one_shot_iterator(dataset).get_next()
    losses = tf1_reference_graph.pretraining_losses(setup.config, features,
                                                    training=True)
    parameters = int(sum(np.prod(v.shape) for v in v1.trainable_variables()))
    rate = tf1_reference_graph.learning_rate(
        LEARNING_RATE, NUM_TRAIN_STEPS, NUM_WARMUP_STEPS)
    step = tf1_reference_graph.train_op(losses["total_loss"], rate, "lamb")
    initialize = v1.global_variables_initializer()
  session_config = v1.ConfigProto()
  if use_xla:
    session_config.graph_options.optimizer_options.global_jit_level = (
        v1.OptimizerOptions.ON_1)
  session = v1.Session(graph=graph, config=session_config)
  session.run(initialize)
  if use_xla and not _runs_xla_clusters(session, step):
    raise RuntimeError(
        "XLA auto-clustering is not active in this process, so the TF1 graph "
        "would run without XLA: TF_XLA_FLAGS must hold --tf_xla_cpu_global_jit "
        "before TensorFlow first uses XLA (run the benchmark as a program: "
        "python -m benchmarks.pretraining_benchmark)")

  def run_loop(steps):
    for _ in range(steps):
      # The original fetches the loss every step (logging hooks).
      _, loss = session.run([step, losses["total_loss"]])
    return float(loss)

  return run_loop, lambda: int(parameters)


def _runs_xla_clusters(session, fetch):
  """Runs `fetch` once, traced; True when compiled XLA clusters ran."""
  v1 = tf.compat.v1
  metadata = v1.RunMetadata()
  session.run(fetch, options=v1.RunOptions(
      trace_level=v1.RunOptions.FULL_TRACE), run_metadata=metadata)
  return any(node.node_name.endswith("xla_run")
             for device in metadata.step_stats.dev_stats
             for node in device.node_stats)


BUILDERS = {"albert_tf": build_albert_tf, "model_garden": build_model_garden,
            "tf1_original": build_tf1_original}


_CPU_AUTOCLUSTERING = "--tf_xla_cpu_global_jit"


def restart_with_cpu_autoclustering():
  """The TF1 session's XLA auto-clustering stays off on CPU unless
  TF_XLA_FLAGS holds --tf_xla_cpu_global_jit when TensorFlow starts, so the
  program re-executes itself once with it. tf.functions are not affected:
  their jit level stays off unless they ask for jit_compile."""
  current = os.environ.get("TF_XLA_FLAGS", "")
  if _CPU_AUTOCLUSTERING in current:
    return
  os.environ["TF_XLA_FLAGS"] = f"{current} {_CPU_AUTOCLUSTERING}".strip()
  sys.stdout.flush()
  os.execv(sys.executable,
           [sys.executable, "-m", "benchmarks.pretraining_benchmark",
            *sys.argv[1:]])


# -- timing ------------------------------------------------------------------


def run(config, batch_size, seq_length, predictions, implementations,
        xla_settings, steps_per_loop, rounds, warmup_loops=1,
        print_fn=None):
  """Returns {(implementation, xla): {"examples_per_s", "loss", "params"}}."""
  print_fn = print_fn or (lambda line: print(line, flush=True))
  for name in implementations:
    if name not in BUILDERS:
      raise ValueError(f"unknown implementation {name!r}; expected one of "
                       f"{', '.join(IMPLEMENTATIONS)}")
  with tempfile.TemporaryDirectory() as tmp:
    # Enough records that each round reads fresh examples.
    records = write_records(
        os.path.join(tmp, "pretraining.tfrecord"), config,
        max(64, 4 * batch_size), seq_length, predictions)
    setup = Setup(config, records, batch_size, seq_length, predictions)
    loops, params = {}, {}
    for xla in xla_settings:
      for name in implementations:
        key = (name, xla)
        started = time.perf_counter()
        loops[key], params[key] = BUILDERS[name](setup, xla)
        for _ in range(max(1, warmup_loops)):
          loops[key](steps_per_loop)
        params[key] = params[key]()
        print_fn(f"built and warmed up {name} (XLA {'on' if xla else 'off'}) "
                 f"in {time.perf_counter() - started:.0f} s")
    samples = {key: [] for key in loops}
    losses = {}
    for round_index in range(rounds):
      for key, run_loop in loops.items():
        started = time.perf_counter()
        losses[key] = run_loop(steps_per_loop)
        seconds = time.perf_counter() - started
        samples[key].append(steps_per_loop * batch_size / seconds)
      print_fn(f"round {round_index + 1}/{rounds} done")
  return {key: {"examples_per_s": statistics.median(samples[key]),
                "loss": losses[key], "params": params[key]}
          for key in loops}


def format_results(results, title):
  lines = [title,
           f"{'implementation':16s}{'XLA':>5s}{'examples/s':>12s}"
           f"{'vs albert_tf':>14s}{'parameters':>13s}{'last loss':>11s}"]
  for (name, xla), result in results.items():
    ours = results.get(("albert_tf", xla))
    ratio = (f"{result['examples_per_s'] / ours['examples_per_s']:.2f}"
             if ours else "-")
    lines.append(
        f"{name:16s}{'on' if xla else 'off':>5s}"
        f"{result['examples_per_s']:12.2f}{ratio:>14s}"
        f"{result['params']:13d}{result['loss']:11.3f}")
  return "\n".join(lines)


def check_flags(values):
  """(config, preset) for good flags; raises ValueError naming the flag."""
  preset = values.preset
  if not preset and not values.albert_config_file:
    preset = "albert_base_v2"
  config = presets.load_config(values.albert_config_file, preset)
  unknown = set(values.implementations) - set(IMPLEMENTATIONS)
  if unknown:
    raise ValueError(f"--implementations has {', '.join(sorted(unknown))}; "
                     f"expected some of {', '.join(IMPLEMENTATIONS)}")
  if not set(values.xla) <= {"on", "off"}:
    raise ValueError(f"--xla={','.join(values.xla)}; expected off, on or "
                     "off,on")
  if config.flavor != "google" or config.num_hidden_groups != 1 or (
      config.inner_group_num != 1):
    raise ValueError(
        "the benchmark compares implementations of Google's ALBERT with one "
        "shared group (Model Garden and the TF1 baseline build only that); "
        "pick such a config")
  return config, preset


def main(argv):
  del argv
  values = flags.FLAGS
  try:
    config, preset = check_flags(values)
  except ValueError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  if "on" in values.xla and "tf1_original" in values.implementations:
    restart_with_cpu_autoclustering()  # Only once the flags are known good.
  results = run(config, values.batch_size, values.seq_length,
                values.max_predictions_per_seq, values.implementations,
                [setting == "on" for setting in values.xla],
                values.steps_per_loop, values.rounds, values.warmup_loops)
  devices = tf.config.list_logical_devices()
  title = (f"{preset or values.albert_config_file}: pretraining, batch "
           f"{values.batch_size}, seq {values.seq_length}, "
           f"{values.max_predictions_per_seq} predictions, LAMB; "
           f"{values.rounds} rounds x {values.steps_per_loop} steps, median; "
           f"device {devices[-1].device_type}, {os.cpu_count()} CPU cores")
  print(format_results(results, title))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
