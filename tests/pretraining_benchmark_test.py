"""The pretraining benchmark runs all three implementations end to end.

Speed itself is measured by the benchmark, not tested. These tests check
that every implementation trains on the shared records, that XLA really is
on where the table says so, and that bad flags get a clear error.
"""

import json
import types

import pytest
import tensorflow as tf

from benchmarks import pretraining_benchmark
from albert_tf.config import AlbertConfig
from albert_tf.pretraining_data.input_pipeline import pretraining_dataset
from cli_helpers import run_module

TINY = dict(vocab_size=40, embedding_size=8, hidden_size=16,
            num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=16, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)


def test_records_have_the_original_features(tmp_path):
  config = AlbertConfig.from_dict(TINY)
  path = pretraining_benchmark.write_records(
      str(tmp_path / "r.tfrecord"), config, 8, seq_length=16, predictions=3)
  batch = next(iter(pretraining_dataset(path, 8, 16, 3, is_training=False)))
  mask = batch["input_mask"].numpy()
  assert mask.sum(axis=1).min() >= 8  # At least half the sequence is real.
  positions = batch["masked_lm_positions"].numpy()
  assert (positions > 0).all() and (positions < mask.sum(axis=1)[:, None]).all()
  assert int(tf.reduce_max(batch["input_ids"])) < config.vocab_size


def test_all_implementations_train_with_and_without_xla(tmp_path):
  config_file = tmp_path / "albert_config.json"
  config_file.write_text(json.dumps(TINY))
  result = run_module(
      "benchmarks.pretraining_benchmark", f"--albert_config_file={config_file}",
      "--batch_size=4", "--seq_length=16", "--max_predictions_per_seq=3",
      "--xla=off,on", "--steps_per_loop=2", "--rounds=1", timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  rows = {}
  for line in result.stdout.splitlines():
    fields = line.split()
    if fields and fields[0] in pretraining_benchmark.IMPLEMENTATIONS:
      rows[(fields[0], fields[1])] = fields
  assert set(rows) == {(name, xla)
                       for name in pretraining_benchmark.IMPLEMENTATIONS
                       for xla in ("off", "on")}, result.stdout
  for (name, xla), fields in rows.items():
    examples_per_s, loss = float(fields[2]), float(fields[-1])
    assert examples_per_s > 0
    # Random init: MLM ≈ ln(40) plus SOP ≈ ln(2); a broken step diverges.
    assert 3.0 < loss < 6.0, (name, xla, loss)
  # albert_tf and the TF1 graph have the original's parameters exactly.
  assert rows[("albert_tf", "off")][4] == rows[("tf1_original", "off")][4]


def test_tf1_xla_refuses_to_run_without_autoclustering(monkeypatch):
  # In this test process XLA flags may already be read without the CPU
  # auto-clustering switch: the builder must refuse rather than time a
  # graph without XLA under an "XLA on" label.
  monkeypatch.setenv("TF_XLA_FLAGS", "")
  tf.function(lambda x: x + 1, jit_compile=True)(tf.constant(1.0))
  config = AlbertConfig.from_dict(TINY)
  with pytest.raises(RuntimeError, match="tf_xla_cpu_global_jit"):
    pretraining_benchmark.run(config, 4, 16, 3, ["tf1_original"], [True],
                              steps_per_loop=1, rounds=1)


def _flag_values(**changes):
  values = dict(preset=None, albert_config_file=None,
                implementations=list(pretraining_benchmark.IMPLEMENTATIONS),
                xla=["off", "on"])
  values.update(changes)
  return types.SimpleNamespace(**values)


@pytest.mark.parametrize("changes,message", [
    (dict(implementations=["albert_tf", "pytorch"]), "--implementations"),
    (dict(xla=["maybe"]), "--xla"),
    (dict(preset="albert_tiny_zh"), "one shared group"),
    (dict(preset="albert_huge"), "albert_huge"),
])
def test_bad_flags_are_named(changes, message):
  with pytest.raises(ValueError, match=message):
    pretraining_benchmark.check_flags(_flag_values(**changes))


def test_default_is_albert_base_v2():
  config, preset = pretraining_benchmark.check_flags(_flag_values())
  assert preset == "albert_base_v2" and config.hidden_size == 768


def test_bad_flag_is_one_error_line_from_the_program():
  result = run_module("benchmarks.pretraining_benchmark", "--xla=maybe",
                      timeout=120)
  assert result.returncode == 1
  assert "error: --xla=maybe" in result.stderr
  assert "Traceback" not in result.stderr


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
