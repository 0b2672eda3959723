r"""One inference benchmark: our exports next to transformers and ONNX Runtime.

  python -m benchmarks.inference_benchmark [--preset=albert_base_v2] \
      [--rounds=2] [--steps=5] [--batch_sizes=1,32] [--seq_length=128]

Times, in alternating rounds in one process (so machine noise hits every
row alike), examples/s at each batch size and the file size of:

  albert_tf SavedModel float32    tfhub_export.serving_export of the encoder
  albert_tf SavedModel bfloat16   the same under --export_precision=bfloat16
  albert_tf 6-layer student       the encoder with num_hidden_layers 6, same
                                  widths (ALBERT's shared block: the same
                                  weights, run half as often), float32
  albert_tf TFLite float32        tfhub_export.tflite_export, quantization
  albert_tf TFLite dynamic int8   none / dynamic_int8 (tokenizer inside)
  transformers float32            AlbertModel on torch, the same weights
  transformers bfloat16 autocast  (written with save_hf_directory)
  ONNX Runtime dynamic int8       that AlbertModel exported to ONNX and
                                  quantized with quantize_dynamic (QInt8)

Inputs: every sentence pair is long enough to be truncated to seq_length.
The SavedModels are called through `serve_token_ids` and transformers / ONNX
Runtime with the same packed ids (tokenization outside the timing); the
TFLite models take raw text (`serving_default`, tokenizer inside: the only
input they have), so their rows include tokenization (about 8 ms per pair,
see docs/speed.md's serving section). Weights are random: speed does not
depend on them.

Peers are optional (setup.py's `bench` extra: torch, transformers, onnx,
onnxruntime); a row whose library is missing is skipped with the reason
printed, and so are the TFLite rows when tfhub_export.tflite_export is not
there. Every runtime gets the same number of threads (--threads, default:
the CPU cores this process may use).
"""

import dataclasses
import logging
import os
import statistics
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tf_keras

from albert_tf import presets
from albert_tf.checkpoints import hf_export
from albert_tf.modeling.albert_encoder import AlbertEncoder
from albert_tf.tokenization import python_tokenizer
from benchmarks import serving_benchmark
from tfhub_export import export_precision
from tfhub_export import export_utils
from tfhub_export import serving_export

FLAGS = flags.FLAGS
TESTDATA_SPM_MODEL = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "testdata",
    "tokenization", "tiny-clean.model")
OUTPUT_NAMES = ["pooled_output", "sequence_output"]

SAVED_FLOAT32 = "albert_tf SavedModel float32"
SAVED_BFLOAT16 = "albert_tf SavedModel bfloat16"
STUDENT = "albert_tf {layers}-layer student, SavedModel float32"
TFLITE_FLOAT32 = "albert_tf TFLite float32"
TFLITE_INT8 = "albert_tf TFLite dynamic int8"
TORCH_FLOAT32 = "transformers (torch) float32"
TORCH_BFLOAT16 = "transformers (torch) bfloat16 autocast"
ORT_INT8 = "ONNX Runtime dynamic int8 (transformers model)"
INSTALL_HINT = "pip install -e .[bench]"
_SETTLE_SECONDS = 0.5


@dataclasses.dataclass
class Row:
  """One timed model: fn(request) → {"pooled_output": ...}."""
  name: str
  fn: object
  inputs: str          # "ids" (packed, tf int32), "numpy_ids" or "text"
  size_bytes: int
  threads_note: str = ""


def define_flags():
  """Defines this tool's flags; only when it runs as a program, so that
  importing it (tests, other tools) never clashes with other flags."""
  flags.DEFINE_string("preset", None,
                      "A named config (default albert_base_v2).")
  flags.DEFINE_string("albert_config_file", None, "Or an albert_config.json.")
  flags.DEFINE_string("spm_model_file", TESTDATA_SPM_MODEL,
                      "SentencePiece model of the exports' tokenizer (the "
                      "default is the test fixture; speed does not depend "
                      "on it: every pair is truncated to --seq_length).")
  flags.DEFINE_integer("seq_length", 128, "Tokens per example.")
  flags.DEFINE_list("batch_sizes", ["1", "32"], "Batch sizes to time.")
  flags.DEFINE_integer("rounds", 2, "Timed rounds per row (the median is "
                       "reported).")
  flags.DEFINE_integer("steps", 5, "Calls per round at batch 1 (larger "
                       "batches: --large_batch_steps).")
  flags.DEFINE_integer("large_batch_steps", 1, "Calls per round at batch "
                       "sizes above 1.")
  flags.DEFINE_integer("student_layers", 6, "The student's layers.")
  flags.DEFINE_integer("threads", None, "Threads every runtime may use, "
                       "TensorFlow's intra-op pool included (default: this "
                       "process's CPU cores).")
  flags.DEFINE_list("skip", [], "Rows to leave out, by the start of their "
                    "name (e.g. 'transformers,ONNX').")


def directory_size(path):
  """Bytes of a file, or of every file below a directory."""
  if os.path.isfile(path):
    return os.path.getsize(path)
  return sum(os.path.getsize(os.path.join(d, f))
             for d, _, files in os.walk(path) for f in files)


def _encoder(config, weights_from=None):
  encoder = AlbertEncoder(config)
  ids = tf.zeros([1, 8], tf.int32)
  encoder({"input_word_ids": ids, "input_mask": ids, "input_type_ids": ids})
  if weights_from is not None:
    encoder.set_weights(weights_from.get_weights())
  return encoder


def saved_model_rows(config, teacher, spm_model_file, seq_length,
                     student_layers, work_dir, skip=()):
  """The TF Serving exports: float32, bfloat16 and the shallower student."""
  rows = []
  specs = [(SAVED_FLOAT32, config, "float32"),
           (SAVED_BFLOAT16, config, "bfloat16"),
           (STUDENT.format(layers=student_layers),
            config.replace(num_hidden_layers=student_layers), "float32")]
  for index, (name, row_config, precision) in enumerate(specs):
    if any(name.startswith(s) for s in skip):
      continue
    with export_precision.computing_in(precision):
      # Built under the precision's policy; all share the teacher's
      # weights (the student runs ALBERT's one shared block fewer times).
      encoder = _encoder(row_config, weights_from=teacher)
      version_dir = serving_export.export_serving_model(
          encoder, os.path.join(work_dir, f"saved_model_{index}"),
          spm_model_file=spm_model_file, seq_length=seq_length,
          output_names=OUTPUT_NAMES)
    signature = tf.saved_model.load(version_dir).signatures["serve_token_ids"]
    rows.append(Row(name, lambda ids, s=signature: s(**ids), "ids",
                    directory_size(version_dir)))
  return rows


def tflite_rows(teacher, spm_model_file, seq_length, threads, work_dir):
  """(rows, skipped reasons) for the TFLite exports."""
  try:
    # pylint: disable=g-import-not-at-top
    from tfhub_export import tflite_export
  except ImportError as e:
    return [], {f"{TFLITE_FLOAT32}, {TFLITE_INT8}":
                f"tfhub_export.tflite_export cannot be imported ({e})"}
  rows = []
  spec = export_utils.TokenizerSpec(spm_model_file=spm_model_file)
  for name, quantization in ((TFLITE_FLOAT32, "none"),
                             (TFLITE_INT8, "dynamic_int8")):
    path = tflite_export.export_tflite(
        teacher, os.path.join(work_dir, f"tflite_{quantization}"),
        tokenizer_spec=spec, seq_length=seq_length,
        output_names=OUTPUT_NAMES, quantization=quantization)
    runner = tflite_export.signature_runner(tflite_export.load_interpreter(
        model_path=path, num_threads=threads))
    rows.append(Row(name, lambda text, r=runner: r(text_a=text[0],
                                                   text_b=text[1]),
                    "text", os.path.getsize(path)))
  return rows, {}


def transformers_rows(teacher, threads, work_dir):
  """(rows, skipped reasons): AlbertModel on torch with our weights, in
  float32 and bfloat16 autocast, and its ONNX export quantized to int8."""
  try:
    # pylint: disable=g-import-not-at-top
    import torch
    import transformers
  except ImportError as e:
    return [], {f"{TORCH_FLOAT32}, {TORCH_BFLOAT16}, {ORT_INT8}":
                f"{e.name} is not installed ({INSTALL_HINT})"}
  torch.set_num_threads(threads)
  hf_dir = hf_export.save_hf_directory(teacher, os.path.join(work_dir, "hf"))
  model = transformers.AlbertModel.from_pretrained(hf_dir).eval()
  size = directory_size(os.path.join(hf_dir, "model.safetensors"))

  def call(ids, autocast):
    with torch.inference_mode(), torch.autocast(
        "cpu", dtype=torch.bfloat16, enabled=autocast):
      outputs = model(**ids)
    return {"pooled_output": outputs.pooler_output.float()}

  rows = [Row(TORCH_FLOAT32, lambda ids: call(ids, False), "torch_ids", size),
          Row(TORCH_BFLOAT16, lambda ids: call(ids, True), "torch_ids", size)]
  skipped = {}
  try:
    rows.append(_onnx_int8_row(model, threads, work_dir))
  except ImportError as e:
    skipped[ORT_INT8] = f"{e.name} is not installed ({INSTALL_HINT})"
  return rows, skipped


def _onnx_int8_row(model, threads, work_dir):
  # pylint: disable=g-import-not-at-top
  import onnx  # noqa: F401  (the exporter needs it)
  import onnxruntime
  from onnxruntime import quantization
  from onnxruntime.quantization import shape_inference
  import torch

  class Positional(torch.nn.Module):
    def __init__(self, inner):
      super().__init__()
      self.inner = inner

    def forward(self, input_ids, attention_mask, token_type_ids):
      outputs = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids)
      return outputs.last_hidden_state, outputs.pooler_output

  names = ["input_ids", "attention_mask", "token_type_ids"]
  example = tuple(torch.ones([2, 16], dtype=torch.long) for _ in names)
  float_path = os.path.join(work_dir, "model.onnx")
  int8_path = os.path.join(work_dir, "model_int8.onnx")
  with torch.inference_mode():
    # The TorchScript exporter (dynamo=False): the dynamo one needs
    # onnxscript, one more package for the same graph.
    torch.onnx.export(
        Positional(model), example, float_path, input_names=names,
        output_names=["last_hidden_state", "pooler_output"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names},
        opset_version=17, dynamo=False)
  # ONNX Runtime's recommended pre-processing first: the exporter hands the
  # shared block's weights to the later layers through Identity nodes, and
  # the quantizer leaves a MatMul whose weight is not a constant in float32;
  # folding them lets it quantize every layer's weight matmuls (checked on a
  # tiny config: 26 MatMulInteger with it, far fewer without). Symbolic
  # shape inference fails on this graph and is not needed for that.
  prepared_path = os.path.join(work_dir, "model_prepared.onnx")
  # The quantizer logs a line per tensor at INFO.
  logging.disable(logging.INFO)
  try:
    shape_inference.quant_pre_process(float_path, prepared_path,
                                      skip_symbolic_shape=True)
    quantization.quantize_dynamic(prepared_path, int8_path,
                                  weight_type=quantization.QuantType.QInt8)
  finally:
    logging.disable(logging.NOTSET)
  options = onnxruntime.SessionOptions()
  options.intra_op_num_threads = threads
  session = onnxruntime.InferenceSession(
      int8_path, options, providers=["CPUExecutionProvider"])

  def call(ids):
    _, pooled = session.run(None, ids)
    return {"pooled_output": pooled}

  return Row(ORT_INT8, call, "numpy_ids", os.path.getsize(int8_path))


def requests_for(pairs, tokenizer, seq_length):
  """The same batch in every input form a row takes."""
  packed = serving_benchmark.python_packer(tokenizer, seq_length)(pairs)
  numpy_ids = {"input_ids": packed["input_word_ids"].numpy().astype(np.int64),
               "attention_mask": packed["input_mask"].numpy().astype(np.int64),
               "token_type_ids":
                   packed["input_type_ids"].numpy().astype(np.int64)}
  requests = {"ids": packed, "numpy_ids": numpy_ids,
              "text": (np.array([a.encode() for a, _ in pairs], object),
                       np.array([b.encode() for _, b in pairs], object))}
  try:
    import torch  # pylint: disable=g-import-not-at-top
    requests["torch_ids"] = {k: torch.from_numpy(v)
                             for k, v in numpy_ids.items()}
  except ImportError:
    pass
  return requests


def build_rows(config, spm_model_file, seq_length, student_layers, threads,
               work_dir, skip=(), log=print):
  """(rows, {row names: why skipped})."""
  tf_keras.utils.set_random_seed(0)
  teacher = _encoder(config)
  log("exporting the SavedModels")
  rows = saved_model_rows(config, teacher, spm_model_file, seq_length,
                          student_layers, work_dir, skip)
  skipped = {}

  def skipped_by_flag(names):
    return all(any(name.startswith(s) for s in skip) for name in names)

  for what, names, builder in (
      ("TFLite", (TFLITE_FLOAT32, TFLITE_INT8),
       lambda: tflite_rows(teacher, spm_model_file, seq_length, threads,
                           work_dir)),
      ("transformers / ONNX Runtime", (TORCH_FLOAT32, TORCH_BFLOAT16,
                                       ORT_INT8),
       lambda: transformers_rows(teacher, threads, work_dir))):
    if skipped_by_flag(names):  # Not even exported.
      skipped[", ".join(names)] = "--skip"
      continue
    log(f"exporting {what}")
    more, reasons = builder()
    rows += more
    skipped.update(reasons)
  kept = [r for r in rows if not any(r.name.startswith(s) for s in skip)]
  for row in rows:
    if row not in kept:
      skipped[row.name] = "--skip"
  return kept, skipped


def run(rows, tokenizer, seq_length, batch_sizes, rounds, steps,
        large_batch_steps, log=print):
  """{(row name, batch size): median examples/s}."""
  # Long enough that every pair is truncated to seq_length.
  pairs = serving_benchmark.sentence_pairs(max(batch_sizes),
                                           words_per_segment=seq_length)
  results = {}
  for batch_size in batch_sizes:
    requests = requests_for(pairs[:batch_size], tokenizer, seq_length)
    calls = steps if batch_size == 1 else large_batch_steps
    for row in rows:  # Warm-up: tracing, caches, first allocations.
      row.fn(requests[row.inputs])
    samples = {row.name: [] for row in rows}
    for round_index in range(rounds):  # Alternating rows.
      for row in rows:
        # Lets the last runtime's worker threads stop spinning (OpenMP,
        # ONNX Runtime and Eigen spin-wait after a call) before the next
        # one's clock starts: on few cores they would steal its time.
        time.sleep(_SETTLE_SECONDS)
        seconds = serving_benchmark.seconds_per_call(
            row.fn, requests[row.inputs], calls)
        samples[row.name].append(batch_size / seconds)
      log(f"batch {batch_size}: round {round_index + 1}/{rounds} done")
    for name, values in samples.items():
      results[(name, batch_size)] = statistics.median(values)
  return results


def format_results(rows, results, batch_sizes, skipped, title):
  reference = SAVED_FLOAT32
  lines = [title, "",
           "| model | input | file (MB) | " + " | ".join(
               f"batch {b} (examples/s)" for b in batch_sizes) +
           f" | batch {batch_sizes[0]} vs SavedModel float32 |",
           "|---|---|---|" + "---|" * (len(batch_sizes) + 1)]
  for row in rows:
    speeds = [results[(row.name, b)] for b in batch_sizes]
    base = results.get((reference, batch_sizes[0]))  # None if --skip'ped.
    ratio = (f"{results[(row.name, batch_sizes[0])] / base:.2f}×" if base
             else "-")
    lines.append(
        f"| {row.name} | {'raw text' if row.inputs == 'text' else 'ids'} | "
        f"{row.size_bytes / 1e6:.1f} | " +
        " | ".join(f"{s:.2f}" for s in speeds) + f" | {ratio} |")
  for name, reason in skipped.items():
    lines.append(f"skipped {name}: {reason}")
  return "\n".join(lines)


def cpu_description():
  """The CPU's model name and the flags that decide bfloat16 / int8 speed."""
  model, flag_names = "unknown CPU", []
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown CPU":
          model = value.strip()
        elif key.strip() == "flags":
          wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni",
                    "amx_bf16", "amx_int8")
          present = value.split()
          flag_names = [w for w in wanted if w in present]
          break
  except OSError:
    pass
  amx = "AMX" if "amx_bf16" in flag_names else "no AMX"
  return f"{model} ({', '.join(flag_names)}; {amx})"


def main(argv):
  del argv
  preset = FLAGS.preset
  if not preset and not FLAGS.albert_config_file:
    preset = "albert_base_v2"
  config = presets.load_config(FLAGS.albert_config_file, preset)
  if not os.path.isfile(FLAGS.spm_model_file):
    print(f"error: --spm_model_file {FLAGS.spm_model_file} does not exist",
          file=sys.stderr)
    return 1
  threads = FLAGS.threads or len(os.sched_getaffinity(0))
  # TensorFlow's own pool too, so every runtime gets the same threads
  # (before TF starts its runtime, i.e. before any op runs).
  tf.config.threading.set_intra_op_parallelism_threads(threads)
  batch_sizes = [int(b) for b in FLAGS.batch_sizes]
  tokenizer = python_tokenizer.FullTokenizer(
      None, spm_model_file=FLAGS.spm_model_file)
  with tempfile.TemporaryDirectory() as work_dir:
    rows, skipped = build_rows(config, FLAGS.spm_model_file, FLAGS.seq_length,
                               FLAGS.student_layers, threads, work_dir,
                               skip=FLAGS.skip)
    results = run(rows, tokenizer, FLAGS.seq_length, batch_sizes,
                  FLAGS.rounds, FLAGS.steps, FLAGS.large_batch_steps)
  title = (f"{preset or FLAGS.albert_config_file}, seq {FLAGS.seq_length}, "
           f"{FLAGS.rounds} alternating rounds (batch 1: {FLAGS.steps} "
           f"calls, larger: {FLAGS.large_batch_steps}), median; "
           f"{threads} threads; {cpu_description()}")
  print(format_results(rows, results, batch_sizes, skipped, title))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
