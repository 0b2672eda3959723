"""The benchmark runs end to end (speed itself is measured, not tested)."""

import pytest

from benchmarks import encoder_benchmark as benchmark
from albert_tf.config import AlbertConfig


def test_benchmark_runs_both_implementations_on_a_tiny_config():
  config = AlbertConfig.from_dict(dict(
      vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=2,
      num_attention_heads=2, intermediate_size=32,
      max_position_embeddings=16))
  results = benchmark.run(config, batch_size=2, seq_length=8, predictions=2,
                          use_xla=False, steps=1, rounds=1,
                          compare_model_garden=True)
  assert set(results) == {(impl, work)
                          for impl in ("albert_tf", "model_garden")
                          for work in ("forward", "train_step")}
  assert all(rate > 0 for rate in results.values())
  table = benchmark.format_results(results, "tiny")
  assert "train_step" in table and "ratio" in table


def test_training_step_reduces_the_loss():
  config = AlbertConfig.from_dict(dict(
      vocab_size=40, embedding_size=8, hidden_size=16, num_hidden_layers=2,
      num_attention_heads=2, intermediate_size=32,
      max_position_embeddings=16))
  _, train_step = benchmark.build_albert_tf(config, jit_compile=False)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  batch = {k: tf.constant(v) for k, v in benchmark.random_batch(
      config, 4, 8, 2).items()}
  first = float(train_step(batch))
  for _ in range(20):
    last = float(train_step(batch))
  assert last < first


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
