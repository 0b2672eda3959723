r"""Peak memory of a pretraining step: albert_tf against its peers.

  python -m benchmarks.memory_benchmark --batch_sizes=8 --seq_lengths=128 \
      --cells=albert_tf,albert_tf+recompute=block,model_garden+xla,torch \
      --torch_python=/path/to/venv-with-torch/bin/python

Every measurement runs in a fresh process (`python -m
benchmarks.memory_benchmark --child=...`) that builds one implementation,
runs `--warmup_steps` untimed and `--steps` timed training steps (MLM + SOP,
LAMB or AdamW, clip 1.0) and reports the PEAK RESIDENT SET SIZE of the whole
process (getrusage ru_maxrss, i.e. /proc VmHWM: framework, weights,
optimizer slots, activations, input pipeline, allocator slack), its RSS
after the imports alone, examples/s and the step losses. Rounds interleave
the cells (round 1: every cell, round 2: every cell, ...) so machine noise
hits all alike; the table shows the median.

The parent polls each child's RSS: past --memory_limit_mb, or when the
machine has less than --min_available_mb left, it kills the child and
records the cell as "> N (killed)" (peers that do not fit are a result, not
a crash), so a big cell can neither end the run nor push a shared machine
into the OOM killer.

Cells are `implementation[+option...]`:
  albert_tf      what run_pretraining runs (PretrainingTrainer, orbit loop,
                 AlbertPretrainer, the original LAMB, our input pipeline).
                 Options: xla, recompute=attention|block, accum=K
                 (--gradient_accumulation_steps), bf16 / fp16
                 (--mixed_precision).
  model_garden   tf-models-official's BertPretrainerV2 over AlbertEncoder,
                 built as in benchmarks.pretraining_benchmark (its Trainer,
                 MaskedLMTask, LAMB, data loader). Options: xla, bf16, fp16.
  torch          transformers' AlbertForPreTraining (PyTorch) with AdamW,
                 clip 1.0, batches made in memory; run by --torch_python (an
                 environment with torch and transformers; TensorFlow is not
                 imported in that process). Options: checkpointing
                 (gradient_checkpointing_enable).
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

IMPLEMENTATIONS = ("albert_tf", "model_garden", "torch")
OPTIONS = {"albert_tf": ("xla", "recompute", "accum", "bf16", "fp16"),
           "model_garden": ("xla", "bf16", "fp16"),
           "torch": ("checkpointing",)}
DEFAULT_CELLS = ("albert_tf", "albert_tf+xla", "albert_tf+recompute=block",
                 "model_garden+xla", "torch")
# A Google-flavored ALBERT small enough for smoke runs.
TINY = {"vocab_size": 1000, "embedding_size": 32, "hidden_size": 64,
        "num_hidden_layers": 2, "num_hidden_groups": 1,
        "num_attention_heads": 4, "intermediate_size": 128,
        "inner_group_num": 1, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": 512, "type_vocab_size": 2,
        "initializer_range": 0.02}


def define_flags():
  flags.DEFINE_string("preset", "albert_base_v2",
                      "A named config, or `tiny` (a small smoke config).")
  flags.DEFINE_list("batch_sizes", ["8"], "Examples per step.")
  flags.DEFINE_list("seq_lengths", ["128"], "Tokens per example.")
  flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions.")
  flags.DEFINE_list("cells", list(DEFAULT_CELLS),
                    "implementation[+option...], see the module docstring.")
  flags.DEFINE_integer("steps", 2, "Timed steps per measurement.")
  flags.DEFINE_integer("warmup_steps", 1,
                       "Untimed steps first (tracing, XLA compilation).")
  flags.DEFINE_integer("rounds", 1, "Interleaved rounds.")
  flags.DEFINE_string("torch_python", None,
                      "Python with torch and transformers, for `torch` cells "
                      "(default: this one).")
  flags.DEFINE_string("output_json", None,
                      "Also write every sample here (rewritten after each "
                      "one, so an interrupted run keeps what it measured).")
  flags.DEFINE_list("from_json", None,
                    "Measure nothing: print the table of the samples in "
                    "these --output_json files (several runs merged).")
  flags.DEFINE_integer("memory_limit_mb", 20480,
                       "Kill a measurement whose process grows past this "
                       "and record the cell as '> limit'.")
  flags.DEFINE_integer("min_available_mb", 1024,
                       "Also kill it when the machine has less than this "
                       "available (other work shares the machine).")
  flags.DEFINE_string("child", None, "Internal: run one measurement.")


# -- cells ---------------------------------------------------------------------


class CellError(ValueError):
  """A --cells entry that is not implementation[+option...]."""


def parse_cell(text):
  """'albert_tf+xla+recompute=block' -> {"impl", "xla", "recompute", ...}."""
  name, *options = text.strip().split("+")
  if name not in IMPLEMENTATIONS:
    raise CellError(f"--cells: unknown implementation {name!r} in {text!r}; "
                    f"expected one of {', '.join(IMPLEMENTATIONS)}")
  cell = {"impl": name, "xla": False, "recompute": "none", "accum": 1,
          "precision": "float32", "checkpointing": False}
  for option in options:
    key, _, value = option.partition("=")
    if key not in OPTIONS[name]:
      raise CellError(f"--cells: {name} has no option {key!r} (in {text!r}); "
                      f"it takes {', '.join(OPTIONS[name])}")
    if key == "recompute":
      if value not in ("none", "attention", "block"):
        raise CellError(f"--cells: recompute={value!r} in {text!r}; expected "
                        "none, attention or block")
      cell["recompute"] = value
    elif key == "accum":
      if not value.isdigit() or int(value) < 1:
        raise CellError(f"--cells: accum={value!r} in {text!r}; expected a "
                        "positive integer")
      cell["accum"] = int(value)
    elif key in ("bf16", "fp16"):
      cell["precision"] = {"bf16": "bfloat16", "fp16": "float16"}[key]
    else:
      cell[key] = True
  return cell


def cell_label(cell):
  parts = [cell["impl"]]
  if cell["xla"]:
    parts.append("xla")
  if cell["recompute"] != "none":
    parts.append(f"recompute={cell['recompute']}")
  if cell["accum"] > 1:
    parts.append(f"accum={cell['accum']}")
  if cell["precision"] != "float32":
    parts.append({"bfloat16": "bf16", "float16": "fp16"}[cell["precision"]])
  if cell["checkpointing"]:
    parts.append("checkpointing")
  return "+".join(parts)


def config_dict(preset):
  if preset == "tiny":
    return dict(TINY)
  from albert_tf import presets  # pylint: disable=g-import-not-at-top
  return presets.get_preset(preset).to_dict()


# -- what a child measures --------------------------------------------------------


def peak_rss_mb():
  """Peak resident set size of this process so far, in MB (VmHWM)."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def build_tf_cell(cell, config, records, batch, seq, predictions):
  """(step_fn() -> loss) for an albert_tf or model_garden cell."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_keras  # pylint: disable=g-import-not-at-top
  policy = {"float32": "float32", "bfloat16": "mixed_bfloat16",
            "float16": "mixed_float16"}[cell["precision"]]
  tf_keras.mixed_precision.set_global_policy(policy)
  from albert_tf.config import AlbertConfig  # pylint: disable=g-import-not-at-top
  albert_config = AlbertConfig.from_dict(config)
  if cell["impl"] == "model_garden":
    from benchmarks import pretraining_benchmark  # pylint: disable=g-import-not-at-top
    setup = pretraining_benchmark.Setup(albert_config, records, batch, seq,
                                        predictions)
    if cell["precision"] == "float16":
      raise CellError("model_garden+fp16 is measured by "
                      "benchmarks.gpu_memory_benchmark only")
    run_loop, _ = pretraining_benchmark.build_model_garden(setup, cell["xla"])
    return lambda: run_loop(1)

  from albert_tf.checkpoints import tf1_variable_map  # pylint: disable=g-import-not-at-top
  from albert_tf.modeling import AlbertPretrainer  # pylint: disable=g-import-not-at-top
  from albert_tf.pretraining_data.input_pipeline import pretraining_dataset  # pylint: disable=g-import-not-at-top
  from albert_tf.training import optimization  # pylint: disable=g-import-not-at-top
  from albert_tf.training.pretraining_trainer import PretrainingTrainer  # pylint: disable=g-import-not-at-top
  strategy = tf.distribute.get_strategy()
  with strategy.scope():
    model = AlbertPretrainer(albert_config,
                             recompute_activations=cell["recompute"])
    names = {v.ref(): name for name, v in tf1_variable_map(model).items()}
    optimizer = optimization.create_optimizer(
        "lamb", 0.00176, 125000, 3125, variable_names=names)
    if cell["precision"] == "float16":
      optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
    optimizer.build(model.trainable_variables)

  def dataset_fn(context):
    return pretraining_dataset(records, batch, seq, predictions,
                               is_training=True, input_context=context,
                               seed=0)

  trainer = PretrainingTrainer(strategy, model, optimizer, batch,
                               train_dataset_fn=dataset_fn,
                               use_xla=cell["xla"],
                               gradient_accumulation_steps=cell["accum"])
  return lambda: trainer.train(tf.constant(1))["total_loss"]


def build_torch_cell(cell, config, batch, seq, predictions):
  """(step_fn() -> loss) for transformers' AlbertForPreTraining."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)
  hf_config = transformers.AlbertConfig(
      vocab_size=config["vocab_size"],
      embedding_size=config["embedding_size"],
      hidden_size=config["hidden_size"],
      num_hidden_layers=config["num_hidden_layers"],
      num_hidden_groups=config.get("num_hidden_groups", 1),
      num_attention_heads=config["num_attention_heads"],
      intermediate_size=config["intermediate_size"],
      inner_group_num=config.get("inner_group_num", 1),
      hidden_act="gelu_new",
      hidden_dropout_prob=config["hidden_dropout_prob"],
      attention_probs_dropout_prob=config["attention_probs_dropout_prob"],
      max_position_embeddings=config["max_position_embeddings"],
      type_vocab_size=config["type_vocab_size"],
      initializer_range=config["initializer_range"])
  model = transformers.AlbertForPreTraining(hf_config)
  model.train()
  if cell["checkpointing"]:
    model.gradient_checkpointing_enable()
  no_decay = ("bias", "LayerNorm.weight")
  groups = [
      {"params": [p for n, p in model.named_parameters()
                  if not any(k in n for k in no_decay)],
       "weight_decay": 0.01},
      {"params": [p for n, p in model.named_parameters()
                  if any(k in n for k in no_decay)],
       "weight_decay": 0.0}]
  optimizer = torch.optim.AdamW(groups, lr=0.00176, eps=1e-6)
  rng = np.random.RandomState(0)

  def make_batch():
    lengths = rng.randint(seq // 2, seq + 1, batch)
    ids = rng.randint(5, config["vocab_size"], [batch, seq])
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    labels = np.full([batch, seq], -100)
    for row, length in enumerate(lengths):
      positions = rng.choice(np.arange(1, length), predictions, replace=False)
      labels[row, positions] = rng.randint(5, config["vocab_size"],
                                           predictions)
    return {"input_ids": torch.tensor(ids * mask),
            "attention_mask": torch.tensor(mask),
            "token_type_ids": torch.zeros([batch, seq], dtype=torch.long),
            "labels": torch.tensor(labels),
            "sentence_order_label": torch.tensor(rng.randint(0, 2, batch))}

  def step():
    inputs = make_batch()
    optimizer.zero_grad(set_to_none=True)
    loss = model(**inputs).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return float(loss.detach())

  return step


def write_records(config, path, batch, seq, predictions):
  from albert_tf.config import AlbertConfig  # pylint: disable=g-import-not-at-top
  from benchmarks import pretraining_benchmark  # pylint: disable=g-import-not-at-top
  return pretraining_benchmark.write_records(
      path, AlbertConfig.from_dict(config), max(64, 8 * batch), seq,
      predictions)


def run_child(spec):
  """One measurement in this (fresh) process; returns the result dict."""
  cell = spec["cell"]
  config = config_dict(spec["preset"])
  batch, seq, predictions = spec["batch"], spec["seq"], spec["predictions"]
  if cell["impl"] == "torch":
    import torch  # pylint: disable=g-import-not-at-top,unused-import
    import transformers  # pylint: disable=g-import-not-at-top,unused-import
  elif cell["impl"] == "albert_tf":
    # What `python -m albert_tf.run_pretraining` imports.
    import albert_tf.run_pretraining  # pylint: disable=g-import-not-at-top,unused-import
    import orbit  # pylint: disable=g-import-not-at-top,unused-import
  else:
    # What Model Garden's train.py builds the pretrainer from.
    from official.core import base_trainer  # pylint: disable=g-import-not-at-top,unused-import
    from official.nlp.tasks import masked_lm  # pylint: disable=g-import-not-at-top,unused-import
  imports_mb = peak_rss_mb()
  started = time.perf_counter()
  if cell["impl"] == "torch":
    step = build_torch_cell(cell, config, batch, seq, predictions)
  else:
    step = build_tf_cell(cell, config, spec["records"], batch, seq,
                         predictions)
  losses = [float(step()) for _ in range(spec["warmup_steps"])]
  build_seconds = time.perf_counter() - started
  started = time.perf_counter()
  for _ in range(spec["steps"]):
    losses.append(float(step()))
  seconds = time.perf_counter() - started
  return {"label": cell_label(cell), "batch": batch, "seq": seq,
          "peak_rss_mb": peak_rss_mb(), "imports_rss_mb": imports_mb,
          "examples_per_s": spec["steps"] * batch / max(seconds, 1e-9),
          "build_s": build_seconds, "losses": losses}


# -- the parent -------------------------------------------------------------------


def process_rss_mb(pid):
  """Current resident set size of process `pid` in MB, or None once gone."""
  try:
    with open(f"/proc/{pid}/status") as f:
      for line in f:
        if line.startswith("VmRSS:"):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  return None


def machine_available_mb():
  """MemAvailable of the whole machine in MB (None where /proc lacks it)."""
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  return None


def measure(spec, python=None, timeout=3600, memory_limit_mb=20480,
            min_available_mb=1024, poll_seconds=0.25):
  """Runs one child process; returns its result dict or {"error": ...}.

  The parent watches the child: a cell whose process grows past
  `memory_limit_mb`, or that leaves the machine with less than
  `min_available_mb` available, is killed and recorded as
  {"over_limit_mb": ...} (the table shows "> limit") instead of taking the
  machine, and everything else on it, into the kernel's OOM killer; the
  remaining cells still run. RLIMIT_AS would not do: TensorFlow reserves far
  more address space than it touches.
  """
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
  base = {"label": cell_label(spec["cell"]), "batch": spec["batch"],
          "seq": spec["seq"]}
  with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile(
      "w+") as err:
    process = subprocess.Popen(
        [python or sys.executable, "-m", "benchmarks.memory_benchmark",
         f"--child={json.dumps(spec)}"], stdout=out, stderr=err, text=True,
        env=env, cwd=root)
    started = time.monotonic()
    killed = None
    largest_mb = 0.0
    while process.poll() is None:
      rss_mb = process_rss_mb(process.pid) or 0.0
      largest_mb = max(largest_mb, rss_mb)
      available_mb = machine_available_mb()
      if rss_mb > memory_limit_mb:
        killed = {"over_limit_mb": memory_limit_mb,
                  "error": f"killed at {rss_mb:,.0f} MB: over the "
                           f"{memory_limit_mb:,} MB limit"}
      elif available_mb is not None and available_mb < min_available_mb:
        killed = {"over_limit_mb": rss_mb,
                  "error": f"killed at {rss_mb:,.0f} MB: the machine had "
                           f"only {available_mb:,.0f} MB left"}
      elif time.monotonic() - started > timeout:
        killed = {"error": f"timed out after {timeout} s"}
      if killed:
        process.kill()
        process.wait()
        return dict(base, **killed)
      time.sleep(poll_seconds)
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
  for line in stdout.splitlines():
    if line.startswith("RESULT "):
      return json.loads(line[len("RESULT "):])
  tail = (stderr or stdout).strip().splitlines()[-3:]
  if process.returncode < 0:
    tail.append(f"killed by signal {-process.returncode} at about "
                f"{largest_mb:,.0f} MB")
  return dict(base, error=" | ".join(tail))


def write_json(samples, path):
  """Writes `samples` to `path` via a temporary name (never half a file)."""
  staging = path + ".tmp"
  with open(staging, "w") as f:
    json.dump(samples, f, indent=1)
  os.replace(staging, path)


def run(preset, batch_sizes, seq_lengths, cells, steps=2, warmup_steps=1,
        rounds=1, predictions=20, torch_python=None, print_fn=print,
        memory_limit_mb=20480, min_available_mb=1024, output_json=None):
  """All measurements, interleaved; returns the list of samples."""
  config = config_dict(preset)
  parsed = [parse_cell(c) for c in cells]
  samples = []
  with tempfile.TemporaryDirectory() as tmp:
    records = {}
    for batch in batch_sizes:
      for seq in seq_lengths:
        path = os.path.join(tmp, f"records-{batch}-{seq}.tfrecord")
        records[(batch, seq)] = write_records(config, path, batch, seq,
                                              predictions)
    for round_index in range(rounds):
      for batch in batch_sizes:
        for seq in seq_lengths:
          for cell in parsed:
            spec = {"cell": cell, "preset": preset, "batch": batch,
                    "seq": seq, "predictions": predictions,
                    "records": records[(batch, seq)], "steps": steps,
                    "warmup_steps": warmup_steps}
            python = torch_python if cell["impl"] == "torch" else None
            result = measure(spec, python, memory_limit_mb=memory_limit_mb,
                             min_available_mb=min_available_mb)
            result["round"] = round_index + 1
            samples.append(result)
            print_fn(json.dumps(result))
            if output_json:
              write_json(samples, output_json)
  return samples


def summarize(samples):
  """{(batch, seq, label): median peak/imports/speed/last loss}."""
  groups = {}
  for sample in samples:
    key = (sample["batch"], sample["seq"], sample["label"])
    groups.setdefault(key, []).append(sample)
  summary = {}
  for key, group in groups.items():
    good = [s for s in group if "error" not in s]
    over = [s for s in group if "over_limit_mb" in s]
    if over and not good:
      # Killed for its memory: the peak is at least what it had reached.
      summary[key] = {"over_limit_mb": max(s["over_limit_mb"] for s in over),
                      "rounds": len(over)}
      continue
    if not good:
      summary[key] = {"error": group[-1]["error"]}
      continue
    summary[key] = {
        "peak_rss_mb": statistics.median(s["peak_rss_mb"] for s in good),
        "imports_rss_mb": statistics.median(s["imports_rss_mb"]
                                            for s in good),
        "examples_per_s": statistics.median(s["examples_per_s"]
                                            for s in good),
        "loss": good[-1]["losses"][-1], "rounds": len(good)}
  return summary


def format_table(summary, title):
  lines = [title, "",
           "| batch | seq | cell | peak RSS (MB) | vs albert_tf | after "
           "imports (MB) | examples/s | rounds |",
           "|---:|---:|---|---:|---:|---:|---:|---:|"]
  for (batch, seq, label), row in sorted(
      summary.items(), key=lambda item: (item[0][0], item[0][1])):
    ours = summary.get((batch, seq, "albert_tf"), {})
    if "over_limit_mb" in row:
      ratio = (f"> {row['over_limit_mb'] / ours['peak_rss_mb']:.2f}"
               if ours.get("peak_rss_mb") else "-")
      lines.append(f"| {batch} | {seq} | {label} | > "
                   f"{row['over_limit_mb']:,.0f} (killed) | {ratio} | - | - | "
                   f"{row['rounds']} |")
      continue
    if "error" in row:
      lines.append(f"| {batch} | {seq} | {label} | failed: {row['error']} "
                   "| | | | |")
      continue
    ratio = (f"{row['peak_rss_mb'] / ours['peak_rss_mb']:.2f}"
             if ours.get("peak_rss_mb") else "-")
    lines.append(f"| {batch} | {seq} | {label} | {row['peak_rss_mb']:,.0f} "
                 f"| {ratio} | {row['imports_rss_mb']:,.0f} | "
                 f"{row['examples_per_s']:.2f} | {row['rounds']} |")
  return "\n".join(lines)


def main(argv):
  del argv
  values = flags.FLAGS
  if values.child:
    result = run_child(json.loads(values.child))
    print("RESULT " + json.dumps(result), flush=True)
    return 0
  if values.from_json:
    samples = []
    for path in values.from_json:
      try:
        with open(path) as f:
          samples.extend(json.load(f))
      except (OSError, ValueError) as e:
        print(f"error: --from_json={path}: cannot read samples: {e}",
              file=sys.stderr)
        return 1
    rounds = max((s.get("round", 1) for s in samples), default=0)
    print(format_table(summarize(samples),
                       f"peak RSS of a pretraining process, {len(samples)} "
                       f"samples from {len(values.from_json)} file(s), "
                       f"median over up to {rounds} round(s)"))
    return 0
  try:
    cells = [parse_cell(c) for c in values.cells]
    batch_sizes = [int(b) for b in values.batch_sizes]
    seq_lengths = [int(s) for s in values.seq_lengths]
    config_dict(values.preset)
  except (CellError, ValueError, KeyError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  samples = run(values.preset, batch_sizes, seq_lengths,
                [cell_label(c) for c in cells], values.steps,
                values.warmup_steps, values.rounds,
                values.max_predictions_per_seq, values.torch_python,
                memory_limit_mb=values.memory_limit_mb,
                min_available_mb=values.min_available_mb,
                output_json=values.output_json)
  title = (f"{values.preset}: peak RSS of a pretraining process, "
           f"{values.warmup_steps} warmup + {values.steps} timed steps, "
           f"median of {values.rounds} interleaved round(s), "
           f"{os.cpu_count()} CPU cores")
  print(format_table(summarize(samples), title))
  return 0


if __name__ == "__main__":
  define_flags()
  app.run(main)
