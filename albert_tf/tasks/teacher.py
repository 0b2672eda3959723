"""The teacher of a distilled fine-tuning run (--teacher_checkpoint).

The teacher is a fine-tuning output directory of the same task: its
finetuning manifest holds the teacher's albert_config, task and tokenizer,
its label_list.txt the labels, best/ (else the newest checkpoint) the
weights. The runner checks it against the student before anything is
written (read_teacher, check_teacher; the labels once the student's are
known, check_labels), then builds it beside the student in the strategy's
scope (build_teacher): frozen, called in inference mode (no dropout), and
not part of the student's checkpoints.
"""

import copy
import dataclasses
import os

import tensorflow as tf

from albert_tf import checkpoints
from albert_tf.checkpoints import integrity
from albert_tf.config import AlbertConfig
from albert_tf.errors import CheckpointError
from albert_tf.errors import FlagError
from albert_tf.errors import MissingInputError
from albert_tf.errors import UserError
from albert_tf.files import run_manifest
from albert_tf.training.finetuning_trainer import BEST_DIR
from albert_tf.training.finetuning_trainer import BEST_PREFIX

FLAG = "--teacher_checkpoint"
MANIFEST_NAME = "finetuning"
LABEL_LIST_FILE = "label_list.txt"


@dataclasses.dataclass
class Teacher:
  """A fine-tuned teacher, as read from its output directory."""
  directory: str
  config: AlbertConfig
  checkpoint: str          # The checkpoint prefix whose weights it has.
  manifest: dict           # The directory's finetuning manifest.
  labels: list | None      # label_list.txt, when the task writes one.


def find_finetuned_checkpoint(directory):
  """best/model.ckpt of a fine-tuning output directory, else its newest
  readable training checkpoint, else None."""
  best = os.path.join(directory, BEST_DIR, BEST_PREFIX)
  if tf.io.gfile.exists(best + ".index"):
    return best
  return integrity.latest_readable_checkpoint(directory, "model.ckpt")


def read_finetuning_manifest(directory):
  """The finetuning manifest of `directory` if it has one with a config."""
  if not directory or not os.path.isdir(directory):
    return None
  manifest = run_manifest.read_manifest(directory, MANIFEST_NAME)
  if not isinstance(manifest, dict) or not isinstance(
      manifest.get("albert_config"), dict):
    return None
  return manifest


def read_teacher(directory):
  """The Teacher in `directory`; UserError when it is not one."""
  if not os.path.isdir(directory):
    raise MissingInputError(
        f"{FLAG} {directory} is not a directory (expected the output "
        "directory of a fine-tuning run of this task)")
  manifest = read_finetuning_manifest(directory)
  if manifest is None:
    raise CheckpointError(
        f"{FLAG} {directory} is not a fine-tuning output directory: it has "
        f"no {run_manifest.manifest_path('', MANIFEST_NAME)} with the "
        "teacher's albert_config")
  config = AlbertConfig.from_dict(
      manifest["albert_config"],
      source=run_manifest.manifest_path(directory, MANIFEST_NAME))
  checkpoint = find_finetuned_checkpoint(directory)
  if checkpoint is None:
    raise CheckpointError(
        f"{FLAG} {directory} holds no fine-tuned checkpoint (neither "
        f"{BEST_DIR}/{BEST_PREFIX} nor model.ckpt-N): train the teacher "
        "first")
  try:
    # Every tensor read now, before the student's run writes anything (as
    # --init_checkpoint is).
    integrity.verify_checkpoint(checkpoint)
  except UserError as e:
    raise CheckpointError(f"{FLAG} {directory}: {first_line(e)}") from e
  labels = None
  label_path = os.path.join(directory, LABEL_LIST_FILE)
  if os.path.exists(label_path):
    with open(label_path, encoding="utf-8") as f:
      labels = [line.rstrip("\n") for line in f if line.strip()]
  return Teacher(directory, config, checkpoint, manifest, labels)


def first_line(error):
  """The first line of a UserError's message (some list every file)."""
  return str(error).strip().splitlines()[0][:300]


def _differs(name, teacher_value, student_value):
  return (f"{FLAG} {{directory}} was fine-tuned with {name} "
          f"{teacher_value!r} but this run has {student_value!r}")


def check_teacher(teacher, student_manifest, config):
  """Raises a UserError when the teacher cannot teach this student.

  student_manifest: what runner.manifest_settings records for the student
  (task, task_name, tokenizer, do_lower_case, max_seq_length).
  """
  recorded = teacher.manifest
  problems = []
  # "task" (the task class) is recorded by runs since distillation came;
  # older directories are told apart by task_name only.
  if "task" in recorded and recorded["task"] != student_manifest.get("task"):
    problems.append(
        f"{FLAG} {{directory}} is a {recorded['task']} model but this run "
        f"trains a {student_manifest.get('task')}: expected the output "
        "directory of a fine-tuning run of the same task")
  elif ("task_name" in recorded and
        recorded["task_name"] != student_manifest.get("task_name")):
    problems.append(_differs("--task_name", recorded["task_name"],
                             student_manifest.get("task_name")))
  if not problems and teacher.config.vocab_size != config.vocab_size:
    problems.append(
        f"{FLAG} {{directory}} has vocab_size {teacher.config.vocab_size} "
        f"but the student's config has {config.vocab_size}: teacher and "
        "student must share the tokenizer")
  if not problems:
    for key in ("tokenizer", "do_lower_case"):
      if key in recorded and recorded[key] != student_manifest.get(key):
        problems.append(_differs(key, recorded[key],
                                 student_manifest.get(key)) +
                        " (teacher and student must share the tokenizer)")
        break
  seq_length = student_manifest.get("max_seq_length")
  if not problems and seq_length and (
      seq_length > teacher.config.max_position_embeddings):
    problems.append(
        f"--max_seq_length {seq_length} exceeds the teacher's "
        f"max_position_embeddings {teacher.config.max_position_embeddings} "
        f"({FLAG} {{directory}})")
  if problems:
    raise FlagError(problems[0].format(directory=teacher.directory))


def check_labels(teacher, student_labels):
  """The teacher's label list must be the student's, in the same order
  (logit k means the same label to both)."""
  student_labels = list(student_labels or [])
  if teacher.labels is None or not student_labels:
    return
  if teacher.labels != student_labels:
    raise FlagError(
        f"{FLAG} {teacher.directory} has labels {teacher.labels} "
        f"({LABEL_LIST_FILE}) but the student's are {student_labels}: "
        "distillation needs the same label list in the same order")


def build_teacher(task, teacher):
  """The teacher's task model with its fine-tuned weights, frozen.

  Built by the student's task with the teacher's config (same head, same
  labels); call it in the strategy's scope.
  """
  teacher_task = copy.copy(task)
  teacher_task.config = teacher.config
  # The teacher never trains: nothing to recompute.
  teacher_task.settings = dataclasses.replace(task.settings,
                                              recompute_activations="none")
  model = teacher_task.build_model()
  try:
    checkpoints.load_tf2_checkpoint(model, teacher.checkpoint)
  except UserError as e:
    # Readable (read_teacher read every tensor) but not this model's.
    raise CheckpointError(
        f"{FLAG} {teacher.directory}: its checkpoint {teacher.checkpoint} "
        f"does not fit this task's model with the teacher's config (a "
        f"teacher of another task?): {first_line(e)}") from e
  model.trainable = False
  return model
