"""How much of the absl log our tools show: progress and results, not INFO.

absl's app.run turns the log up to INFO when --verbosity is not given, so a
fine-tuning run or an export printed two dozen "I1207 ... functional_saver.py"
lines (checkpoint sharding, restores) around the lines a user reads. Our
tools print what matters themselves; the fine-tuning trainer reports its
steps, evaluations and best checkpoints as INFO log lines, which are
forwarded to stdout as plain lines instead.

  --verbosity not given   log at WARNING; progress lines on stdout
  --verbosity=0 (INFO)    absl's full log, progress included, on stderr; the
  or higher               TensorFlow C++ start-up messages come back too
                          (cli/quiet_startup.py reads the same flag)
"""

import contextlib
import logging as std_logging
import sys

from absl import logging

# Modules whose INFO lines are progress or results a user waits for: the
# fine-tuning trainer's steps, checkpoints and evaluations, the runner's
# "initialised from ..." and the tasks' data summaries.
PROGRESS_MODULES = frozenset({
    "finetuning_trainer", "runner", "token_classification",
    "window_features", "task"})

# The modules forwarded now, and the handler doing it (one, however nested).
_forwarded = []


class _Forward(std_logging.Handler):
  """Prints the INFO lines of the forwarded modules to a stream."""

  def __init__(self, stream):
    super().__init__()
    self.stream = stream

  def emit(self, record):
    if (record.levelno < std_logging.WARNING and
        any(record.module in modules for modules in _forwarded)):
      print(record.getMessage(), file=self.stream, flush=True)


@contextlib.contextmanager
def log_lines_of(modules):
  """Prints the INFO log lines of `modules` (their progress) to stdout.

  The rest of the log stays at WARNING. The lines go to stdout as it is on
  entry: while orbit trains, stdout is redirected into the log. Nested uses
  add their modules; a line is printed once.
  """
  # INFO records must be made (absl's logger, and the root logger that the
  # tasks' standard `logging` calls use), then the absl handler, which
  # writes the log, drops them and _Forward prints the wanted ones.
  root = std_logging.getLogger()
  absl_logger = logging.get_absl_logger()
  absl_handler = logging.get_absl_handler()
  outermost = not _forwarded
  if outermost:
    forward = _Forward(sys.stdout)
    saved = root.level, absl_logger.level, absl_handler.level
    absl_handler.setLevel(max(std_logging.WARNING, absl_handler.level))
    root.setLevel(std_logging.INFO)
    absl_logger.setLevel(std_logging.INFO)
    root.addHandler(forward)
  _forwarded.append(frozenset(modules))
  try:
    yield
  finally:
    _forwarded.pop()
    if outermost:
      root.removeHandler(forward)
      root.setLevel(saved[0])
      absl_logger.setLevel(saved[1])
      absl_handler.setLevel(saved[2])


def verbosity_given(flag_values):
  """Whether the command line (or a flagfile) set --verbosity."""
  return "verbosity" in flag_values and bool(
      flag_values["verbosity"].present)


@contextlib.contextmanager
def tool_verbosity(flag_values):
  """The log level of a tool's run: see the module docstring."""
  if verbosity_given(flag_values):
    yield
    return
  logging.set_verbosity(logging.WARNING)
  with log_lines_of(PROGRESS_MODULES):
    yield
