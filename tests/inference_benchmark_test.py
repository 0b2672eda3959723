"""The inference benchmark runs end to end on a tiny config and compares
like with like (speed itself is measured, not tested)."""

import os
import sys

import numpy as np
import pytest

import finetuning_data
from reference_data import SPM_MODEL
from albert_tf.config import AlbertConfig
from albert_tf.tokenization import python_tokenizer
from benchmarks import inference_benchmark as benchmark
import tfhub_export

SEQ_LENGTH = 16


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """The SavedModel rows and, where torch is installed, transformers'
  (TFLite and ONNX Runtime left out: slower to make, the same code path)."""
  tmp = str(tmp_path_factory.mktemp("inference"))
  config = AlbertConfig.from_json_file(finetuning_data.write_tiny_config(
      os.path.join(tmp, "albert_config.json")))
  rows, skipped = benchmark.build_rows(
      config, SPM_MODEL, SEQ_LENGTH, student_layers=1, threads=1,
      work_dir=tmp, skip=["albert_tf TFLite", "ONNX"], log=lambda *_: None)
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)
  return rows, skipped, tokenizer


def test_rows_are_timed_and_tabulated(built):
  rows, skipped, tokenizer = built
  names = [row.name for row in rows]
  assert names[:3] == [benchmark.SAVED_FLOAT32, benchmark.SAVED_BFLOAT16,
                       benchmark.STUDENT.format(layers=1)]
  assert all(row.size_bytes > 0 for row in rows)
  results = benchmark.run(rows, tokenizer, SEQ_LENGTH, [1, 2], rounds=1,
                          steps=1, large_batch_steps=1, log=lambda *_: None)
  assert set(results) == {(n, b) for n in names for b in (1, 2)}
  assert all(v > 0 for v in results.values())
  table = benchmark.format_results(rows, results, [1, 2], skipped, "tiny")
  for name in names:
    assert f"| {name} |" in table
  assert ("skipped albert_tf TFLite float32, albert_tf TFLite dynamic int8: "
          "--skip") in table


def test_every_row_computes_the_same_encoder(built):
  """One batch through each row: the SavedModels and transformers share
  the weights (bfloat16 within its rounding); the student is shallower."""
  rows, _, tokenizer = built
  pairs = benchmark.serving_benchmark.sentence_pairs(2, SEQ_LENGTH)
  requests = benchmark.requests_for(pairs, tokenizer, SEQ_LENGTH)
  pooled = {row.name: np.asarray(row.fn(requests[row.inputs])[
      "pooled_output"], np.float32) for row in rows}
  reference = pooled[benchmark.SAVED_FLOAT32]
  np.testing.assert_allclose(pooled[benchmark.SAVED_BFLOAT16], reference,
                             atol=0.03)
  assert np.abs(pooled[benchmark.STUDENT.format(layers=1)] -
                reference).max() > 1e-3
  if benchmark.TORCH_FLOAT32 in pooled:
    np.testing.assert_allclose(pooled[benchmark.TORCH_FLOAT32], reference,
                               atol=1e-4)
    np.testing.assert_allclose(pooled[benchmark.TORCH_BFLOAT16], reference,
                               atol=0.03)


def test_tflite_rows_are_skipped_with_the_reason(monkeypatch):
  # None in sys.modules makes the import fail, as where TF Text's TFLite
  # ops are missing; the package's attribute would otherwise still answer
  # `from tfhub_export import tflite_export` once another test imported it.
  monkeypatch.setitem(sys.modules, "tfhub_export.tflite_export", None)
  monkeypatch.delattr(tfhub_export, "tflite_export", raising=False)
  rows, skipped = benchmark.tflite_rows(None, SPM_MODEL, SEQ_LENGTH, 1,
                                        "unused")
  assert rows == []
  (names, reason), = skipped.items()
  assert benchmark.TFLITE_INT8 in names
  assert "tfhub_export.tflite_export cannot be imported" in reason
