"""The tokenizer benchmark runs end to end (speed is measured, not tested)."""

import pytest

from benchmarks import tokenizer_benchmark
from reference_data import SPM_MODEL
from reference_data import ZH_VOCAB

LINES = ["The quick brown fox, 1,234 times.", "\u4eca\u5929\u6211\u73a9DOTA",
         "Caf\u00e9 r\u00e9sum\u00e9"] * 5


def test_every_row_counts_the_same_tokens_as_the_python_path():
  sp_rows = tokenizer_benchmark.sentencepiece_rows(LINES, SPM_MODEL, 4, 1)
  wp_rows = tokenizer_benchmark.wordpiece_rows(LINES, ZH_VOCAB, 4, 1)
  assert [name for name, _ in sp_rows][1:] == [
      "albert_tf Python (preprocess + FullTokenizer)", "albert_tf in-graph"]
  # Python and in-graph paths produce exactly the same number of tokens.
  assert sp_rows[1][1][1] == sp_rows[2][1][1]
  assert wp_rows[0][1][1] == wp_rows[1][1][1]
  assert all(rate > 0 for _, (rate, _) in sp_rows + wp_rows)
  assert "tokens/s" in tokenizer_benchmark.format_rows("SentencePiece",
                                                       sp_rows)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
