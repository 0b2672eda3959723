"""memory_benchmark cells and tables; gpu_memory_benchmark's CPU smoke mode."""

import pytest

from benchmarks import memory_benchmark
from cli_helpers import run_module


def test_cells_parse_and_label():
  cell = memory_benchmark.parse_cell("albert_tf+xla+recompute=block+accum=4")
  assert cell == {"impl": "albert_tf", "xla": True, "recompute": "block",
                  "accum": 4, "precision": "float32", "checkpointing": False}
  assert memory_benchmark.cell_label(cell) == (
      "albert_tf+xla+recompute=block+accum=4")
  assert memory_benchmark.parse_cell("albert_tf+bf16")["precision"] == (
      "bfloat16")
  assert memory_benchmark.parse_cell("torch")["impl"] == "torch"


@pytest.mark.parametrize("text, message", [
    ("keras", "unknown implementation 'keras'"),
    ("model_garden+recompute=block", "model_garden has no option 'recompute'"),
    ("albert_tf+recompute=all", "recompute='all'"),
    ("albert_tf+accum=0", "accum='0'"),
])
def test_bad_cells_are_named(text, message):
  with pytest.raises(memory_benchmark.CellError, match=message):
    memory_benchmark.parse_cell(text)


def test_table_has_medians_and_ratios():
  samples = [
      {"label": "albert_tf", "batch": 8, "seq": 128, "peak_rss_mb": 1000.0,
       "imports_rss_mb": 800.0, "examples_per_s": 2.0, "losses": [11.0]},
      {"label": "albert_tf", "batch": 8, "seq": 128, "peak_rss_mb": 1200.0,
       "imports_rss_mb": 800.0, "examples_per_s": 2.2, "losses": [10.0]},
      {"label": "albert_tf", "batch": 8, "seq": 128, "peak_rss_mb": 1100.0,
       "imports_rss_mb": 800.0, "examples_per_s": 2.1, "losses": [10.5]},
      {"label": "torch", "batch": 8, "seq": 128, "peak_rss_mb": 2200.0,
       "imports_rss_mb": 300.0, "examples_per_s": 1.0, "losses": [10.0]},
      {"label": "model_garden", "batch": 8, "seq": 128, "error": "boom"},
  ]
  table = memory_benchmark.format_table(memory_benchmark.summarize(samples),
                                        "title")
  assert "| 8 | 128 | albert_tf | 1,100 | 1.00 | 800 | 2.10 | 3 |" in table
  assert "| 8 | 128 | torch | 2,200 | 2.00 | 300 | 1.00 | 1 |" in table
  assert "model_garden | failed: boom" in table


def test_a_cell_killed_for_its_memory_is_a_row_not_a_crash():
  """The parent kills a child past --memory_limit_mb; the table says '>'."""
  spec = {"cell": memory_benchmark.parse_cell("albert_tf"), "preset": "tiny",
          "batch": 2, "seq": 32, "predictions": 4, "records": "unused",
          "steps": 1, "warmup_steps": 1}
  # Importing TensorFlow alone takes the child past 150 MB.
  result = memory_benchmark.measure(spec, memory_limit_mb=150)
  assert result["over_limit_mb"] == 150
  assert "over the 150 MB limit" in result["error"]
  samples = [dict(result, round=1),
             {"label": "albert_tf+recompute=block", "batch": 2, "seq": 32,
              "peak_rss_mb": 120.0, "imports_rss_mb": 100.0,
              "examples_per_s": 1.0, "losses": [1.0]}]
  table = memory_benchmark.format_table(memory_benchmark.summarize(samples),
                                        "title")
  assert "| 2 | 32 | albert_tf | > 150 (killed) | - | - | - | 1 |" in table
  # A measured peer next to a killed albert_tf has no ratio to show.
  assert "| albert_tf+recompute=block | 120 | - | 100 | 1.00 | 1 |" in table


def test_gpu_benchmark_smoke_on_cpu():
  result = run_module(
      "benchmarks.gpu_memory_benchmark", "--device=cpu", "--preset=tiny",
      "--precisions=float16", "--xla=off",
      "--implementations=albert_tf_recompute,model_garden", timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  table = [line for line in result.stdout.splitlines()
           if line.startswith("| tiny")]
  assert len(table) == 2, result.stdout
  assert not any("failed" in line for line in table)
  assert any("model_garden" in line and "float16" in line for line in table)
  assert "peak RSS since the cell began" in result.stdout


def test_gpu_benchmark_needs_a_gpu_or_the_cpu_mode():
  result = run_module("benchmarks.gpu_memory_benchmark", "--device=gpu",
                      "--preset=tiny", "--precisions=float8")
  assert result.returncode == 1
  assert "--precisions=float8" in result.stderr
