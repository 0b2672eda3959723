"""python -m albert_tf.describe."""

import json

import pytest

from cli_helpers import run_module
import reference_data as ref


def test_preset_json_matches_reference_counts():
  result = run_module("albert_tf.describe", "--preset=albert_xxlarge_v2",
                      "--json")
  assert result.returncode == 0, result.stderr
  report = json.loads(result.stdout)
  want = ref.param_counts()["albert_xxlarge"]
  assert report["params"]["encoder_total"] == want["encoder_with_pooler"]
  assert report["params"]["total_with_heads"] == want[
      "with_pretraining_heads"]
  assert report["weight_memory_bytes"]["float32"] == 4 * want[
      "with_pretraining_heads"]
  assert report["seq_length"] == 512
  assert report["forward_flops_per_token"] > 2 * 12 * 4096 * 4096


def test_config_file_table():
  result = run_module("albert_tf.describe",
                      f"--albert_config_file={ref.config_path('zh_tiny')}",
                      "--seq_length=16")
  assert result.returncode == 0, result.stderr
  assert "albert_zh flavor" in result.stdout
  assert "total with heads" in result.stdout
  assert "seq_length 16" in result.stdout


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
