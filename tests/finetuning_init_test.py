"""Fine-tuning starts from the reference checkpoints (both flavors), from our
TF2 checkpoints and from an exported TF Hub encoder SavedModel."""

import os

import numpy as np
import pytest

import export_fixtures
import finetuning_data
import reference_data as ref
from albert_tf import checkpoints
from albert_tf import run_classifier
from albert_tf.checkpoints import encoder_init
from albert_tf.cli import flag_table
from albert_tf.tasks import runner


def _source(name, kind, tmp_path):
  if kind == "tf1":
    return ref.checkpoint_prefix(name)
  if kind == "tf2":  # What run_pretraining writes: the pretrainer, TF2.
    prefix = str(tmp_path / "pretrained" / "ckpt-1")
    checkpoints.save_tf2_checkpoint(export_fixtures.keras_model(name), prefix)
    return prefix
  # Only the encoder export (the full export set takes much longer).
  from tfhub_export import encoder_export  # pylint: disable=g-import-not-at-top
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  return encoder_export.export_encoder(
      export_utils.load_model(ref.config_path(name),
                              ref.checkpoint_prefix(name)),
      export_utils.TokenizerSpec(**export_fixtures.tokenizer_kwargs(name)),
      str(tmp_path / "encoder_export"))


@pytest.mark.parametrize("name, kind", [
    ("google_tiny", "tf1"), ("zh_tiny", "tf1"), ("google_tiny", "tf2"),
    ("zh_tiny", "saved_model")])
def test_init_then_fine_tune(name, kind, tmp_path):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (32, 8, 4))
  values = run_classifier.defaults(
      task_name="sst-2", data_dir=data_dir, output_dir=str(tmp_path / "out"),
      albert_config_file=ref.config_path(name),
      init_checkpoint=_source(name, kind, tmp_path), max_seq_length=24,
      do_train=True, do_eval=True, train_batch_size=8, train_step=3,
      warmup_step=0, save_checkpoints_steps=3, iterations_per_loop=3,
      learning_rate=1e-4, **export_fixtures.tokenizer_kwargs(name))
  job = runner.FinetuningJob(run_classifier.TASK, values)
  message = job.trainer.restore_or_initialize(
      runner.make_init_fn(values.init_checkpoint))
  assert {"tf1": "TF1 names", "tf2": "TF2 checkpoint",
          "saved_model": "SavedModel"}[kind] in message
  reference = export_fixtures.keras_model(name).encoder
  encoder = job.trainer.model.encoder
  assert len(encoder.weights) == len(reference.weights)
  for ours, theirs in zip(encoder.weights, reference.weights):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), ours.name)
  history = job.train()
  assert history[-1][0] == 3 and np.isfinite(history[-1][1])
  assert 0.0 <= job.evaluate()["accuracy"] <= 1.0


def test_a_fine_tuned_checkpoint_initialises_an_encoder(tmp_path):
  """Our fine-tuning checkpoints hold the task model; its encoder loads."""
  values = run_classifier.defaults(
      task_name="sst-2",
      data_dir=finetuning_data.write_sst2(str(tmp_path / "d"), (16, 4, 2)),
      output_dir=str(tmp_path / "out"),
      albert_config_file=ref.config_path("google_tiny"),
      init_checkpoint=ref.checkpoint_prefix("google_tiny"),
      max_seq_length=24, do_train=True, train_batch_size=8, train_step=2,
      warmup_step=0, save_checkpoints_steps=2, iterations_per_loop=2,
      **export_fixtures.tokenizer_kwargs("google_tiny"))
  job = run_classifier.run(values)
  from albert_tf.modeling import AlbertEncoder  # pylint: disable=g-import-not-at-top
  encoder = AlbertEncoder(job.config)
  assert "TF2" in encoder_init.init_encoder(encoder, values.output_dir)
  for ours, theirs in zip(encoder.weights, job.trainer.model.encoder.weights):
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_mismatched_or_missing_init_is_a_clear_error(tmp_path):
  values = run_classifier.defaults(
      task_name="sst-2",
      data_dir=finetuning_data.write_sst2(str(tmp_path / "d"), (16, 4, 2)),
      output_dir=str(tmp_path / "out"),
      albert_config_file=ref.config_path("google_tiny"),
      init_checkpoint=ref.checkpoint_prefix("zh_tiny"), max_seq_length=24,
      do_train=True, train_batch_size=8, train_step=2, warmup_step=0,
      **export_fixtures.tokenizer_kwargs("google_tiny"))
  import contextlib, io  # pylint: disable=g-import-not-at-top,multiple-imports
  for init, message in ((ref.checkpoint_prefix("zh_tiny"), "error: "),
                        (str(tmp_path / "nothing"), "does not exist")):
    values.init_checkpoint = init
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
      assert flag_table.run_job(lambda: run_classifier.run(values)) == 1
    assert message in stderr.getvalue() and "Traceback" not in (
        stderr.getvalue())


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
