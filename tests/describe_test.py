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


def test_bad_flags(tmp_path):
  both = run_module("albert_tf.describe", "--preset=albert_base_v2",
                    f"--albert_config_file={ref.config_path('zh_tiny')}")
  assert both.returncode != 0 and "exactly one of" in both.stderr
  bad = tmp_path / "bad.json"
  bad.write_text('{"vocab_size": 10, "embedding_size": 4, "hidden_size": 8, '
                 '"num_hidden_layers": 1, "num_attention_heads": 2, '
                 '"intermediate_size": 8, "hidden_act": "swish"}')
  invalid = run_module("albert_tf.describe", f"--albert_config_file={bad}")
  assert invalid.returncode == 1
  assert "hidden_act" in invalid.stderr and "Traceback" not in invalid.stderr


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
