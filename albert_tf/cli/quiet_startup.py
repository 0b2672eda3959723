"""Keeps TensorFlow's C++ start-up chatter off our users' terminals.

TensorFlow prints a screenful at import (oneDNN notices, CPU feature
guards, "failed call to cuInit" on machines with CUDA libraries but no GPU)
and more while running ("Local rendezvous is aborting with status:
OUT_OF_RANGE" after every finite dataset, GeneratorDataset finalisation
notes). None of it is actionable, and it buries the progress lines.

Entry points call `quiet_if_main(__name__)` before anything imports
TensorFlow:
  - TF_CPP_MIN_LOG_LEVEL=2 (errors only), unless the user set it;
  - lines known to be harmless are dropped from the process's stderr (file
    descriptor 2, where the C++ runtime writes); everything else, Python
    tracebacks and our `error:` lines included, passes unchanged.
Setting TF_CPP_MIN_LOG_LEVEL yourself (e.g. to 0) turns both off, and so
does --verbosity=0 (INFO) or higher on the command line, which also brings
back absl's INFO log (cli/log_verbosity.py). Flags are not parsed yet when
this runs, so the command line is read for that flag alone.
"""

import atexit
import os
import re
import sys
import threading

# Each pattern is a C++ log line that says nothing the user can act on.
HARMLESS_LINES = re.compile("|".join((
    r"failed call to cuInit",
    r"Could not find cuda drivers",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"Attempting to register factory for plugin",
    r"TF-TRT Warning",
    r"oneDNN custom operations are on",
    r"cpu_feature_guard\.cc",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions:",
    r"rebuild TensorFlow with the appropriate compiler flags",
    r"Local rendezvous is aborting with status: OUT_OF_RANGE",
    r"Local rendezvous recv item cancelled",
    r"finalizing GeneratorDataset iterator",
    r"The process may be terminated\.$",
    r"All log messages before absl::InitializeLog\(\) is called",
    r"computation placer already registered",
    r"oneDNN supports DT_INT64 only on platforms with AVX-512",
    # At INFO/WARNING level, so unseen unless TensorFlow was imported
    # before install() (a task file of the user's own imports it first).
    r"GeneratorDatasetOp::Dataset will not be optimized",
    r"TFRecordDataset `buffer_size` is unspecified",
)))
# A TensorFlow status message goes on over lines starting with a tab
# ("\t [[{{node IteratorGetNext}}]]"): they go with the line they continue.
CONTINUATION = re.compile(r"^\t")

_installed = False
_VERBOSITY_FLAG = re.compile(r"^--?(verbosity|v)(=(?P<value>.*))?$")


def verbosity_asked(argv):
  """Whether argv sets absl's --verbosity (or -v) to INFO (0) or more."""
  for index, arg in enumerate(argv[1:], start=1):
    if arg == "--":
      break
    match = _VERBOSITY_FLAG.match(arg)
    if not match:
      continue
    value = match.group("value")
    if value is None:  # --verbosity 1
      value = argv[index + 1] if index + 1 < len(argv) else ""
    try:
      return int(value) >= 0
    except ValueError:
      return False  # Not a number: absl reports it.
  return False


class LineFilter:
  """Decides line by line what reaches the terminal."""

  def __init__(self):
    self.dropping = False  # The last line was dropped.

  def keep(self, line):
    if self.dropping and CONTINUATION.match(line):
      return False
    self.dropping = bool(HARMLESS_LINES.search(line))
    return not self.dropping


def _copy_filtered(read_fd, write_fd):
  line_filter = LineFilter()
  with os.fdopen(read_fd, "rb", buffering=0) as source:
    pending = b""
    while True:
      chunk = source.read(65536)
      if not chunk:
        break
      pending += chunk
      *lines, pending = pending.split(b"\n")
      for line in lines:
        if line_filter.keep(line.decode("utf-8", "replace")):
          os.write(write_fd, line + b"\n")
    if pending and line_filter.keep(pending.decode("utf-8", "replace")):
      os.write(write_fd, pending)


def install():
  """Quiets TensorFlow for this process (idempotent)."""
  global _installed
  if (_installed or "TF_CPP_MIN_LOG_LEVEL" in os.environ or
      verbosity_asked(sys.argv)):
    return
  _installed = True
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
  try:
    sys.stderr.flush()
    terminal = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
  except OSError:
    return  # No usable stderr descriptor (embedded interpreter): skip.
  copier = threading.Thread(target=_copy_filtered, args=(read_fd, terminal),
                            name="stderr-filter", daemon=True)
  copier.start()

  def restore():
    # Give the terminal back, which closes the pipe and ends the copier
    # once it has passed on what is left.
    try:
      sys.stderr.flush()
    except (OSError, ValueError):
      pass
    os.dup2(terminal, 2)
    copier.join(timeout=2)
  atexit.register(restore)


def quiet_if_main(module_name):
  """install() when the calling module runs as the program."""
  if module_name == "__main__":
    install()
