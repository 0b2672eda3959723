"""python -m albert_tf.convert_checkpoint, both directions."""

import os

import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_tf import checkpoints
from albert_tf.config import AlbertConfig
from cli_helpers import run_module
import reference_data as ref


@pytest.mark.parametrize("name", ["google_groups", "zh_tiny"])
def test_tf1_to_tf2_and_back_is_lossless(name, tmp_path):
  config_flag = f"--albert_config_file={ref.config_path(name)}"
  tf2 = str(tmp_path / "tf2" / "ckpt")
  result = run_module("albert_tf.convert_checkpoint", config_flag,
                      f"--input={ref.model_dir(name)}", f"--output={tf2}",
                      "--direction=tf1_to_tf2")
  assert result.returncode == 0, result.stderr
  assert "AlbertPretrainer" in result.stdout
  assert checkpoints.is_tf2_checkpoint(tf2)

  tf1 = str(tmp_path / "tf1" / "model.ckpt")
  result = run_module("albert_tf.convert_checkpoint", config_flag,
                      f"--input={tf2}", f"--output={tf1}",
                      "--direction=tf2_to_tf1")
  assert result.returncode == 0, result.stderr
  original = tf.train.load_checkpoint(ref.checkpoint_prefix(name))
  converted = tf.train.load_checkpoint(tf1)
  assert converted.get_variable_to_shape_map() == (
      original.get_variable_to_shape_map())
  for var_name in original.get_variable_to_shape_map():
    np.testing.assert_array_equal(converted.get_tensor(var_name),
                                  original.get_tensor(var_name))
  # The TF2 checkpoint also loads into a model in this process.
  model = albert_tf.AlbertPretrainer(
      AlbertConfig.from_json_file(ref.config_path(name)))
  checkpoints.load_checkpoint(model, tf2)


def test_albert_zh_config_without_ln_type_is_taken_as_post_ln(tmp_path):
  config = AlbertConfig.from_json_file(ref.config_path("zh_tiny"))
  legacy = tmp_path / "legacy_config.json"
  legacy.write_text(config.replace(ln_type=None).to_json_string())
  result = run_module("albert_tf.convert_checkpoint",
                      f"--albert_config_file={legacy}",
                      f"--input={ref.model_dir('zh_tiny')}",
                      f"--output={tmp_path / 'out'}", "--direction=tf1_to_tf2")
  assert result.returncode == 0, result.stderr
  assert "albert_zh flavor" in result.stdout
  back = run_module("albert_tf.convert_checkpoint",
                    f"--albert_config_file={legacy}",
                    f"--input={tmp_path / 'out'}",
                    f"--output={tmp_path / 'tf1' / 'model.ckpt'}",
                    "--direction=tf2_to_tf1")
  assert back.returncode == 0, back.stderr
  saved = tf.train.load_checkpoint(str(tmp_path / "tf1" / "model.ckpt"))
  assert {k: list(v) for k, v in saved.get_variable_to_shape_map().items()} == (
      ref.variable_shapes("zh_tiny"))


def test_refuses_to_overwrite_and_reports_bad_input(tmp_path):
  config_flag = f"--albert_config_file={ref.config_path('google_tiny')}"
  out = str(tmp_path / "ckpt")
  args = (config_flag, f"--input={ref.model_dir('google_tiny')}",
          f"--output={out}", "--direction=tf1_to_tf2")
  assert run_module("albert_tf.convert_checkpoint", *args).returncode == 0
  again = run_module("albert_tf.convert_checkpoint", *args)
  assert again.returncode == 1 and "--overwrite" in again.stderr
  assert run_module("albert_tf.convert_checkpoint", *args,
                    "--overwrite").returncode == 0

  wrong_way = run_module("albert_tf.convert_checkpoint", config_flag,
                         f"--input={ref.model_dir('google_tiny')}",
                         f"--output={tmp_path / 'x'}",
                         "--direction=tf2_to_tf1")
  assert wrong_way.returncode == 1 and "tf1_to_tf2" in wrong_way.stderr
  mismatch = run_module(
      "albert_tf.convert_checkpoint",
      f"--albert_config_file={ref.config_path('google_groups')}",
      f"--input={ref.model_dir('google_tiny')}",
      f"--output={tmp_path / 'y'}", "--direction=tf1_to_tf2")
  assert mismatch.returncode == 1
  assert "shape mismatches" in mismatch.stderr
  assert "Traceback" not in mismatch.stderr
  assert not os.path.exists(tmp_path / "y.index")
  missing = run_module("albert_tf.convert_checkpoint", config_flag,
                       f"--output={tmp_path / 'z'}", "--direction=tf1_to_tf2")
  assert missing.returncode != 0 and "--input is required" in missing.stderr


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
