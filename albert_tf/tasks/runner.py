"""Runs any fine-tuning task: train, keep the best, evaluate, predict, export.

  job = runner.run(ClassificationTask, settings)   # what the flags ask for

FinetuningJob builds the config, tokenizer, task, strategy and trainer
from the task's settings, then does what do_train / do_eval / do_predict /
export_dir ask, with the same files and printed lines for every task:
checkpoints, best/ (+ best_metrics.json), eval_history.jsonl,
eval_results.txt (`key = value`) and the task's prediction files.
"""

import contextlib
import dataclasses
import os

from absl import logging
import tf_keras

from albert_tf import files
from albert_tf import presets
from albert_tf import settings as settings_lib
from albert_tf.checkpoints import encoder_init
from albert_tf.checkpoints import hf_checkpoint
from albert_tf.errors import FlagError
from albert_tf.errors import UserError
from albert_tf.tasks import base_task
from albert_tf.tasks import teacher as teacher_lib
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.tokenization import python_input_packer
from albert_tf.training import distillation_loss
from albert_tf.training import distribution
from albert_tf.training import finetuning_trainer
from albert_tf.training import gradient_accumulation
from albert_tf.training.finetuning_trainer import FinetuningTrainer
from albert_tf.training.finetuning_trainer import NoCheckpointError

EVAL_RESULTS_FILE = "eval_results.txt"


def load_config(settings):
  config = presets.load_config(settings.albert_config_file, settings.preset)
  if settings.max_seq_length < 3:  # [CLS] a token [SEP]
    raise FlagError(f"--max_seq_length must be at least 3, got "
                    f"{settings.max_seq_length}")
  if settings.max_seq_length > config.max_position_embeddings:
    raise FlagError(
        f"--max_seq_length {settings.max_seq_length} exceeds the model's "
        f"max_position_embeddings {config.max_position_embeddings}")
  return config


def make_tokenizer(settings, config):
  tokenizer = python_input_packer.make_tokenizer(
      settings.vocab_file, settings.spm_model_file, settings.do_lower_case)
  size = len(tokenizer.vocab)
  if size > config.vocab_size:
    raise FlagError(f"the tokenizer has {size} tokens but the model's "
                    f"vocab_size is {config.vocab_size}")
  return tokenizer


def make_strategy(settings):
  """The distribution strategy; devices that are not there (no TPU by that
  name, fewer GPUs) are the user's to fix."""
  try:
    return distribution.strategy_from_settings(settings)
  except (ValueError, RuntimeError) as e:
    if isinstance(e, UserError):
      raise
    raise FlagError(f"--distribution_strategy="
                    f"{settings.distribution_strategy}: {e}") from None


def check_inference_source(settings):
  """Evaluating, predicting or exporting without training needs a model:
  a fine-tuned checkpoint in output_dir, or a Hugging Face --init_checkpoint
  (a fine-tuned AlbertFor... directory)."""
  if settings.do_train or not (settings.do_eval or settings.do_predict or
                               settings.export_dir):
    return
  if hf_checkpoint.is_hf_directory(settings.init_checkpoint):
    return
  if not finetuning_trainer.has_finetuned_checkpoint(settings.output_dir):
    raise NoCheckpointError(
        f"no fine-tuned checkpoint in --output_dir {settings.output_dir}; "
        "run with --do_train first")


def make_init_fn(init_checkpoint):
  """init_fn for the trainer's restore_or_initialize: loads model.encoder."""
  if not init_checkpoint:
    return None

  def init_fn(model):
    return encoder_init.init_encoder(model.encoder, init_checkpoint)
  return init_fn


def export_serving(task_model, output_names, settings, seq_length=None,
                   multiple_choice=None, text_tagging=None, version=None,
                   overwrite=True):
  """TF Serving export via tfhub_export.serving_export.

  serving_default takes raw text (tokenized in graph) and returns the named
  outputs: output_names lists the task model's keys, or maps them to served
  names. multiple_choice, text_tagging, version (default: the next one),
  overwrite: see export_serving_model (run_race, run_token_classification).
  Returns the export path.
  """
  from tfhub_export import serving_export  # pylint: disable=g-import-not-at-top
  return serving_export.export_serving_model(
      task_model, settings.export_dir, spm_model_file=settings.spm_model_file,
      vocab_file=None if settings.spm_model_file else settings.vocab_file,
      do_lower_case=settings.do_lower_case,
      seq_length=seq_length or settings.max_seq_length, version=version,
      overwrite=overwrite,
      output_names=(dict(output_names) if isinstance(output_names, dict)
                    else list(output_names)),
      multiple_choice=multiple_choice, text_tagging=text_tagging)


def write_eval_results(path, metrics, step=None):
  """The original's eval_results.txt: `key = value` lines."""
  lines = []
  if step is not None:
    lines.append(f"global_step = {step}")
  lines += [f"{key} = {value}" for key, value in sorted(metrics.items())]
  write_text_atomically(path, "\n".join(lines) + "\n")


def manifest_settings(settings, config, task_class=None):
  """What a fine-tuning output_dir's contents depend on (the schedule and
  the number of steps may change between runs)."""
  # What the exports are made with may change between runs (an evaluation
  # with another max_answer_length); the record keeps the first run's.
  task = ({"task": task_class.model_kind(settings),
           "export_settings": task_class.export_settings(settings)}
          if task_class is not None else {})
  teacher = {}
  if settings.do_train:
    # The soft targets shape the weights as the data do: a resumed run
    # must distil from the same teacher, the same way, and a plain run
    # (teacher None) may not go on distilled, nor the other way round.
    teacher = {"teacher": None if not settings.teacher_checkpoint else {
        "checkpoint": os.path.abspath(settings.teacher_checkpoint),
        "temperature": settings.distillation_temperature,
        "alpha": settings.distillation_alpha}}
  return {**task, **teacher,
          "task_name": getattr(settings, "task_name", None),
          "albert_config": config.to_dict(),
          "max_seq_length": settings.max_seq_length,
          "tokenizer": os.path.basename(settings.spm_model_file or
                                        settings.vocab_file or ""),
          "do_lower_case": settings.do_lower_case,
          "labels": list(getattr(settings, "labels", None) or []) or None,
          # Training only: with the step in the checkpoint, the seed fixes
          # the input order and the dropout masks, so a resumed run goes on
          # as the uninterrupted one would. Evaluating or predicting does not
          # depend on it.
          **({"seed": settings.seed} if settings.do_train else {})}


# A run that does not train may use any seed and needs no teacher (see
# manifest_settings); no run is refused for other export settings.
MAY_CHANGE = ("export_settings",)
MAY_CHANGE_WITHOUT_TRAINING = MAY_CHANGE + ("seed", "teacher")


def distillation_loss_fn(task, settings):
  """(labels, outputs, teacher_outputs) → per-example
  alpha * soft loss + (1 - alpha) * gold loss (training/distillation_loss)."""
  alpha = settings.distillation_alpha
  temperature = settings.distillation_temperature

  def loss_fn(labels, outputs, teacher_outputs):
    return distillation_loss.combine(
        task.distillation_losses(labels, outputs, teacher_outputs,
                                 temperature),
        task.build_losses(labels, outputs), alpha)
  return loss_fn


def with_hugging_face_files(settings):
  """A Hugging Face --init_checkpoint brings its config.json and spiece.model
  as the defaults of --albert_config_file and --spm_model_file."""
  config_file, spm_model_file = hf_checkpoint.resolve_model_files(
      settings.init_checkpoint, settings.albert_config_file,
      settings.spm_model_file, preset=settings.preset,
      vocab_file=settings.vocab_file)
  return dataclasses.replace(settings, albert_config_file=config_file,
                             spm_model_file=spm_model_file)


class FinetuningJob:
  """One fine-tuning run of `task_class` with `settings`.

  Attributes: settings (resolved: derived values filled in), config,
  tokenizer, task, trainer.
  """

  def __init__(self, task_class, settings):
    settings = with_hugging_face_files(settings)
    self.settings = settings = task_class.resolve_settings(settings)
    self.config = load_config(settings)
    self.tokenizer = make_tokenizer(settings, self.config)
    # Everything that needs neither the data nor output_dir is checked
    # before anything is written: the flags, the devices, the initial
    # weights (the model loads them only once training has set up
    # output_dir), and that the train, dev and test files are there (not
    # found missing after hours of training).
    settings.check_before_data()
    strategy = make_strategy(settings)
    gradient_accumulation.check_divisible(
        settings.train_batch_size, settings.gradient_accumulation_steps,
        strategy.num_replicas_in_sync)
    encoder_init.verify_init_checkpoint(settings.init_checkpoint,
                                        settings.output_dir, self.config)
    check_inference_source(settings)
    self.teacher = None  # Read and checked only for training.
    if settings.do_train and settings.teacher_checkpoint:
      self.teacher = teacher_lib.read_teacher(settings.teacher_checkpoint)
      teacher_lib.check_teacher(
          self.teacher, manifest_settings(settings, self.config, task_class),
          self.config)
    self.task = task_class(settings, self.config, self.tokenizer)
    for split in self.task.splits_used():
      self.task.check_split_files(split)
    # One writer per output_dir, and the directory's checkpoints, records
    # and label list only serve a run with the same model and data
    # settings: both are checked before anything is written. The lock is
    # held until close(). The settings are recorded once the task has read
    # its data (prepare): unreadable data leaves no manifest behind.
    self._held = contextlib.ExitStack()
    self._held.enter_context(files.lock_output_dir(settings.output_dir,
                                                   flag_name="output_dir"))
    try:
      manifest = manifest_settings(settings, self.config, task_class)
      may_change = (MAY_CHANGE if settings.do_train
                    else MAY_CHANGE_WITHOUT_TRAINING)
      files.check_or_record(settings.output_dir, manifest,
                            name="finetuning", may_change=may_change,
                            flag_name="output_dir", record=False)
      # prepare() may derive settings from the data (SQuAD's epochs →
      # steps).
      self.task.prepare()
      self.settings = settings = self.task.settings
      # The files read after training are read (and checked) now.
      for split in self.task.inference_splits():
        self.task.read_split(split)
      loss_fn, build_teacher = self.task.build_losses, None
      if self.teacher is not None:
        teacher_lib.check_labels(self.teacher,
                                 getattr(self.task, "label_list", None))
        loss_fn = distillation_loss_fn(self.task, settings)
        build_teacher = lambda: teacher_lib.build_teacher(self.task,
                                                          self.teacher)
      tf_keras.utils.set_random_seed(settings.seed)
      self.trainer = FinetuningTrainer(
          strategy, self.task.build_model, loss_fn, settings,
          build_teacher=build_teacher)
      if self.teacher is not None:
        logging.info("distilling from %s (%d layers, hidden size %d): "
                     "temperature %g, alpha %g", self.teacher.checkpoint,
                     self.teacher.config.num_hidden_layers,
                     self.teacher.config.hidden_size,
                     settings.distillation_temperature,
                     settings.distillation_alpha)
      files.check_or_record(settings.output_dir, manifest,
                            name="finetuning", may_change=may_change,
                            flag_name="output_dir")
    except BaseException:
      self.close()
      raise

  def close(self):
    """Releases output_dir for other runs."""
    self._held.close()

  def load_for_inference(self):
    """The fine-tuned checkpoint in output_dir; without one, a fine-tuned
    Hugging Face --init_checkpoint (encoder and task head), so an HF model
    is evaluated, predicted or exported without training."""
    try:
      return self.trainer.load_for_inference()
    except NoCheckpointError:
      if not hf_checkpoint.is_hf_directory(self.settings.init_checkpoint):
        raise
      return hf_checkpoint.load_hf_checkpoint(self.trainer.model,
                                              self.settings.init_checkpoint)

  def predict(self, split, batch_size=None):
    """The model's outputs over a split (numpy arrays, in input order)."""
    if batch_size is None:
      batch_size = (self.settings.predict_batch_size
                    if split == self.task.predict_split
                    else self.settings.eval_batch_size)
    dataset = self.task.build_inputs(split, batch_size, is_training=False)
    return self.trainer.predict(dataset, self.task.prediction_keys)

  def infer(self, split, write_predictions=False):
    """(metrics or None, messages): predicts a split, scores, writes files."""
    metrics, predictions = self.task.aggregate(split, self.predict(split))
    messages = []
    if write_predictions:
      messages = self.task.write_predictions(split, predictions) or []
    return metrics, messages

  def evaluate(self, split=None):
    """Metrics on the evaluation split with the model as it is now."""
    metrics, _ = self.infer(split or self.task.eval_split)
    return metrics or {}

  def train(self):
    """Resumes or initialises, then trains; returns [(step, mean loss)]."""
    logging.info(self.trainer.restore_or_initialize(
        make_init_fn(self.settings.init_checkpoint)))
    eval_split = self.task.training_eval_split()
    evaluate_fn = None
    if eval_split is not None:
      evaluate_fn = lambda: self.evaluate(eval_split)
    dataset = self.task.build_inputs(base_task.TRAIN,
                                     self.settings.train_batch_size,
                                     is_training=True)
    return self.trainer.fit(
        dataset, evaluate_fn,
        self.task.best_metric if evaluate_fn else None,
        self.task.higher_is_better)

  def export(self, version=None, overwrite=True):
    """The TF Serving export of the model load_for_inference() loaded (the
    best, else the newest) to settings.export_dir (version: the next one
    unless given)."""
    return export_serving(self.task.serving_model(self.trainer.model),
                          self.task.serving_outputs(), self.settings,
                          version=version, overwrite=overwrite,
                          **self.task.serving_options())

  def run(self, print_fn=print):
    """Does what the settings ask for."""
    settings = self.settings
    if settings.do_train:
      self.train()
    if settings.do_eval or settings.do_predict or settings.export_dir:
      logging.info("using %s", self.load_for_inference())
    for split in self.task.inference_splits():
      metrics, messages = self.infer(split, write_predictions=True)
      for line in messages:
        print_fn(line)
      if metrics is not None:
        write_eval_results(
            os.path.join(settings.output_dir, EVAL_RESULTS_FILE), metrics)
        for key, value in sorted(metrics.items()):
          print_fn(self.task.metric_line.format(key=key, value=value))
    if settings.export_dir:
      print_fn(f"exported {self.export()}")
    return self


def run(task_class, settings):
  """Runs a task as its settings ask; returns the FinetuningJob."""
  job = FinetuningJob(task_class, settings)
  try:
    return job.run()
  finally:
    job.close()


def settings_maker(task_class):
  """An entry point's defaults(**values): the task's settings from Python."""
  def defaults(**values):
    """The task's settings: the flag defaults with `values` on top."""
    return settings_lib.defaults(task_class.settings_class, **values)
  return defaults


def task_runner(task_class):
  """An entry point's run(settings) → FinetuningJob."""
  def run_task(settings):
    """Does what the settings ask for; returns the FinetuningJob."""
    return run(task_class, settings)
  return run_task
