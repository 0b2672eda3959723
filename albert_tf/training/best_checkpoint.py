"""Keeps the best checkpoint by one evaluation metric, across restarts.

Pretraining and fine-tuning keep their best model the same way and differ
only in what they write: pretraining saves model.ckpt-best with the
ORIGINAL variable names and best_checkpoint.json (training/eval_results.py);
fine-tuning saves best/model.ckpt (TF2) and best/best_metrics.json
(training/finetuning_trainer.py). The record file says which step won and
with what score, so a resumed run keeps comparing against it.
"""

import dataclasses
import json
import math
import os
import typing

from albert_tf.files.atomic_write import write_text_atomically


@dataclasses.dataclass
class BestCheckpointKeeper:
  """Saves the model when `metric` improves on the recorded best.

  Attributes:
    record_path: the JSON file remembering the best evaluation.
    metric: the metric compared (None: never saves).
    save_fn: (step) → None, writes the checkpoint.
    make_record: (step, metrics) → the JSON-able record of a new best.
    value_of: record → the metric's value in it.
    higher_is_better: the metric's direction.
  """
  record_path: str
  metric: typing.Optional[str]
  save_fn: typing.Callable
  make_record: typing.Callable
  value_of: typing.Callable
  higher_is_better: bool = True

  @property
  def best(self):
    """The record of the best evaluation so far, or None."""
    if not os.path.exists(self.record_path):
      return None
    with open(self.record_path, encoding="utf-8") as f:
      return json.load(f)

  def improves(self, value):
    best = self.best
    if best is None:
      return True
    if math.isnan(value):
      return False
    previous = self.value_of(best)
    return value > previous if self.higher_is_better else value < previous

  def update(self, step, metrics):
    """Saves when metrics[metric] is a new best; returns the new record."""
    if self.metric is None:
      return None
    if self.metric not in metrics:
      raise KeyError(f"evaluation returned no {self.metric!r}: {metrics}")
    if not self.improves(metrics[self.metric]):
      return None
    self.save_fn(step)
    record = self.make_record(step, metrics)
    write_text_atomically(self.record_path,
                          json.dumps(record, indent=2) + "\n")
    return record
