"""run_pretraining --teacher_checkpoint: DistilBERT's recipe on tiny models.

The teacher is run_pretraining_test's tiny 2-layer model trained 30 steps;
students have 1 layer of the same widths.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from albert_tf.training import pretraining_job
from albert_tf.training import pretraining_teacher
from albert_tf.training.distillation_loss import soft_cross_entropy
from albert_tf.training.hidden_state_distillation import cosine_distance
from albert_tf.training.pretraining_settings import UsageError
from cli_helpers import run_module
from run_pretraining_test import PRED
from run_pretraining_test import SEQ
from run_pretraining_test import TINY_CONFIG
from run_pretraining_test import final_weights
from run_pretraining_test import flag_args
from run_pretraining_test import parse
from run_pretraining_test import step_losses
from run_pretraining_test import train_in_process
from run_pretraining_test import write_records

STUDENT = "student_config.json"
DROPOUT_STUDENT = "student_dropout_config.json"
# Short student runs: 10 steps, a progress line and a checkpoint every 5.
SHORT = dict(num_train_steps=10, save_checkpoints_steps=5,
             iterations_per_loop=5)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
  root = tmp_path_factory.mktemp("distillation")
  for shard in range(2):
    write_records(str(root / f"train-{shard}.tfrecord"), 96, seed=shard)
  write_records(str(root / "eval.tfrecord"), 16, seed=7)
  (root / "albert_config.json").write_text(json.dumps(TINY_CONFIG))
  (root / STUDENT).write_text(json.dumps(dict(TINY_CONFIG,
                                              num_hidden_layers=1)))
  (root / DROPOUT_STUDENT).write_text(json.dumps(dict(
      TINY_CONFIG, num_hidden_layers=1, hidden_dropout_prob=0.1,
      attention_probs_dropout_prob=0.1)))
  return root


@pytest.fixture(scope="module")
def teacher(data, tmp_path_factory):
  """A run_pretraining --output_dir: model.ckpt-best and albert_config.json."""
  output_dir = tmp_path_factory.mktemp("teacher")
  train_in_process(data, output_dir, do_eval=True)
  return output_dir


def student(data, output_dir, teacher_dir=None, **overrides):
  values = dict(SHORT, albert_config_file=data / STUDENT)
  if teacher_dir is not None:
    values["teacher_checkpoint"] = teacher_dir
  values.update(overrides)
  (train_output, _), lines = train_in_process(data, output_dir, **values)
  return train_output, lines


def _summaries(output_dir, tag):
  """[(step, value)] of a train summary."""
  found = []
  for path in tf.io.gfile.glob(str(output_dir / "summaries" / "train" /
                                   "*")):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          found.append((event.step,
                        float(tf.make_ndarray(value.tensor))))
  return sorted(found)


def test_the_losses_against_numpy():
  rng = np.random.default_rng(0)
  teacher_logits = rng.normal(size=(2, 3, 7)).astype(np.float32)
  student_logits = rng.normal(size=(2, 3, 7)).astype(np.float32)
  t = 2.0

  def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))

  expected = -(np.exp(log_softmax(teacher_logits / t)) *
               log_softmax(student_logits / t)).sum(-1) * t * t
  np.testing.assert_allclose(
      soft_cross_entropy(teacher_logits, student_logits, t), expected,
      rtol=1e-5)
  a = rng.normal(size=(2, 3, 5)).astype(np.float32)
  b = rng.normal(size=(2, 3, 5)).astype(np.float32)
  cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(
      b, axis=-1)
  np.testing.assert_allclose(cosine_distance(a, b), 1 - cosine, atol=1e-6)


def test_alpha_zero_without_cosine_trains_as_without_a_teacher(
    data, teacher, tmp_path):
  _, plain = student(data, tmp_path / "plain")
  _, lines = student(data, tmp_path / "distilled", teacher,
                     distillation_alpha=0.0, distillation_cosine_weight=0.0)
  assert any(line.startswith("distilling from the teacher") and
             "model.ckpt-best" in line for line in lines), lines
  np.testing.assert_allclose(step_losses(lines), step_losses(plain),
                             rtol=1e-6)
  expected = final_weights(tmp_path / "plain")
  for name, value in final_weights(tmp_path / "distilled").items():
    np.testing.assert_allclose(value, expected[name], atol=1e-6,
                               err_msg=name)


def test_the_teacher_teaches_and_the_distillation_losses_fall(
    data, teacher, tmp_path):
  output_dir = tmp_path / "distilled"
  train_output, _ = student(data, output_dir, teacher,
                            distillation_alpha=1.0, num_train_steps=20,
                            save_checkpoints_steps=10)
  soft = _summaries(output_dir, "soft_mlm_loss")
  cosine = _summaries(output_dir, "cosine_loss")
  assert len(soft) == len(cosine) == 4, (soft, cosine)
  assert soft[-1][1] < soft[0][1] - 0.1, soft
  assert cosine[-1][1] < cosine[0][1], cosine
  # total = alpha·soft + (1 - alpha)·mlm + sop + cosine_weight·cosine.
  assert train_output["total_loss"] == pytest.approx(
      train_output["soft_mlm_loss"] + train_output["sop_loss"] +
      train_output["cosine_loss"], rel=1e-5)
  # alpha 1 learns from the teacher alone: not the gold-only trajectory.
  _, gold_only = student(data, tmp_path / "gold", teacher,
                         distillation_alpha=0.0, num_train_steps=20,
                         save_checkpoints_steps=10)
  gold = final_weights(tmp_path / "gold")
  got = final_weights(output_dir)
  assert max(float(np.abs(got[name] - gold[name]).max())
             for name in gold) > 1e-3
  # The teacher is nobody's variable: not in the student's checkpoints.
  reader = tf.train.load_checkpoint(str(output_dir / "model.ckpt-20"))
  assert not [name for name in reader.get_variable_to_shape_map()
              if "teacher" in name]


@pytest.fixture(scope="module")
def one_device(data, teacher, tmp_path_factory):
  """A distilled student's 10 steps on one device: (output_dir, lines)."""
  output_dir = tmp_path_factory.mktemp("one_device")
  _, lines = student(data, output_dir, teacher)
  return output_dir, lines


# The losses' denominators are global: two micro-batches, or two replicas
# each with its own copy of the teacher, take the same steps.
def test_accumulation_gives_the_same_distilled_steps(data, teacher,
                                                     one_device, tmp_path):
  _, split = student(data, tmp_path / "split", teacher,
                     gradient_accumulation_steps=2)
  np.testing.assert_allclose(step_losses(split), step_losses(one_device[1]),
                             rtol=1e-5)


def test_two_replicas_give_the_same_distilled_steps(data, teacher,
                                                    one_device, tmp_path):
  result = run_module("albert_tf.run_pretraining", *flag_args(
      data, tmp_path / "mirrored", albert_config_file=data / STUDENT,
      teacher_checkpoint=teacher, distribution_strategy="mirrored",
      num_cpu_devices=2, **SHORT))
  assert result.returncode == 0, result.stderr
  np.testing.assert_allclose(step_losses(result.stdout.splitlines()),
                             step_losses(one_device[1]), atol=2e-4)
  expected = final_weights(one_device[0])
  for name, value in final_weights(tmp_path / "mirrored").items():
    np.testing.assert_allclose(value, expected[name], atol=2e-4,
                               err_msg=name)


def test_a_distilled_run_resumes_to_the_same_weights(data, teacher,
                                                     tmp_path):
  # Dropout on (seeded per step): the resumed run must draw the same masks.
  run = dict(SHORT, albert_config_file=data / DROPOUT_STUDENT,
             teacher_checkpoint=teacher)
  student(data, tmp_path / "straight", **run)
  # Stopped after its checkpoint at step 5 (same schedule: num_train_steps
  # stays 10), then run again with the same flags.
  job = pretraining_job.PretrainingJob(
      parse(flag_args(data, tmp_path / "resumed", **run)),
      print_fn=lambda line: None)
  try:
    job.controller.train(steps=5)
  finally:
    job.close()
  _, second = student(data, tmp_path / "resumed", **run)
  assert any(line.startswith("resuming from") for line in second), second
  assert any(line.startswith("distilling from") for line in second)
  expected = final_weights(tmp_path / "straight")
  for name, value in final_weights(tmp_path / "resumed").items():
    np.testing.assert_allclose(value, expected[name], atol=1e-6,
                               err_msg=name)
  # Another teacher setting is refused before anything is written.
  from albert_tf import files  # pylint: disable=g-import-not-at-top
  with pytest.raises(files.RunManifestMismatchError, match="distillation"):
    student(data, tmp_path / "resumed", **dict(run, num_train_steps=15,
                                               distillation_alpha=0.9))


def test_a_teacher_of_another_vocabulary_is_refused(data, teacher, tmp_path):
  other = tmp_path / "other_config.json"
  other.write_text(json.dumps(dict(TINY_CONFIG, vocab_size=99)))
  with pytest.raises(UsageError, match="vocab_size 99"):
    student(data, tmp_path / "out", teacher, teacher_config_file=other)
  assert not (tmp_path / "out").exists()


def test_teacher_files_of_a_directory_and_a_prefix(teacher):
  config, checkpoint = pretraining_teacher.teacher_files(str(teacher))
  assert (config, checkpoint) == (str(teacher / "albert_config.json"),
                                  str(teacher / "model.ckpt-best"))
  prefix = str(teacher / "model.ckpt-30")
  assert pretraining_teacher.teacher_files(prefix) == (
      str(teacher / "albert_config.json"), prefix)


def test_a_missing_teacher_is_one_error_line(data, tmp_path):
  result = run_module("albert_tf.run_pretraining", *flag_args(
      data, tmp_path / "out", albert_config_file=data / STUDENT,
      teacher_checkpoint=tmp_path / "no_such_teacher", **SHORT))
  assert result.returncode == 1
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
  assert "--teacher_checkpoint" in lines[0] and "no_such_teacher" in lines[0]
  assert not (tmp_path / "out").exists()
