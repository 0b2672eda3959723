r"""How much fine-tuning results swing with the seed: old recipe against new.

  python -m benchmarks.finetuning_stability                    # 5 seeds
  python -m benchmarks.finetuning_stability --seeds=1,2,3,4,5,6,7,8 \
      --scenarios=quickstart_tagger,sentiment --json_output=stability.json

Fine-tunes the same pretrained tiny ALBERT once per seed and recipe
(`--finetuning_recipe=original`: the original run_classifier optimizer;
`stable`: this package's default) and prints, per scenario and recipe, the
mean, worst, best and standard deviation of the dev score over the seeds.
Runs are interleaved (seed 1 old, seed 1 new, seed 2 old, ...), so a busy
machine slows both recipes alike; scores do not depend on speed.

Scenarios (each generates its data here; nothing is downloaded):
- quickstart_tagger: the quick start's dish tagger: its pretrained model
  (600 LAMB steps on Python docstrings), its generated reviews (half the dev
  dish mentions are dishes never seen in training) and its fine-tuning
  settings (with the stable recipe; input masking 0.15 too, which the
  original recipe's runs leave out). Dev span F1.
- heldout_tagger: the kept-back setup of issue reports: a tiny ALBERT
  pretrained 150 steps on generated reviews, 400 training reviews, dev
  reviews naming only dishes absent from training; run_token_classification
  with --train_batch_size=16 --learning_rate=1e-3 --train_step=300
  --warmup_step=30 --max_seq_length=64 and no other tuning flag. Dev span F1.
- sentiment: a small classification task (run_classifier, csv): 300
  generated reviews labelled positive or negative, dev reviews written with
  other templates and dishes; the quick start's pretrained model. Dev
  accuracy.

The pretrained models are built once under --work_dir (the quick start's
stages 1-4 for the docstring model) and reused by later runs.
"""

import dataclasses
import json
import os
import platform
import random
import statistics
import sys
import time

from albert_tf.cli.quiet_startup import quiet_if_main
quiet_if_main(__name__)

from absl import app  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import logging  # pylint: disable=g-import-not-at-top,wrong-import-position

SCENARIOS = ("quickstart_tagger", "heldout_tagger", "sentiment")
RECIPES = ("original", "stable")


def define_flags():
  flags.DEFINE_string("work_dir", "/tmp/albert_tf_stability",
                      "Pretrained models, data and runs go here.")
  flags.DEFINE_list("seeds", ["1", "2", "3", "4", "5"], "Fine-tuning seeds.")
  flags.DEFINE_list("scenarios", list(SCENARIOS), "Scenarios to run.")
  flags.DEFINE_list("recipes", list(RECIPES),
                    "--finetuning_recipe values to compare.")
  flags.DEFINE_string("json_output", None, "Also write the results here.")


def cpu_flags():
  """The CPU's bfloat16 / AVX-512 / AMX flags (they change float32 speed,
  not these scores; printed so numbers can be traced to a machine)."""
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("flags"):
          names = set(line.split(":", 1)[1].split())
          return sorted(n for n in names
                        if n.startswith(("amx", "avx512_bf16", "avx512f")))
  except OSError:
    pass
  return []


# -- pretrained models ---------------------------------------------------------

def quickstart_model(work_dir):
  """The quick start's pretrained tiny ALBERT (its stages 1-4)."""
  from albert_tf import quickstart_job  # pylint: disable=g-import-not-at-top
  run = quickstart_job.Quickstart(quickstart_job.defaults(
      output_dir=os.path.join(work_dir, "quickstart")))
  run.corpus()
  run.vocabulary()
  run.pretraining = run.pretraining_settings()
  run.pretraining_data()
  run.pretrain()
  return {"albert_config_file": run.config_file,
          "spm_model_file": run.spm_model,
          "init_checkpoint": run.best_checkpoint}


def reviews_model(work_dir, layers=None):
  """A tiny ALBERT pretrained 150 LAMB steps on 3,000 generated reviews
  (every dish, held-out ones included: raw text is not labelled); `layers`:
  its num_hidden_layers (default: the quick start's tiny config's)."""
  # pylint: disable=g-import-not-at-top
  from albert_tf import quickstart_job
  from albert_tf import quickstart_reviews as reviews
  from albert_tf.pretraining_data import data_generation_job
  from albert_tf.pretraining_data import data_generation_settings
  from albert_tf.tokenization import sentencepiece_training
  from albert_tf.tokenization import sentencepiece_training_settings
  from albert_tf.training import pretraining_job
  from albert_tf.training import pretraining_settings
  out = os.path.join(work_dir, "reviews_model" +
                     (f"_{layers}_layers" if layers else ""))
  model = {"albert_config_file": os.path.join(out, "pretraining",
                                              "albert_config.json"),
           "spm_model_file": os.path.join(out, "spm.model"),
           "init_checkpoint": os.path.join(out, "pretraining",
                                           "model.ckpt-best")}
  if os.path.exists(model["init_checkpoint"] + ".index"):
    return model
  os.makedirs(os.path.join(out, "pretraining"), exist_ok=True)
  rng = random.Random(777)
  dishes = reviews.TRAIN_DISHES + reviews.HELD_OUT_DISHES
  for name, count in (("train", 3000), ("eval", 200)):
    with open(os.path.join(out, f"{name}.txt"), "w", encoding="utf-8") as f:
      for _ in range(count // 6):  # Documents of 6 reviews.
        for _ in range(6):
          f.write(reviews.review(rng, lambda: rng.choice(dishes))[0] + "\n")
        f.write("\n")
  # The templates yield about 350 pieces at most.
  vocab_size = 300
  sentencepiece_training.train(sentencepiece_training_settings.defaults(
      input=os.path.join(out, "train.txt"), model_prefix=os.path.join(
          out, "spm"), vocab_size=vocab_size, num_threads=2, overwrite=True))
  for name in ("train", "eval"):
    data_generation_job.run(data_generation_settings.defaults(
        input_file=os.path.join(out, f"{name}.txt"),
        output_file=os.path.join(out, "data", name),
        spm_model_file=model["spm_model_file"], do_lower_case=True,
        max_seq_length=64, max_predictions_per_seq=10, dupe_factor=4))
  with open(quickstart_job.TINY_CONFIG, encoding="utf-8") as f:
    config = dict(json.load(f), vocab_size=vocab_size)
  if layers:
    config["num_hidden_layers"] = layers
  with open(model["albert_config_file"], "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
  pretraining_job.run(pretraining_settings.defaults(
      albert_config_file=model["albert_config_file"],
      input_file=os.path.join(out, "data", "train*"),
      eval_input_file=os.path.join(out, "data", "eval*"),
      output_dir=os.path.join(out, "pretraining"), do_train=True,
      do_eval=True, distribution_strategy="one_device", max_seq_length=64,
      max_predictions_per_seq=10, train_batch_size=32, eval_batch_size=32,
      optimizer="lamb", learning_rate=0.01, num_train_steps=150,
      num_warmup_steps=15, save_checkpoints_steps=150,
      iterations_per_loop=50, max_eval_steps=10))
  return model


# -- fine-tuning data ----------------------------------------------------------

def _write_csv(path, header, rows):
  import csv  # pylint: disable=g-import-not-at-top
  with open(path, "w", encoding="utf-8", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


def heldout_tagging_data(data_dir):
  """400 training reviews; dev (100) and test (20) name held-out dishes
  only."""
  from albert_tf import quickstart_reviews as reviews  # pylint: disable=g-import-not-at-top
  rng = random.Random(4242)
  sizes = {"train": 400, "dev": 100, "test": 20}
  os.makedirs(data_dir, exist_ok=True)
  for split, size in sizes.items():
    dishes = (reviews.TRAIN_DISHES if split == "train"
              else reviews.HELD_OUT_DISHES)
    rows = [reviews.review(rng, lambda d=dishes: rng.choice(d))
            for _ in range(size)]
    with open(os.path.join(data_dir, f"{split}.csv"), "w",
              encoding="utf-8") as f:
      f.write(reviews.csv_text(rows))
  return data_dir


POSITIVE = ("delicious", "wonderful", "superb", "excellent", "amazing",
            "fantastic", "lovely", "perfect", "tasty", "outstanding")
NEGATIVE = ("bland", "cold", "awful", "terrible", "soggy", "greasy", "stale",
            "disappointing", "horrible", "overcooked")
TRAIN_SENTIMENT_TEMPLATES = (
    "The {dish} was {word}.", "Honestly, the {dish} was {word}.",
    "We ordered the {dish} and it was {word}.",
    "My {dish} tasted {word} tonight.")
DEV_SENTIMENT_TEMPLATES = (
    "I found the {dish} {word}.", "Their {dish}? Simply {word}.",
    "Everyone agreed the {dish} was {word}.")


def sentiment_data(data_dir):
  """Positive / negative reviews: 300 to train on, 100 dev reviews in other
  templates and with dishes absent from training."""
  from albert_tf import quickstart_reviews as reviews  # pylint: disable=g-import-not-at-top
  rng = random.Random(2024)
  os.makedirs(data_dir, exist_ok=True)

  def rows(count, templates, dishes):
    out = []
    for _ in range(count):
      label = rng.choice(("positive", "negative"))
      word = rng.choice(POSITIVE if label == "positive" else NEGATIVE)
      out.append((rng.choice(templates).format(dish=rng.choice(dishes),
                                               word=word), label))
    return out
  _write_csv(os.path.join(data_dir, "train.csv"), ("text", "label"),
             rows(300, TRAIN_SENTIMENT_TEMPLATES, reviews.TRAIN_DISHES))
  _write_csv(os.path.join(data_dir, "dev.csv"), ("text", "label"),
             rows(100, DEV_SENTIMENT_TEMPLATES, reviews.HELD_OUT_DISHES))
  return data_dir


# -- scenarios -----------------------------------------------------------------

@dataclasses.dataclass
class Scenario:
  name: str
  metric: str
  tool: str           # albert_tf module with defaults() and TASK
  settings: dict      # everything but seed, recipe and output_dir


def scenarios(work_dir, names, heldout_layers=None):
  """{name: Scenario}, building the pretrained models they need
  (`heldout_layers`: the heldout tagger's model depth, default 4)."""
  from albert_tf import quickstart_job  # pylint: disable=g-import-not-at-top
  from albert_tf import quickstart_reviews as reviews  # pylint: disable=g-import-not-at-top
  found = {}
  tagger_columns = dict(entity_type=reviews.ENTITY_TYPE,
                        text_column=reviews.TEXT_COLUMN,
                        entity_column=reviews.ENTITY_COLUMN)
  if {"quickstart_tagger", "sentiment"} & set(names):
    model = quickstart_model(work_dir)
  if "quickstart_tagger" in names:
    steps = quickstart_job.QuickstartSettings.finetune_steps
    data_dir = os.path.join(work_dir, "data", "quickstart_reviews")
    reviews.write_dataset(data_dir)
    found["quickstart_tagger"] = Scenario(
        "quickstart_tagger", "f1", "run_token_classification", dict(
            model, data_dir=data_dir, **quickstart_job.tagger_settings(steps)))
  if "sentiment" in names:
    found["sentiment"] = Scenario(
        "sentiment", "accuracy", "run_classifier", dict(
            model, task_name="csv",
            data_dir=sentiment_data(os.path.join(work_dir, "data",
                                                 "sentiment")),
            max_seq_length=32, train_batch_size=16, learning_rate=1e-3,
            train_step=200, warmup_step=20, iterations_per_loop=50))
  if "heldout_tagger" in names:
    found["heldout_tagger"] = Scenario(
        "heldout_tagger", "f1", "run_token_classification", dict(
            reviews_model(work_dir, heldout_layers),
            data_dir=heldout_tagging_data(os.path.join(work_dir, "data",
                                                       "heldout_reviews")),
            train_batch_size=16, learning_rate=1e-3, train_step=300,
            warmup_step=30, max_seq_length=64, **tagger_columns))
  return found


def fine_tune(scenario, recipe, seed, work_dir):
  """The dev score of one run (the best evaluated checkpoint's)."""
  import importlib  # pylint: disable=g-import-not-at-top
  import shutil  # pylint: disable=g-import-not-at-top
  tool = importlib.import_module(f"albert_tf.{scenario.tool}")
  output_dir = os.path.join(work_dir, "runs",
                            f"{scenario.name}-{recipe}-seed{seed}")
  shutil.rmtree(output_dir, ignore_errors=True)
  values = dict(scenario.settings)
  if recipe == "original":
    # The original trained on its inputs as they are (the quick start's
    # tagger asks for input masking).
    values.pop("input_masking_rate", None)
  settings = tool.defaults(**{
      **values, "output_dir": output_dir, "do_train": True,
      "do_eval": True, "seed": seed, "finetuning_recipe": recipe})
  job = tool.run(settings)
  best = job.trainer.best_metrics() or {}
  return float(best.get("metrics", {}).get(scenario.metric, float("nan")))


def summary(scores):
  return {"mean": statistics.fmean(scores), "worst": min(scores),
          "best": max(scores),
          "std": statistics.pstdev(scores) if len(scores) > 1 else 0.0,
          "scores": scores}


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  values = flags.FLAGS
  unknown = sorted(set(values.scenarios) - set(SCENARIOS))
  if unknown:
    sys.exit(f"error: --scenarios: unknown {unknown}; known: {SCENARIOS}")
  seeds = [int(seed) for seed in values.seeds]
  work_dir = os.path.abspath(values.work_dir)
  found = scenarios(work_dir, values.scenarios)
  results = {name: {recipe: [] for recipe in values.recipes}
             for name in found}
  started = time.monotonic()
  for seed in seeds:
    for name, scenario in found.items():
      for recipe in values.recipes:
        score = fine_tune(scenario, recipe, seed, work_dir)
        results[name][recipe].append(score)
        print(f"[{time.monotonic() - started:6.0f} s] {name} {recipe} "
              f"seed {seed}: {scenario.metric} {score:.3f}", flush=True)
  table = {name: {recipe: summary(scores)
                  for recipe, scores in by_recipe.items()}
           for name, by_recipe in results.items()}
  print(f"\nseeds {seeds}; CPU flags {' '.join(cpu_flags()) or 'none'}; "
        f"{platform.processor() or platform.machine()}")
  print("| scenario | metric | recipe | mean | worst | best | std | "
        "per seed |")
  print("|---|---|---|---|---|---|---|---|")
  for name, by_recipe in table.items():
    for recipe, row in by_recipe.items():
      print(f"| {name} | {found[name].metric} | {recipe} | "
            f"{row['mean']:.3f} | {row['worst']:.3f} | {row['best']:.3f} | "
            f"{row['std']:.3f} | "
            f"{' '.join(f'{s:.2f}' for s in row['scores'])} |")
  if values.json_output:
    with open(values.json_output, "w", encoding="utf-8") as f:
      json.dump({"seeds": seeds, "cpu_flags": cpu_flags(), "results": table},
                f, indent=2)


if __name__ == "__main__":
  define_flags()
  app.run(main)
