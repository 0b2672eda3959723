"""The pretraining train and eval steps, as an orbit trainer/evaluator.

On the loop fine-tuning shares (training/orbit_trainer.py): orbit runs
`iterations_per_loop` train steps per tf.function call (a tf.while_loop),
like TPUEstimator. The loss is the original MLM + SOP loss
over the GLOBAL batch: every replica adds its share, Σw·CE / (Σ_global w +
1e-5) and Σ CE / global_batch, and the optimizer sums the replicas'
gradients. On one device this is exactly the original formula; on many it
is the same number, so trajectories agree across strategies.

With a teacher (Distillation, --teacher_checkpoint) the MLM loss becomes
alpha · soft + (1 - alpha) · gold, the soft loss being T² · the cross-entropy
of the teacher's MLM distribution at temperature T, weighted and normalised
over the masked positions like the gold one; the cosine loss
Σ_tokens (1 - cos(student, teacher)) / (Σ_global real tokens), over the final
hidden states, is added with its own weight. The SOP loss is unchanged.
"""

import contextlib
import dataclasses

import orbit
import tensorflow as tf
import tf_keras

from albert_tf.errors import UserError
from albert_tf.modeling.layers import seeded_dropout
from albert_tf.modeling.losses import cross_entropy
from albert_tf.training.distillation_loss import soft_cross_entropy
from albert_tf.training.distribution import is_tpu_strategy
from albert_tf.training.gradient_accumulation import accumulate_gradients
from albert_tf.training.hidden_state_distillation import cosine_distance
from albert_tf.training.orbit_trainer import apply_connected_gradients
from albert_tf.training.orbit_trainer import StrategyTrainer
from albert_tf.training.orbit_trainer import TrainingDivergedError  # pylint: disable=unused-import
from albert_tf.training.orbit_trainer import loss_and_gradients

TRAIN_METRICS = ("total_loss", "mlm_loss", "sop_loss", "masked_lm_accuracy",
                 "sentence_order_accuracy")
# A distilled run's train metrics besides those: the soft MLM loss (T²
# scaled, before alpha) and the cosine loss (before its weight).
DISTILLATION_METRICS = ("soft_mlm_loss", "cosine_loss")
EVAL_METRICS = ("masked_lm_accuracy", "masked_lm_loss",
                "sentence_order_accuracy", "sentence_order_loss", "loss")


class NothingEvaluatedError(UserError, RuntimeError):
  """An evaluation saw no example."""


@dataclasses.dataclass
class Distillation:
  """A frozen teacher (an AlbertPretrainer built under the same strategy)
  and the weights of the distillation losses (see the module docstring)."""
  teacher: object
  temperature: float = 2.0
  alpha: float = 0.5
  cosine_weight: float = 1.0

  @property
  def uses_hidden_states(self):
    return self.cosine_weight > 0


def _model_inputs(features):
  return {"input_word_ids": features["input_ids"],
          "input_mask": features["input_mask"],
          "input_type_ids": features["segment_ids"],
          "masked_lm_positions": features["masked_lm_positions"]}


def _sentence_order_labels(features):
  return tf.reshape(features["next_sentence_labels"], [-1])


def batch_sums(features):
  """The losses' denominators of a batch: {"weights": Σ masked_lm_weights,
  "tokens": Σ input_mask}; a training step sums them over the replicas."""
  return {"weights": tf.reduce_sum(
              tf.cast(features["masked_lm_weights"], tf.float32)),
          "tokens": tf.reduce_sum(
              tf.cast(features["input_mask"], tf.float32))}


def _correct(logits, labels):
  return tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32),
                          tf.cast(labels, tf.int32)), tf.float32)


def worker_position(strategy):
  """(index of this worker, number of workers) in the strategy's cluster."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None:
    return 0, 1
  cluster = resolver.cluster_spec().as_dict()
  if not cluster or isinstance(strategy, (tf.distribute.TPUStrategy,)):
    return 0, 1
  has_chief = "chief" in cluster
  workers = len(cluster.get("worker", [])) + int(has_chief)
  if resolver.task_type == "chief":
    return 0, workers
  return resolver.task_id + int(has_chief), workers


class PretrainingTrainer(StrategyTrainer, orbit.StandardEvaluator):
  """Trains and evaluates an AlbertPretrainer under a tf.distribute strategy.

  Build `model` and `optimizer` inside `strategy.scope()`. `train_dataset_fn`
  / `eval_dataset_fn` take a tf.distribute.InputContext and return per-replica
  batches (albert_tf.pretraining_data.input_pipeline.pretraining_dataset).
  `gradient_accumulation_steps` (K) splits every replica's batch into K
  micro-batches run one after the other, then takes ONE optimizer step: the
  same update as the whole batch (the loss is still normalised over the
  global batch), with a K-th of the activation memory.
  `seed` (the run's) and the global step choose the dropout masks (see
  modeling/layers/seeded_dropout.py): a resumed run draws them again.
  `distillation`: a Distillation to learn from a teacher too, or None.
  """

  def __init__(self, strategy, model, optimizer, global_batch_size,
               train_dataset_fn=None, eval_dataset_fn=None, use_xla=False,
               gradient_accumulation_steps=1, seed=0, distillation=None):
    self.strategy = strategy
    self.seed = seed
    self.distillation = distillation
    self.gradient_accumulation_steps = gradient_accumulation_steps
    self.use_xla = use_xla
    with strategy.scope():
      self.eval_metrics = {name: tf_keras.metrics.Mean(name, dtype=tf.float32)
                           for name in EVAL_METRICS}
    self._forward_backward = tf.function(self._local_loss_and_gradients,
                                         jit_compile=use_xla)
    self.worker_index, self.num_workers = worker_position(strategy)
    self.local_replicas = strategy.num_replicas_in_sync // self.num_workers
    train_dataset = None
    if train_dataset_fn is not None:
      train_dataset = self._make_train_input(train_dataset_fn)
    extra_metrics = DISTILLATION_METRICS if distillation else ()
    StrategyTrainer.__init__(
        self, strategy, model, optimizer, global_batch_size,
        TRAIN_METRICS + extra_metrics,
        loss_metrics=("total_loss", "mlm_loss", "sop_loss") + extra_metrics,
        train_dataset=train_dataset,
        divergence_hint="Lower --learning_rate, check the data, or use "
        "--mixed_precision=bfloat16 instead of float16.")
    if train_dataset is not None:
      # Created now (not lazily by orbit) so checkpoints can hold its state.
      self._train_iter = iter(train_dataset)
    if eval_dataset_fn is not None:
      orbit.StandardEvaluator.__init__(
          self, strategy.distribute_datasets_from_function(eval_dataset_fn),
          options=orbit.StandardEvaluatorOptions(use_tf_while_loop=False))

  def _make_train_input(self, dataset_fn):
    """A host dataset of this worker's step batches, or a distributed one.

    Off TPU, a plain tf.data iterator feeds the step and the step hands each
    local replica its slice: a plain iterator can be checkpointed, so a
    resumed run continues from the exact input position (a
    tf.distribute iterator cannot be saved). TPUs keep the distributed
    dataset for infeed; there a resumed run restarts the input stream, as
    TPUEstimator did.
    """
    if self.is_tpu:
      return self.strategy.distribute_datasets_from_function(dataset_fn)
    context = tf.distribute.InputContext(
        num_input_pipelines=self.num_workers,
        input_pipeline_id=self.worker_index,
        num_replicas_in_sync=self.strategy.num_replicas_in_sync)
    with tf.device("CPU:0"):
      return dataset_fn(context).batch(self.local_replicas,
                                       drop_remainder=True)

  @property
  def is_tpu(self):
    return is_tpu_strategy(self.strategy)

  @property
  def train_iterator(self):
    """The checkpointable input iterator (None on TPU)."""
    return None if self.is_tpu else self._train_iter

  def _distribute_step_batch(self, features):
    if self.is_tpu:
      return features
    first = self.worker_index * self.local_replicas

    def replica_slice(context):
      local = context.replica_id_in_sync_group - first
      return tf.nest.map_structure(lambda t: t[local], features)

    return self.strategy.experimental_distribute_values_from_function(
        replica_slice)

  # -- training -------------------------------------------------------------

  def _local_loss_and_gradients(self, features, global_sums,
                                dropout_seed=None):
    """This replica's share of the global loss, and its gradients, summed
    over its micro-batches (one micro-batch without accumulation).
    `global_sums`: {"weights": Σ masked_lm_weights, "tokens": Σ input_mask}
    over the global batch, the losses' denominators.

    `dropout_seed`: the replica's step seed (seeded_dropout.step_seed), an
    argument, not a capture, because the replicas share this function;
    None: Keras' stateful dropout."""
    variables = self.model.trainable_variables
    scope = (contextlib.nullcontext() if dropout_seed is None
             else seeded_dropout.seed_scope(dropout_seed))
    with scope:
      return accumulate_gradients(
          lambda micro: self._micro_batch_step(micro, global_sums),
          features, self.gradient_accumulation_steps, variables=variables)

  def _micro_batch_step(self, features, global_sums):
    """A batch's share of the global loss: (gradients, sums for metrics)."""
    labels = _sentence_order_labels(features)
    weights = tf.cast(features["masked_lm_weights"], tf.float32)
    global_weight_sum = global_sums["weights"]
    distillation = self.distillation
    # The cosine loss needs every token's final hidden state: the last
    # block then runs on all rows, not only on [CLS] and the masked ones.
    heads_only = not (distillation and distillation.uses_hidden_states)
    teacher_outputs = None
    if distillation:
      # Outside the tape: nothing of the teacher is differentiated.
      teacher_outputs = distillation.teacher(
          _model_inputs(features), training=False, heads_only=heads_only)

    def compute_loss():
      outputs = self.model(_model_inputs(features), training=True,
                           heads_only=heads_only)
      mlm_ce = cross_entropy(outputs["mlm_logits"], features["masked_lm_ids"])
      sop_ce = cross_entropy(outputs["sop_logits"], labels)
      mlm_share = tf.reduce_sum(weights * mlm_ce) / (global_weight_sum + 1e-5)
      sop_share = tf.reduce_sum(sop_ce) / self.global_batch_size
      shares = {"mlm_share": mlm_share, "sop_share": sop_share}
      if not distillation:
        return mlm_share + sop_share, (shares, outputs)
      soft_ce = soft_cross_entropy(
          tf.cast(teacher_outputs["mlm_logits"], tf.float32),
          tf.cast(outputs["mlm_logits"], tf.float32),
          distillation.temperature)
      shares["soft_mlm_share"] = (tf.reduce_sum(weights * soft_ce) /
                                  (global_weight_sum + 1e-5))
      shares["cosine_share"] = tf.zeros([])
      if distillation.uses_hidden_states:
        tokens = tf.cast(features["input_mask"], tf.float32)
        distance = cosine_distance(outputs["sequence_output"],
                                   teacher_outputs["sequence_output"])
        shares["cosine_share"] = (tf.reduce_sum(tokens * distance) /
                                  tf.maximum(global_sums["tokens"], 1.0))
      return self._distilled_loss(shares), (shares, outputs)

    _, (shares, outputs), gradients = loss_and_gradients(
        compute_loss, self.model.trainable_variables, self.optimizer)
    # Dense, as the original's: its token-type lookup is a one-hot matmul,
    # ours a gather whose IndexedSlices gradient (one row per token, not per
    # type) would give clip_by_global_norm another norm; and micro-batch sums
    # are dense anyway.
    gradients = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices)
                 else g for g in gradients]
    sums = {
        **shares,
        "mlm_correct": tf.reduce_sum(
            weights * _correct(outputs["mlm_logits"],
                               features["masked_lm_ids"])),
        "sop_correct": tf.reduce_sum(_correct(outputs["sop_logits"], labels)),
    }
    return gradients, sums

  def _distilled_loss(self, shares):
    """The total loss of a distilled step from its parts."""
    distillation = self.distillation
    return (distillation.alpha * shares["soft_mlm_share"] +
            (1.0 - distillation.alpha) * shares["mlm_share"] +
            shares["sop_share"] +
            distillation.cosine_weight * shares["cosine_share"])

  def train_step(self, iterator):
    def step_fn(features):
      context = tf.distribute.get_replica_context()
      weights = tf.cast(features["masked_lm_weights"], tf.float32)
      global_sums = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                       batch_sums(features))
      dropout_seed = seeded_dropout.step_seed(self.seed,
                                              self.optimizer.iterations)
      gradients, sums = self._forward_backward(features, global_sums,
                                               dropout_seed)
      apply_connected_gradients(self.optimizer, gradients,
                                self.model.trainable_variables)
      share_names = [name for name in ("mlm_share", "sop_share",
                                       "soft_mlm_share", "cosine_share")
                     if name in sums]
      losses = dict(zip(share_names, context.all_reduce(
          tf.distribute.ReduceOp.SUM, [sums[name] for name in share_names])))
      self.train_metrics["mlm_loss"].update_state(losses["mlm_share"])
      self.train_metrics["sop_loss"].update_state(losses["sop_share"])
      if self.distillation:
        self.train_metrics["soft_mlm_loss"].update_state(
            losses["soft_mlm_share"])
        self.train_metrics["cosine_loss"].update_state(losses["cosine_share"])
        total_loss = self._distilled_loss(losses)
      else:
        total_loss = losses["mlm_share"] + losses["sop_share"]
      self.train_metrics["total_loss"].update_state(total_loss)
      # Mean of the per-example values: Σ correct / Σ weight, with weight
      # Σ weight (what update_state of the per-example values adds up).
      weight_sum = tf.reduce_sum(weights)
      self.train_metrics["masked_lm_accuracy"].update_state(
          tf.math.divide_no_nan(sums["mlm_correct"], weight_sum),
          sample_weight=weight_sum)
      examples = tf.cast(tf.shape(weights)[0], tf.float32)
      self.train_metrics["sentence_order_accuracy"].update_state(
          tf.math.divide_no_nan(sums["sop_correct"], examples),
          sample_weight=examples)

    features = self._distribute_step_batch(next(iterator))
    self.strategy.run(step_fn, args=(features,))

  # -- evaluation -----------------------------------------------------------

  def eval_begin(self):
    for metric in self.eval_metrics.values():
      metric.reset_states()

  def eval_step(self, iterator):
    def step_fn(features):
      outputs = self.model(_model_inputs(features), training=False,
                           heads_only=True)
      labels = _sentence_order_labels(features)
      weights = tf.cast(features["masked_lm_weights"], tf.float32)
      mlm_ce = cross_entropy(outputs["mlm_logits"], features["masked_lm_ids"])
      sop_ce = cross_entropy(outputs["sop_logits"], labels)
      metrics = self.eval_metrics
      metrics["masked_lm_accuracy"].update_state(
          _correct(outputs["mlm_logits"], features["masked_lm_ids"]),
          sample_weight=weights)
      metrics["masked_lm_loss"].update_state(mlm_ce, sample_weight=weights)
      metrics["sentence_order_accuracy"].update_state(
          _correct(outputs["sop_logits"], labels))
      metrics["sentence_order_loss"].update_state(sop_ce)
      # divide_no_nan: a replica can get an empty last batch.
      metrics["loss"].update_state(
          tf.reduce_sum(weights * mlm_ce) / (tf.reduce_sum(weights) + 1e-5) +
          tf.math.divide_no_nan(tf.reduce_sum(sop_ce),
                                tf.cast(tf.size(sop_ce), tf.float32)),
          sample_weight=tf.cast(tf.size(sop_ce) > 0, tf.float32))

    self.strategy.run(step_fn, args=(next(iterator),))

  def eval_end(self):
    # The examples evaluated: the count of a per-example mean. (A counter of
    # its own, fed the batch's static size, would be updated even when the
    # step finds no batch.)
    if not self.eval_metrics["sentence_order_loss"].count.numpy():
      # The means of nothing read 0: they would pass for results (and make
      # a best checkpoint).
      raise NothingEvaluatedError(
          "the evaluation read no examples (the evaluation data holds fewer "
          "records than one batch, or none); no results written")
    return {name: float(metric.result().numpy())
            for name, metric in self.eval_metrics.items()}
