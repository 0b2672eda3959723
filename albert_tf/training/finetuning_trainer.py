"""The fine-tuning trainer: every task on the shared orbit loop.

A task supplies a Keras model mapping the input dict to a dict of named
outputs and a per-example loss; the trainer

  - builds the model and the original optimizer (LAMB/AdamW with warmup and
    polynomial decay, albert_tf.training.optimization) in the strategy's scope,
  - resumes from the newest checkpoint in output_dir, else initialises the
    model (e.g. the encoder from --init_checkpoint),
  - trains on orbit (training/orbit_trainer.py) with iterations_per_loop
    steps per compiled loop, the loss averaged over the GLOBAL batch, saves a
    checkpoint every save_checkpoints_steps (keeping keep_checkpoint_max),
  - evaluates every saved checkpoint and keeps the best one by the task's
    metric in output_dir/best/ (with best_metrics.json),
  - predicts inside the strategy: each replica runs its slice of a batch,
    the outputs are gathered across replicas (strategy.gather, also on TPU)
    and returned as numpy arrays over all examples, in input order.
"""

import json
import os

from absl import logging
import numpy as np
import orbit
import tensorflow as tf

from albert_tf import checkpoints
from albert_tf import files
from albert_tf.errors import UserError
from albert_tf.modeling.layers import seeded_dropout
from albert_tf.training import optimization
from albert_tf.training.best_checkpoint import BestCheckpointKeeper
from albert_tf.training.orbit_trainer import StrategyTrainer
from albert_tf.checkpoints.integrity import latest_readable_checkpoint
from albert_tf.checkpoints.integrity import remove_interrupted_saves
from albert_tf.training import gradient_accumulation
from albert_tf.training.orbit_trainer import apply_connected_gradients
from albert_tf.training.orbit_trainer import loss_and_gradients
from albert_tf.training.orbit_trainer import orbit_prints_to_log

BEST_DIR = "best"
BEST_PREFIX = "model.ckpt"
BEST_METRICS_FILE = "best_metrics.json"
EVAL_HISTORY_FILE = "eval_history.jsonl"


class NoCheckpointError(UserError, RuntimeError):
  """Evaluation or prediction was asked for before any training."""


def has_finetuned_checkpoint(output_dir):
  """Whether output_dir holds a checkpoint load_for_inference can use."""
  if not output_dir:
    return False
  return (tf.io.gfile.exists(os.path.join(output_dir, BEST_DIR,
                                          BEST_PREFIX + ".index"))
          or tf.io.gfile.exists(os.path.join(output_dir, "checkpoint")))


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


def head_rate_multipliers(model, encoder_variable_names, multiplier):
  """{variable.ref(): multiplier} for the task head: every trainable
  variable outside the pretrained encoder (the encoder's pooler counts as
  encoder: it is pretrained by the sentence-order loss)."""
  if multiplier == 1.0:
    return {}
  return {v.ref(): multiplier for v in model.trainable_variables
          if v.ref() not in encoder_variable_names}


def read_best_metrics(output_dir):
  """best/best_metrics.json of a fine-tuning output_dir, or None."""
  path = os.path.join(output_dir, BEST_DIR, BEST_METRICS_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


class _Predictor(orbit.StandardEvaluator):
  """Runs the model over a dataset inside the strategy; numpy outputs."""

  def __init__(self, strategy, model):
    self.strategy = strategy
    self.model = model
    self.output_keys = None
    orbit.StandardEvaluator.__init__(
        self, None, options=orbit.StandardEvaluatorOptions(
            use_tf_while_loop=False))

  def eval_begin(self):
    return {}

  def eval_step(self, iterator):
    model = self.model

    def replica_step(batch):
      features = batch[0] if isinstance(batch, tuple) else batch
      outputs = model(features, training=False)
      return {key: value for key, value in outputs.items()
              if not isinstance(value, (list, tuple))}

    outputs = self.strategy.run(replica_step, args=(next(iterator),))
    # Replica i holds the i-th slice of the batch: concatenating the
    # replicas' results in order gives the batch back.
    return {key: self.strategy.gather(value, axis=0)
            for key, value in outputs.items()}

  def eval_reduce(self, state=None, step_outputs=None):
    for key, value in step_outputs.items():
      if self.output_keys is None or key in self.output_keys:
        state.setdefault(key, []).append(value.numpy())
    return state

  def eval_end(self, state=None):
    return {key: np.concatenate(parts) for key, parts in state.items()}


class FinetuningTrainer(StrategyTrainer):
  """Fine-tunes `build_model()` on (features, labels) batches.

  Args:
    strategy: a tf.distribute.Strategy (see training.distribution).
    build_model: () → tf_keras.Model returning a dict of named outputs;
      called in the strategy's scope.
    loss_fn: (labels dict, outputs dict) → per-example loss [B] (averaged
      over the global batch by the trainer).
    settings: a FinetuningSettings (output_dir, train_step, warmup_step,
      learning_rate, optimizer, train_batch_size, save_checkpoints_steps,
      keep_checkpoint_max, iterations_per_loop, weight_decay_rate).
    build_teacher: None, or () → a frozen model with the student's inputs
      (distillation, tasks/teacher.py); called in the strategy's scope. It
      runs in inference mode on every training batch, and loss_fn then
      takes (labels, outputs, teacher_outputs). The teacher is no part of
      the checkpoints: resuming rebuilds it from its own directory.
  """

  def __init__(self, strategy, build_model, loss_fn, settings,
               build_teacher=None):
    settings.check_training()
    gradient_accumulation.check_divisible(
        settings.train_batch_size, settings.gradient_accumulation_steps,
        strategy.num_replicas_in_sync)
    self.settings = settings
    self.loss_fn = loss_fn
    self.output_dir = settings.output_dir
    options = settings.optimizer_options()
    with strategy.scope():
      model = build_model()
      self.teacher = build_teacher() if build_teacher else None
      variable_names = original_variable_names(model)
      optimizer = optimization.create_optimizer(
          settings.optimizer, settings.learning_rate,
          num_train_steps=settings.train_step,
          num_warmup_steps=settings.warmup_step,
          weight_decay_rate=settings.weight_decay_rate,
          variable_names=variable_names,
          bias_correction=options["bias_correction"],
          learning_rate_multipliers=head_rate_multipliers(
              model, variable_names,
              options["head_learning_rate_multiplier"]))
      # Slots exist before any restore, so a resumed run restores them too.
      optimizer.build(model.trainable_variables)
      self.checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    super().__init__(strategy, model, optimizer, settings.train_batch_size,
                     train_metric_names=("loss",), loss_metrics=("loss",),
                     divergence_hint="Try a lower --learning_rate.")
    # A damaged newest checkpoint (or state file) is skipped with a warning
    # naming it; the manager then resumes from the newest one that reads.
    latest_readable_checkpoint(self.output_dir, "model.ckpt",
                               repair_state=True, warn=logging.warning)
    # A run killed while keeping its best model left that write's staging
    # folder in best/; a later best may never come to remove it.
    best_dir = os.path.join(self.output_dir, BEST_DIR)
    if tf.io.gfile.isdir(best_dir):
      remove_interrupted_saves(best_dir, BEST_PREFIX, warn=logging.warning)
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, self.output_dir,
        max_to_keep=settings.keep_checkpoint_max,
        checkpoint_name="model.ckpt", step_counter=optimizer.iterations)
    self.predictor = _Predictor(strategy, model)
    self.best_keeper = None

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

  def train_step(self, iterator):
    model, optimizer, loss_fn = self.model, self.optimizer, self.loss_fn
    teacher = self.teacher
    global_batch_size = self.global_batch_size

    def micro_batch_step(batch):
      features, labels = batch

      def compute_loss():
        outputs = model(features, training=True)
        if teacher is None:
          losses = loss_fn(labels, outputs)
        else:
          # Inference mode: no dropout in the soft targets.
          teacher_outputs = tf.nest.map_structure(
              tf.stop_gradient, teacher(features, training=False))
          losses = loss_fn(labels, outputs, teacher_outputs)
        # Normalised over the GLOBAL batch, so the micro-batches' (and the
        # replicas') shares add up to the full batch's loss.
        return tf.nn.compute_average_loss(
            losses, global_batch_size=global_batch_size), None

      loss, _, gradients = loss_and_gradients(
          compute_loss, model.trainable_variables, optimizer)
      # Dense, so that one clip sees the same norm whatever the number of
      # micro-batches (their sums are dense).
      gradients = [tf.convert_to_tensor(g)
                   if isinstance(g, tf.IndexedSlices) else g
                   for g in gradients]
      return gradients, {"loss": loss}

    def replica_step(features, labels):
      # Dropout masks: a function of (seed, step, replica, micro-batch), so
      # that a resumed run draws those of the uninterrupted one.
      with seeded_dropout.step_scope(self.settings.seed,
                                     optimizer.iterations):
        gradients, sums = gradient_accumulation.accumulate_gradients(
            micro_batch_step, (features, labels),
            self.settings.gradient_accumulation_steps,
            variables=model.trainable_variables)
      apply_connected_gradients(optimizer, gradients,
                                model.trainable_variables)
      context = tf.distribute.get_replica_context()
      self.train_metrics["loss"].update_state(
          context.all_reduce(tf.distribute.ReduceOp.SUM, sums["loss"]))

    features, labels = next(iterator)
    self.strategy.run(replica_step, args=(features, labels))

  def fit(self, dataset, evaluate_fn=None, metric_name=None,
            higher_is_better=True):
    """Trains to settings.train_step from the current step.

    dataset: repeating (features, labels) batches of train_batch_size, the
      same ones in the same order on every run (seeded).
    evaluate_fn: () → dict of metrics, called after every checkpoint; the
    best checkpoint by metrics[metric_name] is copied to output_dir/best/.
    Returns the list of (step, mean loss) of every loop.
    """
    settings = self.settings
    # A resumed run goes on where the checkpoint's run was in the input
    # stream (seeded, so it replays: skip the batches already trained on),
    # and so ends with the weights of a run that was never interrupted.
    self.train_dataset = self.strategy.experimental_distribute_dataset(
        dataset.skip(self.global_step))
    history = []

    def log_loop(output):
      step = self.global_step
      history.append((step, output["loss"]))
      logging.info("step %d/%d: loss %.5f, learning rate %.3g", step,
                   settings.train_step, output["loss"],
                   output["learning_rate"])

    controller = orbit.Controller(
        strategy=self.strategy, trainer=self,
        global_step=self.optimizer.iterations,
        steps_per_loop=settings.iterations_per_loop, train_actions=[log_loop])
    step = self.global_step
    if (evaluate_fn is not None and step > 0 and
        step not in self.evaluated_steps()):
      # The run that saved this checkpoint was killed before its evaluation
      # was recorded (or before its model was kept as the best): evaluate it
      # now, so that best/ holds what an uninterrupted run keeps.
      self.record_evaluation(step, evaluate_fn(), metric_name,
                             higher_is_better)
    while step < settings.train_step:
      # Checkpoints (and evaluations) at multiples of save_checkpoints_steps.
      target = min((step // settings.save_checkpoints_steps + 1) *
                   settings.save_checkpoints_steps, settings.train_step)
      with orbit_prints_to_log():
        controller.train(target, checkpoint_at_completion=False)
      step = self.global_step
      logging.info("saved %s", self.manager.save(checkpoint_number=step))
      if evaluate_fn is not None:
        self.record_evaluation(step, evaluate_fn(), metric_name,
                               higher_is_better)
    return history

  # Best checkpoint.

  def best_metrics(self):
    return read_best_metrics(self.output_dir)

  def _save_best(self):
    # best/ made here honours the umask (TensorFlow would make it 0755).
    files.make_directories(os.path.dirname(self.best_prefix))
    checkpoints.save_tf2_checkpoint(self.model, self.best_prefix)

  def record_evaluation(self, step, metrics, metric_name,
                        higher_is_better=True):
    """Logs `metrics`, and keeps the model as best when metric_name improves.

    Returns True when this evaluation became the best.
    """
    metrics = {k: float(v) for k, v in metrics.items()}
    logging.info("step %d eval: %s", step, metrics)
    keeper = BestCheckpointKeeper(
        os.path.join(self.output_dir, BEST_DIR, BEST_METRICS_FILE),
        metric_name,
        save_fn=lambda _: self._save_best(),
        make_record=lambda step, metrics: {
            "step": step, "metric": metric_name, "metrics": metrics},
        value_of=lambda record: record["metrics"][metric_name],
        higher_is_better=higher_is_better)
    best = keeper.update(step, metrics) is not None
    # Recorded once the best model is kept: a run killed before that
    # evaluates the checkpoint again when it resumes (see fit).
    with open(os.path.join(self.output_dir, EVAL_HISTORY_FILE), "a",
              encoding="utf-8") as f:
      f.write(json.dumps({"step": step, **metrics}) + "\n")
    if best:
      logging.info("new best %s = %.5f at step %d", metric_name,
                   metrics[metric_name], step)
    return best

  def evaluated_steps(self):
    """The steps eval_history.jsonl has evaluations of."""
    steps = set()
    try:
      with open(os.path.join(self.output_dir, EVAL_HISTORY_FILE),
                encoding="utf-8") as f:
        lines = f.read().splitlines()
    except FileNotFoundError:
      return steps
    for line in lines:
      try:
        steps.add(json.loads(line)["step"])
      except (ValueError, TypeError, KeyError):
        pass  # A line cut short by a kill: that evaluation is redone.
    return steps

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
    Runs inside the strategy (one slice of each batch per replica).
    """
    self.predictor.output_keys = output_keys
    self.predictor.eval_dataset = (
        self.strategy.experimental_distribute_dataset(dataset))
    return self.predictor.evaluate(-1)
