"""The frozen teacher of a distilled pretraining run (--teacher_checkpoint).

DistilBERT's recipe (Sanh et al. 2019) for ALBERT: the student learns the
teacher's MLM distribution at the masked positions (soft targets with a
temperature), the gold MLM labels, and the directions of the teacher's
final hidden states (a cosine loss). The teacher is an AlbertPretrainer
read once when the job is built, with every weight (the MLM head
included) from its checkpoint; it has no trainable variables, runs without
dropout, and is not part of the student's checkpoints, so a resumed run
reads it again from --teacher_checkpoint.
"""

import os

import tensorflow as tf

from albert_tf.checkpoints import load_checkpoint
from albert_tf.checkpoints.hf_checkpoint import is_hf_directory
from albert_tf.config import AlbertConfig
from albert_tf.errors import UserError
from albert_tf.modeling import AlbertPretrainer
from albert_tf.training.pretraining_settings import UsageError

FLAG = "--teacher_checkpoint"
# What a run_pretraining --output_dir holds (pretraining_job writes them).
CONFIG_FILE = "albert_config.json"
BEST_CHECKPOINT = "model.ckpt-best"
HF_CONFIG_FILE = "config.json"


def teacher_files(teacher_checkpoint, teacher_config_file=None):
  """(config file, checkpoint path) of the teacher.

  A run_pretraining --output_dir gives its albert_config.json and its
  model.ckpt-best (else its newest checkpoint); a Hugging Face directory
  its config.json; a checkpoint prefix the albert_config.json beside it.
  --teacher_config_file, when given, is the config in every case.
  """
  path = os.fspath(teacher_checkpoint)
  is_directory = tf.io.gfile.isdir(path)
  if not is_directory and not tf.io.gfile.exists(path + ".index"):
    raise UsageError(
        f"{FLAG} {path}: no such checkpoint (expected a checkpoint prefix "
        "with a .index file, a run_pretraining --output_dir or a Hugging "
        "Face ALBERT directory)")
  checkpoint = path
  if is_directory and is_hf_directory(path):
    default_config = os.path.join(path, HF_CONFIG_FILE)
  elif is_directory:
    default_config = os.path.join(path, CONFIG_FILE)
    best = os.path.join(path, BEST_CHECKPOINT)
    if tf.io.gfile.exists(best + ".index"):
      checkpoint = best
  else:
    default_config = os.path.join(os.path.dirname(path), CONFIG_FILE)
  config_file = teacher_config_file or default_config
  if not tf.io.gfile.exists(config_file):
    raise UsageError(
        f"{FLAG} {path}: its config {config_file} does not exist; pass "
        "--teacher_config_file")
  return config_file, checkpoint


def read_teacher_config(config_file, student_config, settings):
  """The teacher's AlbertConfig, checked against the student's."""
  try:
    config = AlbertConfig.from_json_file(config_file)
  except (UserError, OSError, ValueError) as e:
    raise UsageError(f"--teacher_config_file {config_file}: {e}") from None
  if config.vocab_size != student_config.vocab_size:
    raise UsageError(
        f"{FLAG}: the teacher's vocab_size {config.vocab_size} "
        f"({config_file}) differs from the student's "
        f"{student_config.vocab_size}; soft MLM targets need the same "
        "vocabulary")
  if settings.max_seq_length > config.max_position_embeddings:
    raise UsageError(
        f"{FLAG}: --max_seq_length={settings.max_seq_length} exceeds the "
        f"teacher's max_position_embeddings={config.max_position_embeddings}"
        f" ({config_file})")
  if (settings.distillation_cosine_weight > 0 and
      config.hidden_size != student_config.hidden_size):
    raise UsageError(
        f"{FLAG}: the teacher's hidden_size {config.hidden_size} "
        f"({config_file}) differs from the student's "
        f"{student_config.hidden_size}; the cosine loss compares hidden "
        "states of the same width (pass --distillation_cosine_weight=0 to "
        "distil the MLM distribution only)")
  return config


def load_teacher(settings, student_config, strategy, print_fn):
  """The frozen teacher, built under `strategy` and loaded; one line says
  what was loaded."""
  config_file, checkpoint = teacher_files(settings.teacher_checkpoint,
                                          settings.teacher_config_file)
  config = read_teacher_config(config_file, student_config, settings)
  with strategy.scope():
    teacher = AlbertPretrainer(config, name="teacher")
  try:
    report = load_checkpoint(teacher, checkpoint)
  except (UserError, OSError, ValueError) as e:
    raise UsageError(f"{FLAG} {checkpoint}: {e}") from None
  # Frozen: not in the optimizer's variables, so never updated.
  teacher.trainable = False
  # A TF2 checkpoint's report is its prefix; the others say what they read.
  summary = (f"loaded {report}" if isinstance(report, str)
             else str(report).splitlines()[0])
  print_fn(f"distilling from the teacher {checkpoint} "
           f"({config.num_hidden_layers} layers, hidden_size "
           f"{config.hidden_size}): {summary}")
  return teacher


def manifest_entry(settings):
  """What a distilled run's checkpoints also depend on: a resumed run must
  distil from the same teacher with the same weights of the losses."""
  return {"checkpoint": os.path.abspath(settings.teacher_checkpoint),
          "temperature": settings.distillation_temperature,
          "alpha": settings.distillation_alpha,
          "cosine_weight": settings.distillation_cosine_weight}
