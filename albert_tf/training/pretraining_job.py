"""PretrainingJob: one run_pretraining run (MLM + SOP), callable from Python.

  job = PretrainingJob(pretraining_settings.defaults(...))
  try:
    train_output, eval_output = job.run()
  finally:
    job.close()

or run(settings), which does just that. The constructor checks the flags,
the devices, the records, the vocabulary and the initial weights before
anything is written, takes the output_dir lock and builds the model,
optimizer, trainer and orbit controller (resuming or initialising);
run() trains and/or evaluates as the settings ask and writes the final
files. albert_tf/run_pretraining.py is its command line.
"""

import contextlib
import functools
import os
import sys
import tempfile

import tensorflow as tf
import tf_keras

from albert_tf import files
from albert_tf.checkpoints import load_checkpoint
from albert_tf.checkpoints import resolve_model_files
from albert_tf.checkpoints import save_tf1_checkpoint
from albert_tf.checkpoints import tf1_variable_map
from albert_tf.checkpoints.encoder_init import verify_init_checkpoint
from albert_tf.checkpoints.integrity import latest_readable_checkpoint
from albert_tf.checkpoints.tf1_checkpoint import CheckpointMismatchError
from albert_tf.config import AlbertConfig
from albert_tf.config import AlbertConfigError
from albert_tf.errors import CheckpointError
from albert_tf.errors import UserError
from albert_tf.modeling import AlbertPretrainer
from albert_tf.pretraining_data.input_pipeline import count_records
from albert_tf.pretraining_data.input_pipeline import decode_record
from albert_tf.pretraining_data.input_pipeline import find_corrupt_file
from albert_tf.pretraining_data.input_pipeline import pretraining_dataset
from albert_tf.pretraining_data.input_pipeline import record_files
from albert_tf.training import distribution
from albert_tf.training import optimization
from albert_tf.training.eval_results import EvalResultsWriter
from albert_tf.training.gradient_accumulation import AccumulationError
from albert_tf.training.gradient_accumulation import check_divisible
from albert_tf.training.orbit_trainer import orbit_prints_to_log
from albert_tf.training.pretraining_settings import check_flags
from albert_tf.training.pretraining_settings import check_placeholders
from albert_tf.training.pretraining_settings import UsageError
from albert_tf.training import pretraining_teacher
from albert_tf.training.pretraining_trainer import Distillation
from albert_tf.training.pretraining_trainer import PretrainingTrainer
from albert_tf.training.pretraining_trainer import worker_position
from albert_tf.training.progress import ProgressReporter


def read_config(path, max_seq_length):
  try:
    config = AlbertConfig.from_json_file(path)
  except (AlbertConfigError, OSError, ValueError) as e:
    raise UsageError(f"--albert_config_file {path}: {e}") from None
  if max_seq_length > config.max_position_embeddings:
    raise UsageError(
        f"--max_seq_length={max_seq_length} exceeds max_position_embeddings="
        f"{config.max_position_embeddings} of --albert_config_file {path}")
  return config


def check_records(files, flag_name, max_seq_length, max_predictions_per_seq,
                  vocab_size):
  """Reads the first record of each file: format and lengths must fit."""
  expected = {"input_ids": max_seq_length, "input_mask": max_seq_length,
              "segment_ids": max_seq_length,
              "masked_lm_positions": max_predictions_per_seq,
              "masked_lm_ids": max_predictions_per_seq,
              "masked_lm_weights": max_predictions_per_seq,
              "next_sentence_labels": 1}
  flag_of = {"input_ids": "max_seq_length", "input_mask": "max_seq_length",
             "segment_ids": "max_seq_length",
             "masked_lm_positions": "max_predictions_per_seq",
             "masked_lm_ids": "max_predictions_per_seq",
             "masked_lm_weights": "max_predictions_per_seq"}
  for path in files:
    try:
      record = next(iter(tf.data.TFRecordDataset(path).take(1)), None)
    except tf.errors.OpError as e:
      raise UsageError(f"--{flag_name} file {path} is not a readable "
                       f"TFRecord file: {e.message}") from None
    if record is None:
      raise UsageError(f"--{flag_name} file {path} holds no records")
    example = tf.train.Example()
    try:
      example.ParseFromString(record.numpy())
    except Exception as e:  # pylint: disable=broad-except  # protobuf DecodeError
      raise UsageError(f"--{flag_name} file {path}: the first record is not "
                       f"a tf.train.Example ({e})") from None
    features = example.features.feature
    for name, length in expected.items():
      if name not in features:
        raise UsageError(
            f"--{flag_name} file {path}: records have no `{name}` feature "
            "(expected create_pretraining_data output)")
      feature = features[name]
      values = (feature.int64_list.value or feature.float_list.value)
      if len(values) != length:
        raise UsageError(
            f"--{flag_name} file {path}: `{name}` has {len(values)} values "
            f"but --{flag_of.get(name, name)} asks for {length}; pass the "
            "value the data was created with")
    top = max(features["input_ids"].int64_list.value)
    if top >= vocab_size:
      raise UsageError(
          f"--{flag_name} file {path}: token id {top} does not fit the "
          f"config's vocab_size {vocab_size} (data made with another "
          "vocabulary?)")


def _corrupt_file(values, parse=False):
  """Which input file training failed on, for the error message; None when
  no file is found at fault.

  tf.data's DataLossError (and "Can't parse serialized Example") does not
  name the file; reading the files again in the training pipeline's order
  finds it. `parse`: look for records that do not parse with the run's
  lengths too, not only for broken framing.
  """
  decode = None
  if parse:
    decode = functools.partial(
        decode_record, max_seq_length=values.max_seq_length,
        max_predictions_per_seq=values.max_predictions_per_seq)
  candidates = []
  if values.do_train:
    candidates.append((values.input_file, values.seed))
  if values.do_eval:
    candidates.append((values.eval_input_file or values.input_file, None))
  for pattern, seed in candidates:
    path = find_corrupt_file(record_files(pattern), seed=seed,
                             repeat=not values.dynamic_masking,
                             decode=decode)
    if path is not None:
      return path
  return None


def _kept(manager):
  """What an input error leaves of the run, for its message."""
  if manager.latest_checkpoint:
    return f"the last good checkpoint {manager.latest_checkpoint} is kept"
  return "no checkpoint was written"


def check_masking_vocabulary(path, masker):
  """--dynamic_masking re-masks with the given vocabulary's special ids; the
  records' own [CLS]/[SEP] must be those ids, or every mask is wrong."""
  record = next(iter(tf.data.TFRecordDataset(path).take(1)))
  example = tf.train.Example.FromString(record.numpy())
  features = example.features.feature
  ids = features["input_ids"].int64_list.value
  length = sum(features["input_mask"].int64_list.value)
  first, last = ids[0], ids[length - 1]
  if (first, last) != (masker.cls_id, masker.sep_id):
    raise UsageError(
        f"--dynamic_masking: the records of {path} start with token id "
        f"{first} and end with {last}, but the given vocabulary's [CLS] and "
        f"[SEP] are {masker.cls_id} and {masker.sep_id}; pass the "
        "--spm_model_file or --vocab_file the data was created with")


# -- building the run ---------------------------------------------------------


def set_mixed_precision(mode):
  policy = {"none": "float32", "bfloat16": "mixed_bfloat16",
            "float16": "mixed_float16"}[mode]
  tf_keras.mixed_precision.set_global_policy(policy)


def make_masker(values, config):
  """The DynamicMasker for --dynamic_masking, or None."""
  if not values.dynamic_masking:
    return None
  from albert_tf.pretraining_data.dynamic_masking import DynamicMasker  # pylint: disable=g-import-not-at-top
  from albert_tf.pretraining_data.masking import MaskingConfig  # pylint: disable=g-import-not-at-top
  from albert_tf.tokenization.python_tokenizer import FullTokenizer  # pylint: disable=g-import-not-at-top
  tokenizer = FullTokenizer(values.vocab_file, spm_model_file=values.spm_model_file)
  ids = tokenizer.vocab
  masking = MaskingConfig(values.masked_lm_prob,
                          values.max_predictions_per_seq, values.ngram,
                          values.do_whole_word_mask,
                          values.favor_shorter_ngram)
  return DynamicMasker(masking, config.vocab_size, ids["[CLS]"], ids["[SEP]"],
                       ids["[MASK]"], seed=values.seed)


def dataset_fns(values, strategy, masker):
  replicas = strategy.num_replicas_in_sync
  for name, batch in (("train_batch_size", values.train_batch_size),
                      ("eval_batch_size", values.eval_batch_size)):
    if batch % replicas:
      raise UsageError(f"--{name}={batch} is not divisible by the "
                       f"{replicas} replicas of the strategy")
  try:
    check_divisible(values.train_batch_size,
                    values.gradient_accumulation_steps, replicas)
  except AccumulationError as e:
    raise UsageError(str(e)) from None

  def train_fn(context):
    return pretraining_dataset(
        values.input_file, values.train_batch_size // replicas,
        values.max_seq_length, values.max_predictions_per_seq,
        is_training=True, input_context=context, seed=values.seed,
        masker=masker, flag_name="input_file")

  eval_file = values.eval_input_file or values.input_file

  def eval_fn(context):
    # max_eval_steps counts global steps; a pipeline feeds this many
    # per-replica batches per step.
    per_step = max(1, context.num_replicas_in_sync //
                   context.num_input_pipelines)
    return pretraining_dataset(
        eval_file, values.eval_batch_size // replicas, values.max_seq_length,
        values.max_predictions_per_seq, is_training=False,
        input_context=context, flag_name="eval_input_file",
        drop_remainder=whole_eval_batches(strategy)).take(
            values.max_eval_steps * per_step)

  return train_fn, eval_fn


def whole_eval_batches(strategy):
  """Whether evaluation drops a partial last batch: only on TPU (static
  shapes), as the original did there; elsewhere every example counts."""
  return distribution.is_tpu_strategy(strategy)


def check_eval_size(values, strategy):
  """Refuses an evaluation that would see no example where only whole
  batches are evaluated: metrics of nothing would read 0 and make a
  meaningless model.ckpt-best. (Elsewhere every example is evaluated; the
  trainer still refuses to report an evaluation of nothing.)"""
  if not whole_eval_batches(strategy):
    return
  flag_name = "eval_input_file" if values.eval_input_file else "input_file"
  pattern = getattr(values, flag_name)
  available = count_records(record_files(pattern, flag_name,
                                         error=UsageError),
                            values.eval_batch_size)
  if available < values.eval_batch_size:
    raise UsageError(
        f"--{flag_name} {pattern} holds {available} records, fewer than "
        f"--eval_batch_size={values.eval_batch_size}: on TPU evaluation runs "
        "whole batches only (there would be nothing to evaluate); lower "
        "--eval_batch_size")


def initializer(model, values, print_fn):
  """init_fn for a fresh run: load --init_checkpoint into the model."""
  def init():
    if not values.init_checkpoint:
      print_fn("initialised from scratch (seed "
               f"{values.seed}); no --init_checkpoint")
      return
    try:
      report = load_checkpoint(model, values.init_checkpoint,
                               init_from_group0=values.init_from_group0)
    except (CheckpointMismatchError, FileNotFoundError, ValueError) as e:
      raise UsageError(f"--init_checkpoint {values.init_checkpoint}: {e}"
                       ) from None
    print_fn(f"initialised from --init_checkpoint: {report}")
  return init


def manifest_settings(values, config):
  """What a pretraining output_dir's checkpoints depend on; a resumed run
  must agree (extending num_train_steps or changing the schedule may)."""
  settings = {"albert_config": config.to_dict(),
              "max_seq_length": values.max_seq_length,
              "max_predictions_per_seq": values.max_predictions_per_seq,
              "train_batch_size": values.train_batch_size,
              "optimizer": values.optimizer, "seed": values.seed,
              "mixed_precision": values.mixed_precision,
              "dynamic_masking": values.dynamic_masking}
  if is_distilled(values):
    # Recorded only for distilled runs: plain runs' records stay as they
    # were. A distilled run resumes with the same teacher and weights.
    settings[DISTILLATION_KEY] = pretraining_teacher.manifest_entry(values)
  return settings


DISTILLATION_KEY = "distillation"


def is_distilled(values):
  """Whether the run trains from a teacher (evaluation needs none)."""
  return bool(values.do_train and values.teacher_checkpoint)


def manifest_may_change(values):
  """An evaluation of a distilled run's checkpoints names no teacher."""
  return () if values.do_train else (DISTILLATION_KEY,)



class PretrainingJob:
  """One pretraining run with `settings` (a PretrainingSettings).

  Attributes: settings (with a Hugging Face --init_checkpoint's files filled
  in), config, strategy, model, optimizer, trainer, checkpoint_manager,
  controller. The output_dir lock is held until close().
  """

  def __init__(self, settings, print_fn=None):
    self.settings = settings
    self.print_fn = print_fn or stdout_printer()
    self._held = contextlib.ExitStack()
    try:
      # orbit prints its progress dicts: to the INFO log, not the terminal
      # (print_fn was bound to the real stdout above).
      with orbit_prints_to_log():
        self._build()
    except BaseException:
      self.close()
      raise

  def close(self):
    """Releases output_dir for other runs."""
    self._held.close()

  def _build(self):
    values, print_fn = self.settings, self.print_fn
    check_placeholders(values)
    # A Hugging Face --init_checkpoint brings its config.json and spiece.model.
    values.albert_config_file, values.spm_model_file = resolve_model_files(
        values.init_checkpoint, values.albert_config_file,
        values.spm_model_file, vocab_file=values.vocab_file)
    check_flags(values)
    try:
      # Before TensorFlow runs anything: logical devices and multi-worker
      # collectives can only be set up at startup.
      strategy = distribution.strategy_from_settings(values)
    except (ValueError, RuntimeError) as e:
      if isinstance(e, UserError):
        raise
      raise UsageError(f"--distribution_strategy="
                       f"{values.distribution_strategy}: {e}") from None
    self.strategy = strategy
    self.config = config = read_config(values.albert_config_file,
                                       values.max_seq_length)
    for flag_name in ("input_file", "eval_input_file"):
      pattern = getattr(values, flag_name)
      if pattern and (flag_name == "input_file" or values.do_eval):
        inputs = record_files(pattern, flag_name, error=UsageError)
        # The first file only: opening thousands of shards (on GCS) would
        # delay the start by minutes. A corrupt file met later stops
        # training with its name (see the DataLossError in run()).
        check_records(inputs[:1], flag_name, values.max_seq_length,
                      values.max_predictions_per_seq, config.vocab_size)
    # The re-masking vocabulary and the initial weights are read before
    # anything is written: a wrong vocabulary or a damaged checkpoint must
    # not leave a half-made output_dir behind.
    masker = make_masker(values, config)
    if masker is not None:
      check_masking_vocabulary(
          record_files(values.input_file, "input_file", error=UsageError)[0],
          masker)
    train_fn, eval_fn = dataset_fns(values, strategy, masker)
    if values.do_eval:
      check_eval_size(values, strategy)
    try:
      verify_init_checkpoint(values.init_checkpoint, values.output_dir)
    except CheckpointError as e:
      raise UsageError(f"--init_checkpoint {values.init_checkpoint}: {e}"
                       ) from None
    if (not values.do_train and not values.init_checkpoint and
        not tf.io.gfile.exists(os.path.join(values.output_dir,
                                            "checkpoint"))):
      # Evaluating freshly initialised weights would write eval results and
      # a model.ckpt-best that mean nothing.
      raise UsageError(
          f"--do_eval without --do_train evaluates the checkpoint in "
          f"--output_dir {values.output_dir}, which has none; pass "
          "--init_checkpoint or train first")
    set_mixed_precision(values.mixed_precision)
    # The teacher is read before anything is written (a wrong teacher
    # leaves no half-made output_dir) and before the seed is set (its
    # random initial weights, overwritten by its checkpoint, take nothing
    # from the student's draws: with alpha 0 and no cosine loss the
    # student trains exactly as without a teacher).
    self.teacher = None
    if is_distilled(values):
      self.teacher = pretraining_teacher.load_teacher(values, config,
                                                      strategy, print_fn)
    # Worker 0 (the chief) alone writes summaries, results and final files.
    self.chief = chief = worker_position(strategy)[0] == 0
    output_dir = values.output_dir
    # Non-chief workers of a cluster save too (collectives), but elsewhere.
    checkpoint_dir = output_dir if chief else tempfile.mkdtemp(
        prefix="albert_worker_ckpt_")
    if chief:
      # One writer per output_dir, and only a run with the same model and
      # data settings may continue its checkpoints; both are checked before
      # anything is written. The settings are recorded (with the config)
      # once the model has its initial weights: a checkpoint that does not
      # fit leaves nothing behind.
      self._held.enter_context(files.lock_output_dir(output_dir,
                                                     flag_name="output_dir"))
      files.check_or_record(output_dir, manifest_settings(values, config),
                            name="pretraining", flag_name="output_dir",
                            may_change=manifest_may_change(values),
                            record=False)
    files.make_directories(output_dir)
    tf_keras.utils.set_random_seed(values.seed)

    with strategy.scope():
      model = AlbertPretrainer(
          config, recompute_activations=values.recompute_activations)
      names = {v.ref(): name for name, v in tf1_variable_map(model).items()}
      optimizer = optimization.create_optimizer(
          values.optimizer, values.learning_rate, values.num_train_steps,
          values.num_warmup_steps, values.start_warmup_step,
          values.poly_power, variable_names=names)
      if values.mixed_precision == "float16":
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
      # Slots exist before a restore, so resuming restores them too.
      optimizer.build(model.trainable_variables)
    self.model, self.optimizer = model, optimizer

    self.trainer = trainer = PretrainingTrainer(
        strategy, model, optimizer, values.train_batch_size,
        train_dataset_fn=train_fn if values.do_train else None,
        eval_dataset_fn=eval_fn if values.do_eval else None,
        use_xla=values.use_xla,
        gradient_accumulation_steps=values.gradient_accumulation_steps,
        seed=values.seed, distillation=self._distillation())
    self.global_step = global_step = optimizer.iterations
    tracked = {"model": model, "optimizer": optimizer}
    if values.do_train:
      tracked["train_iterator"] = trainer.train_iterator
    checkpoint = tf.train.Checkpoint(**tracked)
    if chief:
      # A damaged newest checkpoint (a crash while writing, a bad disk) is
      # skipped with a warning; the state file is pointed at the newest one
      # that reads, so the manager below resumes from it.
      latest_readable_checkpoint(checkpoint_dir, "model.ckpt",
                                 repair_state=True, warn=print_fn)
    self.checkpoint_manager = manager = tf.train.CheckpointManager(
        checkpoint, checkpoint_dir, max_to_keep=values.keep_checkpoint_max,
        checkpoint_name="model.ckpt", step_counter=global_step,
        checkpoint_interval=values.save_checkpoints_steps,
        init_fn=initializer(model, values, print_fn))
    if manager.latest_checkpoint:
      print_fn(f"resuming from {manager.latest_checkpoint}")

    import orbit  # pylint: disable=g-import-not-at-top
    self.summaries = summaries = os.path.join(output_dir, "summaries")
    # Made by TensorFlow, they would be 0755 whatever the umask.
    for name, wanted in (("train", values.do_train),
                         ("eval", values.do_eval)):
      if chief and wanted:
        files.make_directories(os.path.join(summaries, name))
    progress = ProgressReporter(global_step, values.num_train_steps,
                                print_fn)
    self.results = results = EvalResultsWriter(
        output_dir, global_step, model, is_chief=chief, print_fn=print_fn)
    self.controller = orbit.Controller(
        strategy=strategy,
        trainer=trainer if values.do_train else None,
        evaluator=trainer if values.do_eval else None,
        global_step=global_step,
        steps_per_loop=values.iterations_per_loop,
        checkpoint_manager=manager,
        summary_dir=os.path.join(summaries, "train") if chief else None,
        eval_summary_dir=os.path.join(summaries, "eval") if chief else None,
        train_actions=[progress], eval_actions=[results])
    # The controller has resumed or initialised the model (from
    # --init_checkpoint): the run will go ahead.
    if chief:
      files.check_or_record(output_dir, manifest_settings(values, config),
                            name="pretraining", flag_name="output_dir",
                            may_change=manifest_may_change(values))
      config.to_json_file(os.path.join(output_dir, "albert_config.json"))

  def _distillation(self):
    """The trainer's Distillation (None without a teacher)."""
    if self.teacher is None:
      return None
    values = self.settings
    return Distillation(self.teacher, values.distillation_temperature,
                        values.distillation_alpha,
                        values.distillation_cosine_weight)

  def run(self):
    """Trains and/or evaluates as the settings ask, then writes the final
    files; returns the final train and eval outputs."""
    with orbit_prints_to_log():
      return self._run()

  def _run(self):
    values, print_fn = self.settings, self.print_fn
    controller, manager = self.controller, self.checkpoint_manager
    output_dir, summaries = values.output_dir, self.summaries
    eval_output = None
    try:
      if values.do_train and values.do_eval:
        controller.train_and_evaluate(
            train_steps=values.num_train_steps, eval_steps=-1,
            eval_interval=values.save_checkpoints_steps)
        eval_output = self.results.best
      elif values.do_train:
        controller.train(values.num_train_steps)
      else:
        eval_output = controller.evaluate(steps=-1)
    except tf.errors.DataLossError as e:
      culprit = (_corrupt_file(values) or
                 "the TFRecords of --input_file / --eval_input_file")
      raise UsageError(
          f"corrupt record in {culprit} "
          f"({e.message.splitlines()[0]}); {_kept(manager)}") from None
    except tf.errors.InvalidArgumentError as e:
      culprit = _corrupt_file(values, parse=True)
      where = (f"the records of {culprit} do not parse with "
               f"--max_seq_length={values.max_seq_length} and "
               f"--max_predictions_per_seq={values.max_predictions_per_seq} "
               "(other lengths, or not create_pretraining_data output)"
               if culprit else
               "the input records do not fit the flags or the config")
      raise UsageError(
          f"{where} ({e.message.splitlines()[0]}); {_kept(manager)}"
      ) from None

    if values.do_train and self.chief:
      step = int(self.global_step.numpy())
      final = save_tf1_checkpoint(
          self.model, os.path.join(output_dir, "tf1", f"model.ckpt-{step}"),
          global_step=step)
      print_fn(f"wrote the final model with the original variable names: "
               f"{final}")
    if self.chief:
      print_fn(f"outputs in {output_dir}: checkpoints model.ckpt-*, "
               f"TensorBoard logs {summaries} (tensorboard --logdir "
               f"{summaries})" + (", eval_results.txt, model.ckpt-best"
                                  if values.do_eval else ""))
    return self.trainer.last_train_output, eval_output


def stdout_printer():
  """print_fn writing to the terminal's stdout as it is now (orbit's own
  prints are sent to the log by orbit_prints_to_log, ours are not)."""
  stdout = sys.stdout
  return lambda line: print(line, file=stdout, flush=True)


def run(settings, print_fn=None):
  """The whole job; returns the final train and eval outputs."""
  job = PretrainingJob(settings, print_fn)
  try:
    return job.run()
  finally:
    job.close()
