r"""Step time and peak accelerator memory of pretraining: albert_tf and Model
Garden side by side, float32 / bfloat16 / float16, with and without XLA.

  python -m benchmarks.gpu_memory_benchmark        # GPU: the full table
  python -m benchmarks.gpu_memory_benchmark --device=cpu --preset=tiny  # smoke

Default (GPU): albert_base_v2 and albert_large_v2, batch 32, seq 512, 20
predictions; float32, bfloat16 and float16 (albert_tf: run_pretraining's
--mixed_precision=float16, dynamic loss scaling; Model Garden: its
train.py's LossScaleOptimizer); XLA off and on; albert_tf also with
--recompute_activations=block. Cells run one after the other in this
process: before each cell's timed steps the device's memory statistics are
reset, so "peak" is the highest allocation of those steps (weights, optimizer
slots and activations included), read from
tf.config.experimental.get_memory_info(device)["peak"]. Steps are timed
after --warmup_steps (tracing, XLA compilation).

--run_numerics_tests then runs the mixed-precision and recomputation
numerics tests (MIXED_PRECISION_TESTS) with pytest on the same device.

On CPU (--device=cpu; the GPUs are hidden) the peak is the process's resident
set high-water mark, reset before each cell through /proc/self/clear_refs;
that is the smoke mode tests run with --preset=tiny.
"""

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

from benchmarks import memory_benchmark

PRECISIONS = ("float32", "bfloat16", "float16")
MIXED_PRECISION_TESTS = (
    "tests/mixed_precision_test.py",
    "tests/recompute_test.py",
    "tests/run_pretraining_test.py::test_mixed_bfloat16_trains",
)


def define_flags():
  flags.DEFINE_enum("device", "gpu", ["gpu", "cpu"],
                    "gpu: the first GPU (fails without one); cpu: smoke mode.")
  flags.DEFINE_list("preset", ["albert_base_v2", "albert_large_v2"],
                    "Named configs, or `tiny` (smoke).")
  flags.DEFINE_integer("batch_size", None, "Default 32 (tiny: 2).")
  flags.DEFINE_integer("seq_length", None, "Default 512 (tiny: 32).")
  flags.DEFINE_integer("max_predictions_per_seq", None,
                       "Default 20 (tiny: 5).")
  flags.DEFINE_list("precisions", list(PRECISIONS),
                    "Some of float32, bfloat16, float16.")
  flags.DEFINE_list("xla", ["off", "on"], "off, on or both.")
  flags.DEFINE_list("implementations", ["albert_tf", "albert_tf_recompute",
                                        "model_garden"],
                    "albert_tf, albert_tf_recompute (block), model_garden.")
  flags.DEFINE_integer("steps", 10, "Timed steps per cell (tiny: 1).")
  flags.DEFINE_integer("warmup_steps", 2, "Untimed steps first (tiny: 1).")
  flags.DEFINE_bool("run_numerics_tests", False,
                    "Also run MIXED_PRECISION_TESTS with pytest.")


class BenchmarkFlagError(ValueError):
  """A flag value the benchmark cannot run."""


def shapes(preset, batch_size, seq_length, predictions):
  tiny = preset == "tiny"
  return (batch_size or (2 if tiny else 32), seq_length or (32 if tiny else 512),
          predictions or (5 if tiny else 20))


def check_flags(values):
  if not set(values.precisions) <= set(PRECISIONS):
    raise BenchmarkFlagError(f"--precisions={','.join(values.precisions)}; "
                             f"expected some of {', '.join(PRECISIONS)}")
  if not set(values.xla) <= {"on", "off"}:
    raise BenchmarkFlagError(f"--xla={','.join(values.xla)}; expected off, "
                             "on or off,on")
  known = {"albert_tf", "albert_tf_recompute", "model_garden"}
  if not set(values.implementations) <= known:
    raise BenchmarkFlagError(
        f"--implementations={','.join(values.implementations)}; expected "
        f"some of {', '.join(sorted(known))}")
  for preset in values.preset:
    memory_benchmark.config_dict(preset)


# -- memory statistics ------------------------------------------------------------


class DeviceMemory:
  """Peak memory of the benchmark device since the last reset(), in MB."""

  def __init__(self, device):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self.tf = tf
    self.device = device
    self.name = "GPU:0" if device == "gpu" else "CPU:0"

  def reset(self):
    if self.device == "gpu":
      self.tf.config.experimental.reset_memory_stats(self.name)
    else:
      # Resets VmHWM to the current RSS (Linux >= 4.0).
      try:
        with open("/proc/self/clear_refs", "w") as f:
          f.write("5")
      except OSError:
        pass

  def peak_mb(self):
    if self.device == "gpu":
      info = self.tf.config.experimental.get_memory_info(self.name)
      return info["peak"] / 2**20
    return memory_benchmark.peak_rss_mb()

  @property
  def what(self):
    return ("peak GPU memory (get_memory_info)" if self.device == "gpu"
            else "peak RSS since the cell began (CPU smoke mode)")


def configure_device(device):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_physical_devices("GPU")
  if device == "gpu":
    if not gpus:
      raise BenchmarkFlagError("--device=gpu but TensorFlow sees no GPU; use "
                               "--device=cpu for the smoke mode")
    for gpu in gpus:
      tf.config.experimental.set_memory_growth(gpu, True)
  else:
    tf.config.set_visible_devices([], "GPU")


# -- cells -------------------------------------------------------------------------


def cell_of(implementation, precision, xla):
  text = {"albert_tf": "albert_tf",
          "albert_tf_recompute": "albert_tf+recompute=block",
          "model_garden": "model_garden"}[implementation]
  cell = memory_benchmark.parse_cell(text)
  cell["xla"] = xla
  cell["precision"] = precision
  return cell


def build_cell(cell, config, records, batch, seq, predictions):
  """step() -> loss, as memory_benchmark builds it; Model Garden float16
  gets its train.py's loss-scale optimizer."""
  if cell["impl"] == "model_garden" and cell["precision"] == "float16":
    import tf_keras  # pylint: disable=g-import-not-at-top
    from albert_tf.config import AlbertConfig  # pylint: disable=g-import-not-at-top
    from benchmarks import pretraining_benchmark  # pylint: disable=g-import-not-at-top
    tf_keras.mixed_precision.set_global_policy("mixed_float16")
    setup = pretraining_benchmark.Setup(AlbertConfig.from_dict(config),
                                        records, batch, seq, predictions)
    run_loop, _ = pretraining_benchmark.build_model_garden(
        setup, cell["xla"], loss_scaling=True)
    return lambda: run_loop(1)
  return memory_benchmark.build_tf_cell(cell, config, records, batch, seq,
                                        predictions)


def run_cell(cell, config, records, batch, seq, predictions, steps,
             warmup_steps, memory):
  import tf_keras  # pylint: disable=g-import-not-at-top
  tf_keras.backend.clear_session()
  gc.collect()
  try:
    step = build_cell(cell, config, records, batch, seq, predictions)
    for _ in range(warmup_steps):
      step()
    memory.reset()
    times = []
    for _ in range(steps):
      started = time.perf_counter()
      loss = float(step())
      times.append(time.perf_counter() - started)
    return {"step_ms": 1000 * statistics.median(times),
            "peak_mb": memory.peak_mb(), "loss": loss}
  except Exception as e:  # pylint: disable=broad-except  # one cell failing (out of memory, unsupported op) must not lose the table
    return {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"}
  finally:
    tf_keras.mixed_precision.set_global_policy("float32")


def run(presets, batch_size, seq_length, predictions, precisions, xla_settings,
        implementations, steps, warmup_steps, memory, print_fn=print):
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    for preset in presets:
      config = memory_benchmark.config_dict(preset)
      batch, seq, preds = shapes(preset, batch_size, seq_length, predictions)
      records = memory_benchmark.write_records(
          config, os.path.join(tmp, f"{preset}.tfrecord"), batch, seq, preds)
      tiny = preset == "tiny"
      for precision in precisions:
        for xla in xla_settings:
          for implementation in implementations:
            cell = cell_of(implementation, precision, xla)
            result = run_cell(cell, config, records, batch, seq, preds,
                              1 if tiny and steps is None else steps,
                              warmup_steps, memory)
            row = dict(result, preset=preset, batch=batch, seq=seq,
                       precision=precision, xla=xla,
                       label=memory_benchmark.cell_label(
                           dict(cell, xla=False, precision="float32")))
            rows.append(row)
            print_fn(f"measured {preset} {row['label']} {precision} XLA "
                     f"{'on' if xla else 'off'}: " + (
                         row.get("error") or
                         f"{row['step_ms']:.0f} ms/step, "
                         f"{row['peak_mb']:,.0f} MB"))
  return rows


def format_table(rows, what):
  lines = [f"| preset | batch x seq | precision | XLA | implementation | "
           f"step (ms) | {what} (MB) | vs albert_tf |",
           "|---|---|---|---|---|---:|---:|---:|"]
  ours = {(r["preset"], r["precision"], r["xla"]): r for r in rows
          if r["label"] == "albert_tf" and "error" not in r}
  for r in rows:
    head = (f"| {r['preset']} | {r['batch']} x {r['seq']} | {r['precision']} "
            f"| {'on' if r['xla'] else 'off'} | {r['label']} |")
    if "error" in r:
      lines.append(f"{head} failed: {r['error']} | | |")
      continue
    base = ours.get((r["preset"], r["precision"], r["xla"]))
    ratio = f"{r['peak_mb'] / base['peak_mb']:.2f}" if base else "-"
    lines.append(f"{head} {r['step_ms']:.0f} | {r['peak_mb']:,.0f} | "
                 f"{ratio} |")
  return "\n".join(lines)


def run_numerics_tests(device):
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  if device == "cpu":
    env["CUDA_VISIBLE_DEVICES"] = ""
  return subprocess.run([sys.executable, "-m", "pytest", "-q",
                         *MIXED_PRECISION_TESTS], cwd=root, env=env,
                        check=False).returncode


def main(argv):
  del argv
  values = flags.FLAGS
  try:
    check_flags(values)
    configure_device(values.device)
  except (BenchmarkFlagError, ValueError, KeyError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  memory = DeviceMemory(values.device)
  tiny_only = values.preset == ["tiny"]
  rows = run(values.preset, values.batch_size, values.seq_length,
             values.max_predictions_per_seq, values.precisions,
             [x == "on" for x in values.xla], values.implementations,
             1 if tiny_only and values["steps"].using_default_value
             else values.steps,
             1 if tiny_only and values["warmup_steps"].using_default_value
             else values.warmup_steps, memory)
  print(format_table(rows, memory.what))
  status = 0
  if any("error" in r for r in rows):
    status = 1
  if values.run_numerics_tests and run_numerics_tests(values.device):
    status = 1
  return status


if __name__ == "__main__":
  define_flags()
  app.run(main)
