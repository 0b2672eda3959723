"""Distilling a fine-tuned teacher into a shallower student
(--teacher_checkpoint, --init_checkpoint=TEACHER_DIR): the loss math, a
frozen teacher, resuming, and the refusals."""

import contextlib
import dataclasses
import glob
import io
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import finetuning_data
import squad_synthetic
from cli_helpers import run_module
from reference_data import SPM_MODEL
from albert_tf import run_classifier
from albert_tf import run_race
from albert_tf import run_squad
from albert_tf import run_token_classification
from albert_tf.cli import flag_table
from albert_tf.tasks import runner
from albert_tf.training import distillation_loss

TEACHER_LAYERS, STUDENT_LAYERS = 4, 2


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _log_softmax(x):
  return np.log(_softmax(x))


def test_soft_cross_entropy_matches_numpy():
  rng = np.random.default_rng(0)
  teacher, student = rng.normal(size=(2, 3, 5, 7)).astype(np.float32) * 3
  for temperature in (1.0, 2.0, 4.0):
    ours = distillation_loss.soft_cross_entropy(teacher, student,
                                                temperature).numpy()
    expected = -(_softmax(teacher / temperature) *
                 _log_softmax(student / temperature)).sum(-1) * temperature**2
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
  # A student equal to the teacher is at the minimum: the entropy.
  same = distillation_loss.soft_cross_entropy(teacher, teacher, 2.0).numpy()
  p = _softmax(teacher / 2.0)
  np.testing.assert_allclose(same, -(p * np.log(p)).sum(-1) * 4, rtol=1e-5)


def test_masked_positions_and_the_binary_loss_match_numpy():
  rng = np.random.default_rng(1)
  teacher, student = rng.normal(size=(2, 4, 6)).astype(np.float32)
  # SQuAD's p_mask: masked logits are -1e30; they add nothing (no nan).
  teacher[:, -2:] = student[:, -2:] = -1e30
  ours = distillation_loss.soft_cross_entropy(teacher, student, 2.0).numpy()
  expected = -(_softmax(teacher[:, :4] / 2) *
               _log_softmax(student[:, :4] / 2)).sum(-1) * 4
  np.testing.assert_allclose(ours, expected, rtol=1e-5)
  t, s = rng.normal(size=(2, 5)).astype(np.float32)
  q = 1 / (1 + np.exp(-t / 3))
  log_p, log_not_p = -np.log1p(np.exp(-s / 3)), -np.log1p(np.exp(s / 3))
  np.testing.assert_allclose(
      distillation_loss.soft_binary_cross_entropy(t, s, 3.0).numpy(),
      -(q * log_p + (1 - q) * log_not_p) * 9, rtol=1e-5)
  per_token = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
  weights = np.array([[0, 1, 1, 0], [0, 0, 0, 0]])
  np.testing.assert_allclose(
      distillation_loss.masked_mean(tf.constant(per_token), weights).numpy(),
      [2.5, 0.0])


def test_regression_distils_the_teachers_score():
  from albert_tf.tasks.classification import ClassificationTask  # pylint: disable=g-import-not-at-top
  task = ClassificationTask.__new__(ClassificationTask)
  task.is_regression = True
  student = {"predictions": tf.constant([1.0, 2.5, 4.0])}
  teacher = {"predictions": tf.constant([1.5, 2.5, 3.0])}
  # One score, no distribution: squared error to the teacher's score,
  # whatever the temperature.
  np.testing.assert_allclose(
      task.distillation_losses({}, student, teacher, 4.0).numpy(),
      [0.25, 0.0, 1.0])


def _config(tmp, name, **overrides):
  return finetuning_data.write_tiny_config(os.path.join(tmp, name),
                                           **overrides)


def _classifier_values(tmp, data_dir, output, layers, **overrides):
  values = dict(
      task_name="csv", data_dir=data_dir,
      output_dir=os.path.join(tmp, output),
      albert_config_file=_config(tmp, f"config{layers}.json",
                                 num_hidden_layers=layers,
                                 hidden_dropout_prob=0.1),
      spm_model_file=SPM_MODEL, max_seq_length=24, do_train=True,
      do_eval=True, train_batch_size=16, eval_batch_size=32,
      learning_rate=1e-3, train_step=6, warmup_step=0,
      save_checkpoints_steps=3, iterations_per_loop=3, seed=1)
  values.update(overrides)
  return run_classifier.defaults(**values)


def _quiet(fn):
  with contextlib.redirect_stdout(io.StringIO()):
    return fn()


@pytest.fixture(scope="module")
def classifier_teacher(tmp_path_factory):
  tmp = str(tmp_path_factory.mktemp("classifier"))
  data_dir = finetuning_data.write_generic_csv(os.path.join(tmp, "data"),
                                               (64, 16, 4))
  values = _classifier_values(tmp, data_dir, "teacher", TEACHER_LAYERS)
  _quiet(lambda: run_classifier.run(values))
  return tmp, data_dir, values.output_dir


def _weights(model):
  return [w.numpy() for w in model.weights]


def _checkpoint_names(prefix):
  return {name for name, _ in tf.train.list_variables(prefix)}


def test_distilled_student_starts_from_teacher_and_leaves_it_alone(
    classifier_teacher):
  tmp, data_dir, teacher_dir = classifier_teacher
  values = _classifier_values(
      tmp, data_dir, "student", STUDENT_LAYERS,
      teacher_checkpoint=teacher_dir, init_checkpoint=teacher_dir,
      distillation_temperature=3.0, distillation_alpha=0.7)
  job = runner.FinetuningJob(run_classifier.TASK, values)
  try:
    teacher = job.trainer.teacher
    assert teacher is not None and not teacher.trainable_variables
    assert teacher.encoder.config.num_hidden_layers == TEACHER_LAYERS
    assert job.trainer.model.encoder.config.num_hidden_layers == (
        STUDENT_LAYERS)
    before = _weights(teacher)
    message = job.trainer.restore_or_initialize(
        runner.make_init_fn(values.init_checkpoint))
    assert message.startswith(
        f"loaded encoder from {teacher_dir} ({TEACHER_LAYERS} layers) into "
        f"a {STUDENT_LAYERS}-layer student"), message
    # The shared block: every encoder variable came from the teacher's.
    for ours, theirs in zip(job.trainer.model.encoder.weights,
                            teacher.encoder.weights):
      np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), ours.name)
    # The loss is alpha * soft + (1 - alpha) * gold on a real batch.
    features, labels = next(iter(job.task.build_inputs(
        "train", 16, is_training=False)))
    outputs = job.trainer.model(features, training=False)
    teacher_outputs = teacher(features, training=False)
    loss = runner.distillation_loss_fn(job.task, values)(
        labels, outputs, teacher_outputs).numpy()
    t, s = teacher_outputs["logits"].numpy(), outputs["logits"].numpy()
    soft = -(_softmax(t / 3) * _log_softmax(s / 3)).sum(-1) * 9
    gold = -_log_softmax(s)[np.arange(len(s)), labels["label_ids"].numpy()]
    np.testing.assert_allclose(loss, 0.7 * soft + 0.3 * gold, rtol=1e-4)
    history = _quiet(job.train)
    assert history[-1][0] == 6 and np.isfinite(history[-1][1])
    # Trained with dropout on: the teacher is frozen and ran without it.
    for old, new in zip(before, _weights(teacher)):
      np.testing.assert_array_equal(old, new)
    assert any(not np.array_equal(a.numpy(), b.numpy()) for a, b in zip(
        job.trainer.model.encoder.weights, teacher.encoder.weights))
  finally:
    job.close()
  # The student's checkpoints hold the student only (the shallow student
  # has the teacher's variable names: any teacher copy would add names).
  student_names = _checkpoint_names(
      tf.train.latest_checkpoint(values.output_dir))
  teacher_names = _checkpoint_names(
      tf.train.latest_checkpoint(teacher_dir))
  assert student_names == teacher_names
  assert os.path.exists(os.path.join(values.output_dir, "best",
                                     "model.ckpt.index"))
  # Resuming goes on from the student's checkpoint, teacher rebuilt.
  longer = dataclasses.replace(values, train_step=9)
  job = runner.FinetuningJob(run_classifier.TASK, longer)
  try:
    assert "resumed from" in job.trainer.restore_or_initialize(
        runner.make_init_fn(longer.init_checkpoint))
    assert _quiet(job.train)[-1][0] == 9
    assert 0.0 <= job.evaluate()["accuracy"] <= 1.0
  finally:
    job.close()
  # ... and only with the same teacher, the same way.
  for changed in (dict(distillation_alpha=0.2),
                  dict(teacher_checkpoint=None)):
    error = _refusal(dataclasses.replace(longer, train_step=12, **changed))
    assert "teacher" in error, error
  # Evaluation needs no teacher.
  job = runner.FinetuningJob(run_classifier.TASK, dataclasses.replace(
      longer, do_train=False, teacher_checkpoint=None))
  job.close()


def test_token_classification_distils_per_token(tmp_path):
  tmp = str(tmp_path)
  data_dir = finetuning_data.write_dish_csv(os.path.join(tmp, "data"),
                                            (48, 12, 4))

  def values(output, layers, **overrides):
    return run_token_classification.defaults(**dict(dict(
        data_dir=data_dir, output_dir=os.path.join(tmp, output),
        albert_config_file=_config(tmp, f"config{layers}.json",
                                   num_hidden_layers=layers),
        spm_model_file=SPM_MODEL, max_seq_length=32, do_train=True,
        do_eval=True, train_batch_size=16, eval_batch_size=32,
        learning_rate=1e-3, train_step=4, warmup_step=0,
        save_checkpoints_steps=4, iterations_per_loop=4, seed=1,
        entity_type="DISH"), **overrides))

  # No evaluation: a teacher without best/ teaches with its newest
  # checkpoint.
  teacher = values("teacher", TEACHER_LAYERS, do_eval=False)
  _quiet(lambda: run_token_classification.run(teacher))
  student = values("student", STUDENT_LAYERS,
                   teacher_checkpoint=teacher.output_dir)
  job = runner.FinetuningJob(run_token_classification.TASK, student)
  try:
    features, labels = next(iter(job.task.build_inputs(
        "train", 16, is_training=False)))
    outputs = job.trainer.model(features, training=False)
    teacher_outputs = job.trainer.teacher(features, training=False)
    soft = job.task.distillation_losses(labels, outputs, teacher_outputs,
                                        2.0).numpy()
    t, s = teacher_outputs["logits"].numpy(), outputs["logits"].numpy()
    per_token = -(_softmax(t / 2) * _log_softmax(s / 2)).sum(-1) * 4
    mask = labels["label_ids"].numpy() >= 0
    assert 0 < mask.sum() < mask.size  # [CLS], [SEP], padding are out.
    np.testing.assert_allclose(
        soft, (per_token * mask).sum(-1) / mask.sum(-1), rtol=1e-4)
    history = _quiet(job.train)
    assert history[-1][0] == 4 and np.isfinite(history[-1][1])
    assert 0.0 <= job.evaluate()["f1"] <= 1.0
  finally:
    job.close()


def _history(values, task=run_classifier.TASK):
  job = runner.FinetuningJob(task, values)
  try:
    return np.array(_quiet(job.train))
  finally:
    job.close()


def test_alpha_zero_is_plain_training_and_the_soft_loss_counts(
    classifier_teacher):
  tmp, data_dir, teacher_dir = classifier_teacher

  def student(output, **overrides):
    # Same init, same seed, dropout on: only the loss may differ.
    return _classifier_values(tmp, data_dir, output, STUDENT_LAYERS,
                              init_checkpoint=teacher_dir, train_step=4,
                              save_checkpoints_steps=2,
                              iterations_per_loop=2, do_eval=False,
                              **overrides)
  plain = _history(student("plain"))
  alpha_zero = _history(student("alpha0", teacher_checkpoint=teacher_dir,
                                distillation_alpha=0.0))
  np.testing.assert_allclose(alpha_zero, plain, rtol=1e-5)
  soft_only = _history(student("alpha1", teacher_checkpoint=teacher_dir,
                               distillation_alpha=1.0))
  assert np.all(np.isfinite(soft_only))
  assert not np.allclose(soft_only[:, 1], plain[:, 1], rtol=1e-3)


def test_teacher_under_accumulation_and_recomputation(classifier_teacher,
                                                     monkeypatch):
  """Micro-batches each call the teacher on their share: two of them give
  the full batch's distilled loss (no dropout, so the same trajectory)."""
  from albert_tf.tasks import classifier_model  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(classifier_model, "HEAD_DROPOUT", 0.0)
  tmp, data_dir, teacher_dir = classifier_teacher
  config = _config(tmp, "config2_no_dropout.json",
                   num_hidden_layers=STUDENT_LAYERS)

  def student(output, **overrides):
    return _classifier_values(tmp, data_dir, output, STUDENT_LAYERS,
                              albert_config_file=config,
                              teacher_checkpoint=teacher_dir,
                              distillation_alpha=0.7, train_step=4,
                              save_checkpoints_steps=2,
                              iterations_per_loop=2, do_eval=False,
                              **overrides)
  whole = _history(student("whole_batch"))
  split = _history(student("micro_batches", gradient_accumulation_steps=2,
                           recompute_activations="attention"))
  np.testing.assert_allclose(split, whole, rtol=2e-4)


def test_race_distils_per_choice_set(tmp_path):
  tmp = str(tmp_path)
  data_dir = finetuning_data.write_race(os.path.join(tmp, "data"),
                                        (32, 8, 4))

  def values(output, layers, **overrides):
    return run_race.defaults(**dict(dict(
        data_dir=data_dir, output_dir=os.path.join(tmp, output),
        albert_config_file=_config(tmp, f"config{layers}.json",
                                   num_hidden_layers=layers),
        spm_model_file=SPM_MODEL, max_seq_length=40, max_qa_length=16,
        do_train=True, do_eval=False, train_batch_size=8,
        learning_rate=1e-3, train_step=2, warmup_step=0,
        save_checkpoints_steps=2, iterations_per_loop=2, seed=1),
        **overrides))
  teacher = values("teacher", TEACHER_LAYERS)
  _quiet(lambda: run_race.run(teacher))
  job = runner.FinetuningJob(run_race.TASK, values(
      "student", STUDENT_LAYERS, teacher_checkpoint=teacher.output_dir))
  try:
    features, labels = next(iter(job.task.build_inputs(
        "train", 8, is_training=False)))
    outputs = job.trainer.model(features, training=False)
    teacher_outputs = job.trainer.teacher(features, training=False)
    t, s = teacher_outputs["logits"].numpy(), outputs["logits"].numpy()
    assert t.shape == s.shape == (8, 4)  # One distribution per question.
    np.testing.assert_allclose(
        job.task.distillation_losses(labels, outputs, teacher_outputs,
                                     2.0).numpy(),
        -(_softmax(t / 2) * _log_softmax(s / 2)).sum(-1) * 4, rtol=1e-4)
    assert np.isfinite(_quiet(job.train)[-1][1])
  finally:
    job.close()


@pytest.fixture(scope="module")
def squad_files(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("squad")
  files = {}
  for version_2, version in ((False, "1.1"), (True, "2.0")):
    files[version_2] = tuple(squad_synthetic.write_squad_file(
        tmp / f"{split}{version}.json",
        squad_synthetic.make_dataset(size, seed, version_2, max_words=30),
        version) for split, size, seed in (("train", 32, 1), ("dev", 8, 2)))
  return str(tmp), files


def _squad_values(tmp, files, output, layers, version_2, **overrides):
  train_file, predict_file = files[version_2]
  return run_squad.defaults(**dict(dict(
      albert_config_file=_config(tmp, f"config{layers}.json",
                                 num_hidden_layers=layers),
      spm_model_file=SPM_MODEL, output_dir=os.path.join(tmp, output),
      train_file=train_file, predict_file=predict_file, do_train=True,
      version_2_with_negative=version_2, train_batch_size=8,
      learning_rate=1e-3, train_step=2, warmup_step=0,
      save_checkpoints_steps=2, iterations_per_loop=2, seed=1,
      max_seq_length=48, doc_stride=16, max_query_length=12),
      **overrides))


@pytest.mark.parametrize("version_2", [False, True], ids=["v1", "v2"])
def test_squad_distils_start_end_and_answerability(squad_files, version_2):
  tmp, files = squad_files
  name = "v2" if version_2 else "v1"
  teacher = _squad_values(tmp, files, f"teacher_{name}", TEACHER_LAYERS,
                          version_2)
  _quiet(lambda: run_squad.run(teacher))
  job = runner.FinetuningJob(run_squad.TASK, _squad_values(
      tmp, files, f"student_{name}", STUDENT_LAYERS, version_2,
      teacher_checkpoint=teacher.output_dir))
  try:
    features, labels = next(iter(job.task.build_inputs(
        "train", 8, is_training=True)))
    outputs = job.trainer.model(features, training=False)
    teacher_outputs = job.trainer.teacher(features, training=False)
    soft = job.task.distillation_losses(labels, outputs, teacher_outputs,
                                        2.0).numpy()

    def per_position(key):
      t, s = teacher_outputs[key].numpy(), outputs[key].numpy()
      # Masked positions: no teacher mass (0 * -inf counts 0).
      with np.errstate(divide="ignore", invalid="ignore"):
        p, log_q = _softmax(t / 2), _log_softmax(s / 2)
        return -np.where(p > 0, p * log_q, 0).sum(-1) * 4
    if version_2:
      expected = (per_position("start_log_probs") +
                  per_position("end_log_probs")) / 2
      t = teacher_outputs["cls_logits"].numpy() / 2
      s = outputs["cls_logits"].numpy() / 2
      q = 1 / (1 + np.exp(-t))
      expected += 0.5 * 4 * -(q * -np.log1p(np.exp(-s)) +
                              (1 - q) * -np.log1p(np.exp(s)))
    else:
      expected = (per_position("start_logits") +
                  per_position("end_logits")) / 2
    np.testing.assert_allclose(soft, expected, rtol=1e-4)
    assert np.isfinite(_quiet(job.train)[-1][1])
  finally:
    job.close()
  if version_2:
    # A v1.1 teacher has no answerability head: not this task's model.
    v1_teacher = os.path.join(tmp, "teacher_v1")
    if os.path.isdir(v1_teacher):
      error = _refusal(_squad_values(
          tmp, files, "refused_v2", STUDENT_LAYERS, True,
          teacher_checkpoint=v1_teacher), run_squad)
      assert "SQuAD 1.1" in error and "SQuAD 2.0" in error, error


def _refusal(values, module=run_classifier):
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(
      io.StringIO()):
    status = flag_table.run_job(lambda: module.run(values))
  lines = stderr.getvalue().strip().splitlines()
  assert status == 1, stderr.getvalue()
  errors = [line for line in lines if line.startswith("error: ")]
  assert len(errors) == 1 and "Traceback" not in stderr.getvalue(), lines
  return errors[0]


def test_bad_teachers_are_one_error_line(classifier_teacher, tmp_path):
  tmp, data_dir, teacher_dir = classifier_teacher
  out = str(tmp_path / "refused")

  def student(**overrides):
    return _classifier_values(tmp, data_dir, out, STUDENT_LAYERS,
                              **overrides)

  missing = str(tmp_path / "no_such_dir")
  assert "is not a directory" in _refusal(student(
      teacher_checkpoint=missing))
  os.makedirs(tmp_path / "empty")
  assert "is not a fine-tuning output directory" in _refusal(student(
      teacher_checkpoint=str(tmp_path / "empty")))
  # Another task: a tagger taught by this classifier.
  tagger = run_token_classification.defaults(
      data_dir=finetuning_data.write_dish_csv(str(tmp_path / "dish"),
                                              (16, 4, 2)),
      output_dir=out, albert_config_file=_config(tmp, "config2.json"),
      spm_model_file=SPM_MODEL, max_seq_length=24, do_train=True,
      train_step=2, teacher_checkpoint=teacher_dir)
  assert "task" in _refusal(tagger, run_token_classification)
  assert "labels" in _refusal(student(
      teacher_checkpoint=teacher_dir, labels=["pos", "neg", "mixed, odd"]))
  assert "vocab_size" in _refusal(student(
      teacher_checkpoint=teacher_dir,
      albert_config_file=_config(tmp, "config_vocab.json", vocab_size=4100,
                                 num_hidden_layers=STUDENT_LAYERS)))
  # A shallower student keeps the widths: others are refused.
  assert "hidden_size 32 there, 48 here" in _refusal(student(
      init_checkpoint=teacher_dir,
      albert_config_file=_config(tmp, "config_wide.json", hidden_size=48,
                                 num_attention_heads=2)))
  assert "--distillation_alpha" in _refusal(student(
      teacher_checkpoint=teacher_dir, distillation_alpha=1.5))
  # A damaged teacher: every tensor is read before anything is written.
  damaged = str(tmp_path / "damaged_teacher")
  shutil.copytree(teacher_dir, damaged)
  data_file, = glob.glob(os.path.join(damaged, "best", "*.data-*"))
  os.truncate(data_file, 100)
  fresh = str(tmp_path / "refused_damaged")
  error = _refusal(_classifier_values(tmp, data_dir, fresh, STUDENT_LAYERS,
                                      teacher_checkpoint=damaged))
  assert "damaged" in error and damaged in error, error
  assert not os.path.exists(fresh)
  # Nothing was recorded for the refused runs.
  assert not os.path.exists(os.path.join(out, "finetuning.manifest.json"))


def test_the_flags_are_on_the_command_line(classifier_teacher, tmp_path):
  tmp, data_dir, _ = classifier_teacher
  result = run_module(
      "albert_tf.run_classifier", "--task_name=csv", f"--data_dir={data_dir}",
      f"--albert_config_file={_config(tmp, 'config2.json')}",
      f"--spm_model_file={SPM_MODEL}", f"--output_dir={tmp_path / 'out'}",
      "--max_seq_length=24", "--do_train", "--distillation_temperature=3",
      f"--teacher_checkpoint={tmp_path / 'nothing'}")
  assert result.returncode == 1, result.stderr
  assert result.stderr.strip().splitlines() == [
      f"error: --teacher_checkpoint {tmp_path / 'nothing'} is not a "
      "directory (expected the output directory of a fine-tuning run of "
      "this task)"]


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
