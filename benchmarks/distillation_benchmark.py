r"""A shallower student distilled from a fine-tuned teacher, against the same
student fine-tuned without it, on the quick start's dish tagging data.

  python -m benchmarks.distillation_benchmark                 # seeds 1,2,3
  python -m benchmarks.distillation_benchmark --seeds=1,2,3,4,5 \
      --scenario=quickstart_tagger --json_output=distillation.json
  python -m benchmarks.distillation_benchmark --teacher_layers=12 \
      --student_layers=6 --work_dir=/tmp/albert_tf_distillation_12  # 12 -> 6

Data, pretrained model and fine-tuning settings are one of
benchmarks/finetuning_stability's tagger scenarios (--scenario):

  heldout_tagger     (default) a tiny 4-layer ALBERT pretrained 150 steps
                     on the quick start's generated reviews; 400 training
                     reviews, dev reviews naming only dishes absent from
                     training; run_token_classification with batch 16,
                     learning rate 1e-3, 300 steps, 30 warmup, seq 64
  quickstart_tagger  the quick start's own pretrained 4-layer model, data
                     and tagger settings (quickstart_job.tagger_settings)

Per seed, one after the other (so a busy machine slows every variant alike):

  teacher               the pretrained 4-layer model fine-tuned
  student_plain         a --student_layers model (same widths) initialised
                        from the same pretrained checkpoint (the shared block
                        makes that free), fine-tuned without a teacher
  student_teacher_init  the same student initialised from the teacher's
                        fine-tuned encoder (--init_checkpoint=TEACHER_DIR),
                        no soft targets: what the initialisation alone gives
  student_distilled     initialised from the teacher's encoder and trained
                        on its soft targets (--teacher_checkpoint=TEACHER_DIR,
                        --distillation_temperature, --distillation_alpha)

and prints, per variant, dev span F1 (the best evaluated checkpoint's)
mean / worst / best over the seeds, the share of the teacher's mean, and
examples/s: inference (the fine-tuned tagger in inference mode, dev batches
of 32; after each seed the variants' models are timed in interleaved rounds
and the median round is kept) and training (the whole run's steps, the
teacher's forward pass included when distilling). Speeds are rough on a
shared machine; scores do not depend on speed.
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
TAGGER_SCENARIOS = ("heldout_tagger", "quickstart_tagger")


def define_flags():
  flags.DEFINE_string("work_dir", "/tmp/albert_tf_distillation",
                      "The pretrained model, data and runs go here.")
  flags.DEFINE_enum("scenario", "heldout_tagger", TAGGER_SCENARIOS,
                    "Which of finetuning_stability's dish tagging scenarios.")
  flags.DEFINE_list("seeds", ["1", "2", "3"], "Fine-tuning seeds.")
  flags.DEFINE_list("variants", list(VARIANTS), "Variants to run (the "
                    "students that learn from the teacher need it).")
  flags.DEFINE_integer("student_layers", 2, "The student's num_hidden_layers.")
  flags.DEFINE_integer(
      "teacher_layers", None, "heldout_tagger: pretrain the reviews model "
      "with this many layers (same widths) and fine-tune the teacher at that "
      "depth (default: the tiny config's 4).")
  flags.DEFINE_float("temperature", 2.0, "--distillation_temperature.")
  flags.DEFINE_float("alpha", 0.5, "--distillation_alpha.")
  flags.DEFINE_integer("train_step", None, "Fine-tuning steps of every "
                       "variant (default: the scenario's).")
  flags.DEFINE_integer("speed_batches", 20,
                       "Inference batches per model and round.")
  flags.DEFINE_integer("speed_rounds", 3, "Interleaved inference rounds.")
  flags.DEFINE_string("json_output", None, "Also write the results here.")


def student_config(work_dir, teacher_config_file, layers):
  """The teacher's config with `layers` layers (same widths)."""
  with open(teacher_config_file, encoding="utf-8") as f:
    config = dict(json.load(f), num_hidden_layers=layers)
  path = os.path.join(work_dir, f"student_{layers}_layers.json")
  with open(path, "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
  return path


def variant_settings(name, scenario, seed, work_dir, student_config_file,
                     values):
  """run_token_classification settings of one variant and seed."""
  settings = dict(scenario.settings, do_train=True, do_eval=True, seed=seed,
                  output_dir=os.path.join(work_dir, "runs",
                                          f"{name}-seed{seed}"))
  if values.train_step:
    # The quick start's schedule for that many steps (warmup a tenth,
    # evaluated halfway and at the end).
    from albert_tf import quickstart_job  # pylint: disable=g-import-not-at-top
    schedule = quickstart_job.tagger_settings(values.train_step)
    settings.update({key: schedule[key] for key in (
        "train_step", "warmup_step", "save_checkpoints_steps",
        "iterations_per_loop")})
  teacher_dir = os.path.join(work_dir, "runs", f"teacher-seed{seed}")
  if name != "teacher":
    settings["albert_config_file"] = student_config_file
  if name in ("student_teacher_init", "student_distilled"):
    settings["init_checkpoint"] = teacher_dir
  if name == "student_distilled":
    settings.update(teacher_checkpoint=teacher_dir,
                    distillation_temperature=values.temperature,
                    distillation_alpha=values.alpha)
  return settings


def fine_tune(settings, metric):
  """(the finished job, dev score of its best checkpoint, training ex/s)."""
  from albert_tf import run_token_classification as tool  # pylint: disable=g-import-not-at-top
  shutil.rmtree(settings["output_dir"], ignore_errors=True)
  started = time.perf_counter()
  job = tool.run(tool.defaults(**settings))
  seconds = time.perf_counter() - started
  best = job.trainer.best_metrics() or {}
  score = float(best.get("metrics", {}).get(metric, float("nan")))
  job.load_for_inference()
  return job, score, (job.settings.train_step *
                      job.settings.train_batch_size / seconds)


def inference_speeds(jobs, batches, rounds):
  """{name: examples/s} of each job's model in inference mode on the same
  dev batch of 32, timed in interleaved rounds (median round)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  calls = {}
  for name, job in jobs.items():
    features, _ = next(iter(job.task.build_inputs("dev", 32,
                                                  is_training=False)))
    model = job.trainer.model
    call = tf.function(lambda x, m=model: m(x, training=False)["logits"])
    call(features).numpy()  # Trace and warm up.
    calls[name] = (call, features, int(features["input_word_ids"].shape[0]))
  timings = {name: [] for name in calls}
  for _ in range(rounds):
    for name, (call, features, size) in calls.items():
      start = time.perf_counter()
      for _ in range(batches):
        call(features).numpy()
      timings[name].append(batches * size / (time.perf_counter() - start))
  return {name: statistics.median(rates) for name, rates in timings.items()}


def summary(rows):
  """finetuning_stability's score summary plus the median speeds."""
  from benchmarks import finetuning_stability  # pylint: disable=g-import-not-at-top
  return dict(finetuning_stability.summary([r["score"] for r in rows]),
              inference_examples_per_second=statistics.median(
                  r["inference"] for r in rows),
              training_examples_per_second=statistics.median(
                  r["training"] for r in rows))


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  values = flags.FLAGS
  unknown = sorted(set(values.variants) - set(VARIANTS))
  if unknown:
    sys.exit(f"error: --variants: unknown {unknown}; known: {VARIANTS}")
  from benchmarks import finetuning_stability  # pylint: disable=g-import-not-at-top
  work_dir = os.path.abspath(values.work_dir)
  if values.teacher_layers and values.scenario != "heldout_tagger":
    sys.exit("error: --teacher_layers applies to --scenario=heldout_tagger "
             "(the quick start's model is pretrained at 4 layers)")
  scenario = finetuning_stability.scenarios(
      work_dir, [values.scenario],
      heldout_layers=values.teacher_layers)[values.scenario]
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
    jobs = {}
    for name in variants:
      job, score, training = fine_tune(
          variant_settings(name, scenario, seed, work_dir, config_file,
                           values), scenario.metric)
      jobs[name] = job
      results[name].append({"score": score, "training": training})
      print(f"[{time.monotonic() - started:6.0f} s] {name} seed {seed}: "
            f"{scenario.metric} {score:.3f}, training {training:.0f} ex/s",
            flush=True)
    for name, speed in inference_speeds(jobs, values.speed_batches,
                                        values.speed_rounds).items():
      results[name][-1]["inference"] = speed
      print(f"  {name}: inference {speed:.0f} ex/s", flush=True)
  table = {name: summary(rows) for name, rows in results.items()}
  teacher_mean = table.get("teacher", {}).get("mean")
  print(f"\n{values.scenario}; seeds {seeds}; teacher {teacher_layers} "
        f"layers, students {values.student_layers}; temperature "
        f"{values.temperature:g}, alpha {values.alpha:g}; "
        f"{values.train_step or scenario.settings['train_step']} steps; "
        "CPU flags "
        f"{' '.join(finetuning_stability.cpu_flags()) or 'none'}; "
        f"{platform.processor() or platform.machine()}; "
        f"{os.cpu_count()} CPUs")
  print(f"| model | layers | span F1 mean | worst | best | std | % of "
        "teacher | inference ex/s | training ex/s | per seed |")
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
      json.dump({"scenario": values.scenario, "seeds": seeds,
                 "teacher_layers": teacher_layers,
                 "student_layers": values.student_layers,
                 "temperature": values.temperature, "alpha": values.alpha,
                 "results": table, "runs": results}, f, indent=2)


if __name__ == "__main__":
  define_flags()
  app.run(main)
