"""python -m albert_tf.convert_checkpoint --output_format=hf|tf1|tf2."""

import json
import os

import numpy as np
import pytest
from safetensors.numpy import load_file
from safetensors.numpy import save_file

import reference_data as ref
from cli_helpers import run_module


def _convert(*args):
  return run_module("albert_tf.convert_checkpoint", *args)


def _assert_one_error_line(result):
  assert result.returncode == 1, result.stdout + result.stderr
  lines = [line for line in result.stderr.splitlines() if line.strip()]
  errors = [line for line in lines if line.startswith("error: ")]
  assert len(errors) == 1, result.stderr
  assert "Traceback" not in result.stderr, result.stderr
  return errors[0]


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
  """google_tiny written by the CLI as an HF directory."""
  output = str(tmp_path_factory.mktemp("hf") / "google_tiny_hf")
  result = _convert(f"--albert_config_file={ref.config_path('google_tiny')}",
                    f"--input={ref.model_dir('google_tiny')}",
                    f"--output={output}", "--output_format=hf",
                    f"--spm_model_file={ref.SPM_MODEL}")
  assert result.returncode == 0, result.stderr
  assert "AlbertPretrainer" in result.stdout
  return output


def test_cli_writes_hf_and_reads_it_back_without_a_config(hf_dir, tmp_path):
  assert sorted(os.listdir(hf_dir)) == [
      ".albert_tf_output", "config.json", "model.safetensors",
      "special_tokens_map.json", "spiece.model", "tokenizer_config.json"]
  with open(os.path.join(hf_dir, "config.json")) as f:
    assert json.load(f)["architectures"] == ["AlbertForPreTraining"]
  output = str(tmp_path / "tf2" / "ckpt")
  result = _convert(f"--input={hf_dir}", f"--output={output}",
                    "--output_format=tf2")
  assert result.returncode == 0, result.stderr
  assert "(from HF)" in result.stdout
  assert os.path.exists(output + ".index")
  assert os.path.exists(tmp_path / "tf2" / "albert_config.json")


def _broken_copy(hf_dir, tmp_path, change):
  broken = tmp_path / "broken"
  broken.mkdir()
  for name in os.listdir(hf_dir):
    (broken / name).write_bytes(open(os.path.join(hf_dir, name), "rb").read())
  tensors = load_file(str(broken / "model.safetensors"))
  change(tensors)
  save_file(tensors, str(broken / "model.safetensors"),
            metadata={"format": "pt"})
  return str(broken)


def test_missing_tensor_is_one_error_line(hf_dir, tmp_path):
  broken = _broken_copy(
      hf_dir, tmp_path, lambda t: t.pop("albert.pooler.bias"))
  output = tmp_path / "out"
  error = _assert_one_error_line(_convert(
      f"--input={broken}", f"--output={output}/ckpt", "--output_format=tf1"))
  assert "missing tensors (1): albert.pooler.bias" in error
  assert not output.exists()


def test_wrong_shape_is_one_error_line(hf_dir, tmp_path):
  def change(tensors):
    tensors["albert.embeddings.word_embeddings.weight"] = np.zeros(
        [7, 16], np.float32)
  broken = _broken_copy(hf_dir, tmp_path, change)
  output = tmp_path / "out"
  error = _assert_one_error_line(_convert(
      f"--input={broken}", f"--output={output}/ckpt", "--output_format=tf2"))
  assert "albert.embeddings.word_embeddings.weight: file [7, 16]" in error
  assert not output.exists()


def test_bert_config_is_one_error_line(tmp_path):
  bert = tmp_path / "bert"
  bert.mkdir()
  (bert / "config.json").write_text(json.dumps(
      {"model_type": "bert", "vocab_size": 10, "hidden_size": 8}))
  save_file({"embeddings.word_embeddings.weight": np.zeros([10, 8],
                                                           np.float32)},
            str(bert / "model.safetensors"), metadata={"format": "pt"})
  error = _assert_one_error_line(_convert(
      f"--input={bert}", f"--output={tmp_path / 'out'}",
      "--output_format=tf1"))
  assert "model_type is 'bert'" in error
  assert not (tmp_path / "out").exists()


def test_albert_zh_to_hf_is_refused(tmp_path):
  output = tmp_path / "zh_hf"
  error = _assert_one_error_line(_convert(
      f"--albert_config_file={ref.config_path('zh_tiny')}",
      f"--input={ref.model_dir('zh_tiny')}", f"--output={output}",
      "--output_format=hf"))
  assert "albert_zh" in error and "no transformers class" in error
  assert not output.exists()
  assert os.listdir(tmp_path) == []
