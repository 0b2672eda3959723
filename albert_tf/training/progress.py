"""Progress lines (step, losses, examples/s, ETA) for long training runs."""

import time


def format_duration(seconds):
  seconds = int(round(max(seconds, 0)))
  hours, rest = divmod(seconds, 3600)
  minutes, seconds = divmod(rest, 60)
  if hours:
    return f"{hours}h{minutes:02d}m"
  if minutes:
    return f"{minutes}m{seconds:02d}s"
  return f"{seconds}s"


class ProgressReporter:
  """An orbit train action printing one line per loop of training steps.

  The ETA uses the speed of the latest loop, so the first loop's tracing and
  compilation time does not inflate it for the rest of the run.
  """

  def __init__(self, global_step, num_train_steps, print_fn=print):
    self.global_step = global_step
    self.num_train_steps = num_train_steps
    self.print_fn = print_fn
    self.started = time.perf_counter()
    self._last = (self.started, int(global_step.numpy()))

  def __call__(self, output):
    now = time.perf_counter()
    step = int(self.global_step.numpy())
    last_time, last_step = self._last
    self._last = (now, step)
    seconds_per_step = (now - last_time) / max(step - last_step, 1)
    remaining = max(self.num_train_steps - step, 0) * seconds_per_step
    self.print_fn(self.format_line(step, output, now - self.started,
                                   remaining))

  def format_line(self, step, output, elapsed, remaining):
    percent = 100.0 * step / max(self.num_train_steps, 1)
    return (f"step {step}/{self.num_train_steps} ({percent:.1f}%) | "
            f"loss {output['total_loss']:.4f} (mlm {output['mlm_loss']:.4f}, "
            f"sop {output['sop_loss']:.4f}) | "
            f"mlm acc {output['masked_lm_accuracy']:.3f} | "
            f"sop acc {output['sentence_order_accuracy']:.3f} | "
            f"lr {output['learning_rate']:.3g} | "
            f"{output['examples_per_second']:.1f} examples/s | "
            f"elapsed {format_duration(elapsed)} | "
            f"ETA {format_duration(remaining)}")
