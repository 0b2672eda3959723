"""eval_results.txt and the best checkpoint (model.ckpt-best), as an action.

eval_results.txt keeps the original's `key = value` lines, one block per
evaluation. The best checkpoint by `metric` (masked_lm_accuracy for
pretraining) is written with the ORIGINAL variable names, so it loads into
the original code as well as ours; best_checkpoint.json remembers its score
across restarts (training/best_checkpoint.py, which fine-tuning shares).
"""

import json
import os

from albert_tf.checkpoints import save_tf1_checkpoint
from albert_tf.files.atomic_write import write_text_atomically
from albert_tf.training.best_checkpoint import BestCheckpointKeeper

BEST_PREFIX = "model.ckpt-best"
BEST_INFO = "best_checkpoint.json"
RESULTS_FILE = "eval_results.txt"


def format_results(step, results):
  lines = [f"***** Eval results at global_step {step} *****"]
  for key, value in sorted({**results, "global_step": step}.items()):
    lines.append(f"{key} = {value}")
  return "\n".join(lines) + "\n"


class EvalResultsWriter:
  """Called with each evaluation's metrics; only the chief writes files."""

  def __init__(self, output_dir, global_step, model,
               metric="masked_lm_accuracy", is_chief=True, print_fn=print):
    self.output_dir = output_dir
    self.global_step = global_step
    self.model = model
    self.metric = metric
    self.is_chief = is_chief
    self.print_fn = print_fn
    self.best = self.read_best(output_dir)
    self.keeper = BestCheckpointKeeper(
        os.path.join(output_dir, BEST_INFO), metric,
        save_fn=lambda step: save_tf1_checkpoint(
            model, os.path.join(output_dir, BEST_PREFIX), global_step=step,
            update_state=False),
        make_record=lambda step, results: {
            "metric": metric, "value": results[metric], "global_step": step,
            "checkpoint": BEST_PREFIX},
        value_of=lambda record: record["value"])

  @staticmethod
  def read_best(output_dir):
    path = os.path.join(output_dir, BEST_INFO)
    if not os.path.exists(path):
      return None
    with open(path, encoding="utf-8") as f:
      return json.load(f)

  def __call__(self, results):
    step = int(self.global_step.numpy())
    block = format_results(step, results)
    self.print_fn(block.rstrip())
    if not self.is_chief:
      return
    path = os.path.join(self.output_dir, RESULTS_FILE)
    previous = ""
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        previous = f.read()
    write_text_atomically(path, previous + block)
    if results.get(self.metric) is None:
      return
    record = self.keeper.update(step, results)
    if record is not None:
      self.best = record
      prefix = os.path.join(self.output_dir, BEST_PREFIX)
      self.print_fn(f"new best {self.metric} {record['value']:.4f} at step "
                    f"{step}: wrote {prefix} (original variable names)")
