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
Setting TF_CPP_MIN_LOG_LEVEL yourself (e.g. to 0) turns both off.
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
)))

_installed = False


def _copy_filtered(read_fd, write_fd):
  with os.fdopen(read_fd, "rb", buffering=0) as source:
    pending = b""
    while True:
      chunk = source.read(65536)
      if not chunk:
        break
      pending += chunk
      *lines, pending = pending.split(b"\n")
      for line in lines:
        if not HARMLESS_LINES.search(line.decode("utf-8", "replace")):
          os.write(write_fd, line + b"\n")
    if pending and not HARMLESS_LINES.search(pending.decode("utf-8",
                                                           "replace")):
      os.write(write_fd, pending)


def install():
  """Quiets TensorFlow for this process (idempotent)."""
  global _installed
  if _installed or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
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
