"""A small fine-tuning loop over a tf.distribute strategy.

The same loop serves every task (classification, multiple choice, token
classification, SQuAD): a task supplies a Keras model mapping the input dict
to a dict of named outputs, a per-example loss and, optionally, an
evaluation function. The trainer

  - builds the model and the original optimizer (LAMB/AdamW with warmup and
    polynomial decay, albert_tf.training.optimization) in the strategy's scope,
  - resumes from the newest checkpoint in output_dir, else initialises the
    model (e.g. the encoder from --init_checkpoint),
  - trains with a compiled inner loop of iterations_per_loop steps, saves a
    checkpoint every save_checkpoints_steps (keeping keep_checkpoint_max),
  - evaluates every saved checkpoint and keeps the best one by the task's
    metric in output_dir/best/ (with best_metrics.json),
  - predicts datasets into numpy arrays for the task to write.
"""

import dataclasses
import json
import math
import os

from absl import logging
import numpy as np
import tensorflow as tf

from albert_tf import checkpoints
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.training import optimization

BEST_DIR = "best"
BEST_PREFIX = "model.ckpt"
BEST_METRICS_FILE = "best_metrics.json"
EVAL_HISTORY_FILE = "eval_history.jsonl"


class NoCheckpointError(RuntimeError):
  """Evaluation or prediction was asked for before any training."""


@dataclasses.dataclass
class TrainingSettings:
  """What the trainer needs from the common flags."""
  output_dir: str
  train_step: int = 1000
  warmup_step: int = 0
  learning_rate: float = 5e-5
  optimizer: str = "adamw"
  train_batch_size: int = 32
  save_checkpoints_steps: int = 1000
  keep_checkpoint_max: int = 5
  iterations_per_loop: int = 1000
  weight_decay_rate: float = 0.01

  @classmethod
  def from_flags(cls, values):
    return cls(output_dir=values.output_dir, train_step=values.train_step,
               warmup_step=values.warmup_step,
               learning_rate=values.learning_rate,
               optimizer=values.optimizer,
               train_batch_size=values.train_batch_size,
               save_checkpoints_steps=values.save_checkpoints_steps,
               keep_checkpoint_max=values.keep_checkpoint_max,
               iterations_per_loop=values.iterations_per_loop)

  def validate(self):
    for name in ("train_step", "train_batch_size", "save_checkpoints_steps",
                 "keep_checkpoint_max", "iterations_per_loop"):
      if getattr(self, name) <= 0:
        raise ValueError(f"--{name} must be positive, got "
                         f"{getattr(self, name)}")
    if not 0 <= self.warmup_step < self.train_step:
      raise ValueError(f"--warmup_step must be in [0, train_step), got "
                       f"{self.warmup_step}")
    if self.learning_rate <= 0:
      raise ValueError(f"--learning_rate must be positive, got "
                       f"{self.learning_rate}")


def original_variable_names(model):
  """{variable.ref(): original TF1 name} for the model's encoder variables.

  The optimizer decides weight-decay exclusions on these names, as the
  original did; head variables keep their Keras names (…/bias excluded).
  """
  encoder = getattr(model, "encoder", None)
  if encoder is None:
    return {}
  return {v.ref(): name
          for name, v in checkpoints.tf1_variable_map(encoder).items()}


class Trainer:
  """Fine-tunes `build_model()` on (features, labels) batches.

  Args:
    strategy: a tf.distribute.Strategy (see training.distribution).
    build_model: () → tf_keras.Model returning a dict of named outputs;
      called in the strategy's scope.
    loss_fn: (labels dict, outputs dict) → per-example loss [B] (averaged
      over the global batch by the trainer).
    settings: TrainingSettings.
  """

  def __init__(self, strategy, build_model, loss_fn, settings):
    settings.validate()
    self.strategy = strategy
    self.settings = settings
    self.loss_fn = loss_fn
    self.output_dir = settings.output_dir
    with strategy.scope():
      self.model = build_model()
      self.optimizer = optimization.create_optimizer(
          settings.optimizer, settings.learning_rate,
          num_train_steps=settings.train_step,
          num_warmup_steps=settings.warmup_step,
          weight_decay_rate=settings.weight_decay_rate,
          variable_names=original_variable_names(self.model))
      # Slots exist before any restore, so a resumed run restores them too.
      self.optimizer.build(self.model.trainable_variables)
      self.checkpoint = tf.train.Checkpoint(model=self.model,
                                            optimizer=self.optimizer)
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, self.output_dir,
        max_to_keep=settings.keep_checkpoint_max,
        checkpoint_name="model.ckpt", step_counter=self.optimizer.iterations)
    self._train_loop = None
    self._predict_step = None

  @property
  def global_step(self):
    return int(self.optimizer.iterations.numpy())

  @property
  def best_prefix(self):
    return os.path.join(self.output_dir, BEST_DIR, BEST_PREFIX)

  def restore_or_initialize(self, init_fn=None):
    """Resumes from output_dir's newest checkpoint, else calls init_fn(model).

    Returns a description of what happened.
    """
    latest = self.manager.latest_checkpoint
    if latest:
      self.checkpoint.restore(latest).assert_existing_objects_matched()
      return f"resumed from {latest} (step {self.global_step})"
    if init_fn is None:
      return "no --init_checkpoint: training from random initialisation"
    return init_fn(self.model)

  # Training.

  def _make_train_loop(self):
    model, optimizer, loss_fn = self.model, self.optimizer, self.loss_fn
    strategy = self.strategy
    global_batch_size = self.settings.train_batch_size

    def replica_step(features, labels):
      with tf.GradientTape() as tape:
        outputs = model(features, training=True)
        per_example = loss_fn(labels, outputs)
        loss = tf.nn.compute_average_loss(
            per_example, global_batch_size=global_batch_size)
      variables = model.trainable_variables
      gradients = tape.gradient(loss, variables)
      optimizer.apply_gradients(zip(gradients, variables))
      return loss

    @tf.function
    def train_loop(iterator, steps):
      total = tf.constant(0.0)
      for _ in tf.range(steps):
        features, labels = next(iterator)
        loss = strategy.run(replica_step, args=(features, labels))
        total += strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None)
      return total / tf.cast(steps, tf.float32)
    return train_loop

  def train(self, dataset, evaluate_fn=None, metric_name=None,
            higher_is_better=True):
    """Trains to settings.train_step from the current step.

    dataset: repeating (features, labels) batches of train_batch_size.
    evaluate_fn: () → dict of metrics, called after every checkpoint; the
    best checkpoint by metrics[metric_name] is copied to output_dir/best/.
    Returns the list of (step, mean loss) logged.
    """
    settings = self.settings
    if self._train_loop is None:
      self._train_loop = self._make_train_loop()
    iterator = iter(self.strategy.experimental_distribute_dataset(dataset))
    step = self.global_step
    history = []
    while step < settings.train_step:
      next_save = (step // settings.save_checkpoints_steps + 1) * (
          settings.save_checkpoints_steps)
      steps = min(settings.iterations_per_loop, next_save - step,
                  settings.train_step - step)
      loss = float(self._train_loop(iterator, tf.constant(steps)))
      step = self.global_step
      history.append((step, loss))
      logging.info("step %d/%d: loss %.5f, learning rate %.3g", step,
                   settings.train_step, loss,
                   float(tf.convert_to_tensor(self.optimizer.learning_rate)))
      if not math.isfinite(loss):
        raise FloatingPointError(f"training loss became {loss} at step "
                                 f"{step}; try a lower --learning_rate")
      if step % settings.save_checkpoints_steps == 0 or (
          step >= settings.train_step):
        path = self.manager.save(checkpoint_number=step)
        logging.info("saved %s", path)
        if evaluate_fn is not None:
          self.record_evaluation(step, evaluate_fn(), metric_name,
                                 higher_is_better)
    return history

  # Best checkpoint.

  def best_metrics(self):
    path = os.path.join(self.output_dir, BEST_DIR, BEST_METRICS_FILE)
    if not os.path.exists(path):
      return None
    with open(path, encoding="utf-8") as f:
      return json.load(f)

  def record_evaluation(self, step, metrics, metric_name,
                        higher_is_better=True):
    """Logs `metrics`, and keeps the model as best when metric_name improves.

    Returns True when this evaluation became the best.
    """
    metrics = {k: float(v) for k, v in metrics.items()}
    logging.info("step %d eval: %s", step, metrics)
    with open(os.path.join(self.output_dir, EVAL_HISTORY_FILE), "a",
              encoding="utf-8") as f:
      f.write(json.dumps({"step": step, **metrics}) + "\n")
    if metric_name is None:
      return False
    if metric_name not in metrics:
      raise KeyError(f"evaluation returned no {metric_name!r}: {metrics}")
    value = metrics[metric_name]
    best = self.best_metrics()
    if best is not None and not math.isnan(value):
      previous = best["metrics"][metric_name]
      improved = value > previous if higher_is_better else value < previous
      if not improved:
        return False
    elif best is not None:
      return False
    checkpoints.save_tf2_checkpoint(self.model, self.best_prefix)
    write_text_atomically(
        os.path.join(self.output_dir, BEST_DIR, BEST_METRICS_FILE),
        json.dumps({"step": step, "metric": metric_name, "metrics": metrics},
                   indent=2) + "\n")
    logging.info("new best %s = %.5f at step %d", metric_name, value, step)
    return True

  def load_for_inference(self):
    """Loads the best checkpoint, else the newest; returns its path."""
    if tf.io.gfile.exists(self.best_prefix + ".index"):
      path = self.best_prefix
    else:
      path = self.manager.latest_checkpoint
    if not path:
      raise NoCheckpointError(
          f"no fine-tuned checkpoint in --output_dir {self.output_dir}; run "
          "with --do_train first")
    tf.train.Checkpoint(model=self.model).read(path).expect_partial()
    return path

  # Inference.

  def predict(self, dataset, output_keys=None):
    """{output name: numpy array over all examples} for a batched dataset.

    The dataset yields features or (features, labels); labels are ignored.
    """
    if self._predict_step is None:
      model = self.model

      @tf.function
      def predict_step(features):
        return model(features, training=False)
      self._predict_step = predict_step
    results = {}
    for batch in dataset:
      features = batch[0] if isinstance(batch, tuple) else batch
      outputs = self._predict_step(features)
      for key, value in outputs.items():
        if output_keys is not None and key not in output_keys:
          continue
        if isinstance(value, (list, tuple)):
          continue
        results.setdefault(key, []).append(value.numpy())
    return {key: np.concatenate(parts) for key, parts in results.items()}
