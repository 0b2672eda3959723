"""A task defined here, in one class, trains, evaluates and predicts through
the fine-tuning runner like the built-in ones (docs/add_a_task.md)."""

import dataclasses
import json
import os
import random
import shutil

import numpy as np
import pytest
import tensorflow as tf

import finetuning_data
from reference_data import SPM_MODEL
from albert_tf.errors import UserError
from albert_tf.settings import setting
from albert_tf.tasks import base_task
from albert_tf.tasks import metrics
from albert_tf.tasks import runner
from albert_tf.tasks.classifier_model import ClassifierModel
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.tokenization.python_input_packer import Packer

_WORDS = "the a cat dog sat on mat and ran far".split()


@dataclasses.dataclass
class KeywordSettings(FinetuningSettings):
  keyword: str = setting("good", "Texts with this word are positive.")


class KeywordTask(base_task.FinetuningTask):
  """Does the text contain the keyword? Examples are made up in memory."""

  settings_class = KeywordSettings
  needs_data_dir = False  # The examples are made up below.

  def __init__(self, settings, config, tokenizer):
    super().__init__(settings, config, tokenizer)
    self.packer = Packer(tokenizer, settings.max_seq_length)

  def examples(self, split):
    rng = random.Random(split)
    examples = []
    for n in range({"train": 64, "dev": 24, "test": 8}[split]):
      words = [rng.choice(_WORDS) for _ in range(5)]
      if n % 2:
        words.insert(rng.randrange(6), self.settings.keyword)
      examples.append((" ".join(words), n % 2))
    return examples

  def build_inputs(self, split, batch_size, is_training):
    examples = self.examples(split)
    packed = [self.packer.pack_text(text) for text, _ in examples]
    features = {key: np.stack([p[key] for p in packed]) for key in packed[0]}
    labels = {"label_ids": np.array([label for _, label in examples])}
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    if is_training:
      dataset = dataset.repeat().shuffle(64, seed=self.settings.seed)
    return dataset.batch(batch_size, drop_remainder=is_training)

  def build_model(self):
    return ClassifierModel(self.build_encoder(), 2)

  def build_losses(self, labels, outputs):
    return classification_loss(labels, outputs)

  def aggregate(self, split, outputs):
    scores = None
    if self.has_gold(split):
      gold = [label for _, label in self.examples(split)]
      scores = {"accuracy": metrics.accuracy(gold, outputs["predictions"])}
    return scores, outputs["predictions"]

  def write_predictions(self, split, predictions):
    name = f"{split}_keyword_predictions.txt"
    self.write_lines(name, [f"{text}\t{int(p)}" for (text, _), p in
                            zip(self.examples(split), predictions)])
    return [f"wrote {self.output_path(name)}"]

  def serving_outputs(self):
    return ("probabilities", "predictions")


def test_a_task_defined_in_one_class_runs_through_the_runner(tmp_path,
                                                             capsys):
  settings = KeywordSettings(
      albert_config_file=finetuning_data.write_tiny_config(
          str(tmp_path / "config.json")),
      spm_model_file=SPM_MODEL, output_dir=str(tmp_path / "out"),
      max_seq_length=16, do_train=True, do_eval=True, do_predict=True,
      train_batch_size=16, eval_batch_size=10, predict_batch_size=3,
      learning_rate=2e-3, train_step=60, warmup_step=6,
      save_checkpoints_steps=30, iterations_per_loop=15, seed=2,
      keyword="excellent")
  job = runner.run(KeywordTask, settings)
  out = tmp_path / "out"
  printed = capsys.readouterr().out
  assert f"wrote {out / 'test_keyword_predictions.txt'}" in printed
  assert "eval accuracy = " in printed
  history = [json.loads(line) for line in
             (out / "eval_history.jsonl").read_text().splitlines()]
  assert [h["step"] for h in history] == [30, 60]
  best = json.loads((out / "best" / "best_metrics.json").read_text())
  assert best["metric"] == "accuracy"
  results = dict(line.split(" = ") for line in
                 (out / "eval_results.txt").read_text().splitlines())
  assert float(results["accuracy"]) == pytest.approx(
      best["metrics"]["accuracy"])
  assert float(results["accuracy"]) >= 0.75  # Chance is 0.5.
  rows = (out / "test_keyword_predictions.txt").read_text().splitlines()
  assert len(rows) == 8 and all(r.split("\t")[1] in "01" for r in rows)
  assert len(os.listdir(out / "best")) >= 2
  # The job keeps what it built: the same model predicts again.
  assert job.evaluate()["accuracy"] == pytest.approx(
      float(results["accuracy"]))


class DeterministicKeywordTask(KeywordTask):
  """KeywordTask without head dropout, so different batchings of the same
  examples must give the same weights."""

  def build_model(self):
    model = super().build_model()
    model.dropout.rate = 0.0
    return model


def _keyword_settings(tmp_path, **overrides):
  tmp_path.mkdir(parents=True, exist_ok=True)
  values = dict(
      albert_config_file=finetuning_data.write_tiny_config(
          str(tmp_path / "config.json")),
      spm_model_file=SPM_MODEL, output_dir=str(tmp_path / "out"),
      max_seq_length=16, do_train=True, train_batch_size=16,
      learning_rate=2e-3, train_step=3, warmup_step=1,
      save_checkpoints_steps=3, iterations_per_loop=3, seed=2)
  values.update(overrides)
  return KeywordSettings(**values)


def test_gradient_accumulation_gives_the_full_batch_weights(tmp_path):
  weights = {}
  for steps in (1, 4):
    job = runner.FinetuningJob(DeterministicKeywordTask, _keyword_settings(
        tmp_path / str(steps), gradient_accumulation_steps=steps))
    try:
      job.train()
      weights[steps] = [w.numpy() for w in job.trainer.model.weights]
    finally:
      job.close()
  assert len(weights[1]) == len(weights[4])
  for full, accumulated in zip(weights[1], weights[4]):
    np.testing.assert_allclose(accumulated, full, atol=1e-5)
  with pytest.raises(UserError, match="not divisible by "
                     "--gradient_accumulation_steps=3"):
    runner.FinetuningJob(KeywordTask, _keyword_settings(
        tmp_path / "3", gradient_accumulation_steps=3))


def test_recomputed_activations_give_the_same_gradients_and_step(tmp_path):
  gradients, weights, names = {}, {}, {}
  for mode in ("none", "block"):
    job = runner.FinetuningJob(DeterministicKeywordTask, _keyword_settings(
        tmp_path / mode, recompute_activations=mode, train_step=1,
        warmup_step=0, learning_rate=1e-4))
    try:
      model = job.trainer.model
      # The setting reaches the encoder (else the comparison proves nothing).
      assert model.encoder.recompute_activations == mode
      features, labels = next(iter(job.task.build_inputs(
          "train", 16, is_training=True)))
      with tf.GradientTape() as tape:
        loss = tf.reduce_mean(job.task.build_losses(
            labels, model(features, training=True)))
      gradients[mode] = [tf.convert_to_tensor(g).numpy() for g in
                         tape.gradient(loss, model.trainable_variables)]
      before = [w.numpy() for w in model.weights]
      job.train()
      weights[mode] = [w.numpy() for w in model.weights]
      names[mode] = [w.name for w in model.weights]
    finally:
      job.close()
  assert names["block"] == names["none"]
  for expected, got in zip(gradients["none"], gradients["block"]):
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
  assert max(np.abs(g).max() for g in gradients["none"]) > 1e-3
  for expected, got in zip(weights["none"], weights["block"]):
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
  assert max(np.abs(a - b).max() for a, b in zip(weights["none"], before)
             ) > 1e-5  # The step moved the weights.
  # A checkpoint written without recomputation resumes with it.
  shutil.copytree(tmp_path / "none", tmp_path / "resumed")
  job = runner.FinetuningJob(DeterministicKeywordTask, _keyword_settings(
      tmp_path / "resumed", recompute_activations="block", train_step=1,
      warmup_step=0, learning_rate=1e-4))
  try:
    assert "resumed from" in job.trainer.restore_or_initialize()
    for expected, got in zip(weights["none"], job.trainer.model.weights):
      np.testing.assert_array_equal(got.numpy(), expected)
  finally:
    job.close()


def test_every_tool_takes_recompute_activations(tmp_path):
  from absl import flags  # pylint: disable=g-import-not-at-top
  from albert_tf import run_classifier, run_race, run_squad  # pylint: disable=g-import-not-at-top,g-multiple-import
  from albert_tf import run_token_classification  # pylint: disable=g-import-not-at-top
  from albert_tf.cli import flag_table  # pylint: disable=g-import-not-at-top
  config_file = finetuning_data.write_tiny_config(str(tmp_path / "c.json"))
  for tool in (run_classifier, run_race, run_token_classification,
               run_squad):
    settings_class = tool.TASK.settings_class
    values = flags.FlagValues()
    flag_table.define_flags(settings_class, values)
    with pytest.raises(flags.IllegalFlagValueError):
      values(["tool", "--recompute_activations=all"])
    values.unparse_flags()
    values(["tool", "--recompute_activations=block", "--task_name=sst-2",
            f"--albert_config_file={config_file}",
            f"--spm_model_file={SPM_MODEL}", "--max_seq_length=32",
            f"--output_dir={tmp_path / 'out'}"])
    settings = flag_table.settings_from_flags(settings_class, values)
    assert settings.recompute_activations == "block"
    config = runner.load_config(settings)
    task = tool.TASK(settings, config, runner.make_tokenizer(settings,
                                                             config))
    model = task.build_model()
    assert model.encoder.recompute_activations == "block", tool.__name__
    assert settings_class().recompute_activations == "none"


def test_an_output_dir_refuses_a_run_with_other_settings(tmp_path):
  first = runner.FinetuningJob(KeywordTask, _keyword_settings(tmp_path))
  first.close()
  before = sorted((tmp_path / "out").iterdir())
  with pytest.raises(UserError, match="max_seq_length"):
    runner.FinetuningJob(KeywordTask, _keyword_settings(
        tmp_path, max_seq_length=24))
  assert sorted((tmp_path / "out").iterdir()) == before


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
