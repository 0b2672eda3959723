"""The serving benchmark runs end to end (speed is measured, not tested)."""

import pytest

import albert_tf
import export_fixtures as fx
from benchmarks import serving_benchmark


def test_benchmark_times_every_variant_on_a_tiny_config():
  encoder = albert_tf.AlbertEncoder(fx.config("zh_tiny"))
  results = serving_benchmark.run(
      encoder, fx.tokenizer_kwargs("zh_tiny"), seq_length=16,
      batch_sizes=(1, 3), rounds=1, steps=1)
  assert set(results) == {(variant, batch)
                          for variant in serving_benchmark.VARIANTS
                          for batch in (1, 3)}
  assert all(seconds > 0 for seconds in results.values())
  table = serving_benchmark.format_results(results, "tiny")
  assert "serve_token_ids" in table and "examples/s" in table


def test_python_packer_equals_the_serving_packing():
  pairs = serving_benchmark.sentence_pairs(3, words_per_segment=20)
  assert all(a and b for a, b in pairs)
  tokenizer = fx.python_tokenizer("google_tiny")
  packed = serving_benchmark.python_packer(tokenizer, fx.SEQ_LENGTH)(pairs)
  want = fx.python_pack("google_tiny", pairs)
  for key, value in want.items():
    assert packed[key].numpy().tolist() == value.tolist()


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
