r"""A shallower student distilled from a fine-tuned teacher, against the same
student fine-tuned without it, on the held-out dish tagging setup.

  python -m benchmarks.distillation_benchmark                 # seeds 1,2,3
  python -m benchmarks.distillation_benchmark --seeds=1,2,3,4,5 \
      --json_output=distillation.json

The data and the pretrained model are finetuning_stability's
`heldout_tagger` scenario (a tiny 4-layer ALBERT pretrained 150 steps on
generated reviews; 400 training reviews; dev reviews naming only dishes
absent from training) and its fine-tuning settings
(run_token_classification, batch 16, learning rate 1e-3, 300 steps, 30
warmup, seq 64). Per seed, interleaved (so a busy machine slows every
variant alike):

  teacher            the pretrained 4-layer model fine-tuned
  student_plain      a --student_layers model (same widths) initialised from
                     the same pretrained checkpoint (the shared block makes
                     that free), fine-tuned without a teacher
  student_teacher_init  the same student initialised from the teacher's
                     fine-tuned encoder (--init_checkpoint=TEACHER_DIR), no
                     soft targets: what the initialisation alone gives
  student_distilled  initialised from the teacher's encoder and trained on
                     its soft targets (--teacher_checkpoint=TEACHER_DIR,
                     --distillation_temperature, --distillation_alpha)

and prints, per variant, dev span F1 (the best evaluated checkpoint's)
mean / worst / best over the seeds, the share of the teacher's mean, and
examples/s: inference (the tagger in inference mode, batches of 32, seq 64)
and training (the whole run's steps, the teacher's forward pass included
when distilling). Speeds are rough on a shared machine; scores do not
depend on speed.
"""

import json
import os
import platform
import shutil
import statistics
import sys
import time

from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging  # pylint: disable=g-import-not-at-top,wrong-import-position

VARIANTS = ("teacher", "student_plain", "student_teacher_init",
            "student_distilled")


def define_flags():
  flags.DEFINE_string("work_dir", "/tmp/albert_tf_distillation",
                      "The pretrained model, data and runs go here.")
  flags.DEFINE_list("seeds", ["1", "2", "3"], "Fine-tuning seeds.")
  flags.DEFINE_list("variants", list(VARIANTS), "Variants to run (the "
                    "students that learn from the teacher need it).")
  flags.DEFINE_integer("student_layers", 2, "The student's num_hidden_layers.")
  flags.DEFINE_float("temperature", 2.0, "--distillation_temperature.")
  flags.DEFINE_float("alpha", 0.5, "--distillation_alpha.")
  flags.DEFINE_integer("speed_batches", 20,
                       "Timed inference batches per model.")
  flags.DEFINE_string("json_output", None, "Also write the results here.")


def student_config(work_dir, teacher_config_file, layers):
  """The teacher's config with `layers` layers (same widths)."""
  with open(teacher_config_file, encoding="utf-8") as f:
    config = dict(json.load(f), num_hidden_layers=layers)
  path = os.path.join(work_dir, f"student_{layers}_layers.json")
  with open(path, "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
  return path


def inference_examples_per_second(job, batches):
  """Examples/s of the job's model in inference mode on dev batches of 32."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  features, _ = next(iter(job.task.build_inputs("dev", 32,
                                                is_training=False)))
  model = job.trainer.model
  call = tf.function(lambda x: model(x, training=False)["logits"])
  call(features).numpy()  # Trace and warm up.
  start = time.perf_counter()
  for _ in range(batches):
    call(features).numpy()
  size = int(features["input_word_ids"].shape[0])
  return batches * size / (time.perf_counter() - start)


def run_variant(name, scenario, seed, work_dir, student_config_file, values):
  """(dev span F1, inference ex/s, training ex/s) of one run."""
  from albert_tf import run_token_classification as tool  # pylint: disable=g-import-not-at-top
  settings = dict(scenario.settings, do_train=True, do_eval=True, seed=seed,
                  output_dir=os.path.join(work_dir, "runs",
                                          f"{name}-seed{seed}"))
  teacher_dir = os.path.join(work_dir, "runs", f"teacher-seed{seed}")
  if name != "teacher":
    settings["albert_config_file"] = student_config_file
  if name in ("student_teacher_init", "student_distilled"):
    settings["init_checkpoint"] = teacher_dir
  if name == "student_distilled":
    settings.update(teacher_checkpoint=teacher_dir,
                    distillation_temperature=values.temperature,
                    distillation_alpha=values.alpha)
  shutil.rmtree(settings["output_dir"], ignore_errors=True)
  started = time.perf_counter()
  job = tool.run(tool.defaults(**settings))
  seconds = time.perf_counter() - started
  best = job.trainer.best_metrics() or {}
  f1 = float(best.get("metrics", {}).get(scenario.metric, float("nan")))
  job.load_for_inference()
  speed = inference_examples_per_second(job, values.speed_batches)
  settings = job.settings
  return f1, speed, settings.train_step * settings.train_batch_size / seconds


def summary(rows):
  scores = [r[0] for r in rows]
  return {"mean": statistics.fmean(scores), "worst": min(scores),
          "best": max(scores),
          "std": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
          "scores": scores,
          "inference_examples_per_second": statistics.median(
              r[1] for r in rows),
          "training_examples_per_second": statistics.median(
              r[2] for r in rows)}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  values = flags.FLAGS
  unknown = sorted(set(values.variants) - set(VARIANTS))
  if unknown:
    sys.exit(f"error: --variants: unknown {unknown}; known: {VARIANTS}")
  from benchmarks import finetuning_stability  # pylint: disable=g-import-not-at-top
  work_dir = os.path.abspath(values.work_dir)
  scenario = finetuning_stability.scenarios(work_dir,
                                            ["heldout_tagger"])["heldout_tagger"]
  teacher_config = scenario.settings["albert_config_file"]
  with open(teacher_config, encoding="utf-8") as f:
    teacher_layers = json.load(f)["num_hidden_layers"]
  config_file = student_config(work_dir, teacher_config,
                               values.student_layers)
  variants = [v for v in VARIANTS if v in values.variants]
  seeds = [int(seed) for seed in values.seeds]
  results = {name: [] for name in variants}
  started = time.monotonic()
  for seed in seeds:
    for name in variants:
      row = run_variant(name, scenario, seed, work_dir, config_file, values)
      results[name].append(row)
      print(f"[{time.monotonic() - started:6.0f} s] {name} seed {seed}: "
            f"f1 {row[0]:.3f}, inference {row[1]:.0f} ex/s, training "
            f"{row[2]:.0f} ex/s", flush=True)
  table = {name: summary(rows) for name, rows in results.items()}
  teacher_mean = table.get("teacher", {}).get("mean")
  print(f"\nseeds {seeds}; teacher {teacher_layers} layers, students "
        f"{values.student_layers}; temperature {values.temperature:g}, "
        f"alpha {values.alpha:g}; CPU flags "
        f"{' '.join(finetuning_stability.cpu_flags()) or 'none'}; "
        f"{platform.processor() or platform.machine()}; "
        f"{os.cpu_count()} CPUs")
  print("| model | layers | span F1 mean | worst | best | std | % of teacher "
        "| inference ex/s | training ex/s | per seed |")
  print("|---|---|---|---|---|---|---|---|---|---|")
  for name, row in table.items():
    share = (f"{100 * row['mean'] / teacher_mean:.0f}%"
             if teacher_mean else "-")
    layers = teacher_layers if name == "teacher" else values.student_layers
    print(f"| {name} | {layers} | {row['mean']:.3f} | {row['worst']:.3f} | "
          f"{row['best']:.3f} | {row['std']:.3f} | {share} | "
          f"{row['inference_examples_per_second']:.0f} | "
          f"{row['training_examples_per_second']:.0f} | "
          f"{' '.join(f'{s:.3f}' for s in row['scores'])} |")
  if values.json_output:
    with open(values.json_output, "w", encoding="utf-8") as f:
      json.dump({"seeds": seeds, "teacher_layers": teacher_layers,
                 "student_layers": values.student_layers,
                 "temperature": values.temperature, "alpha": values.alpha,
                 "results": table}, f, indent=2)


if __name__ == "__main__":
  define_flags()
  app.run(main)
