"""Running our absl entry points in a subprocess, as users do."""

import os
import subprocess
import sys

from reference_data import PROJECT_ROOT


def run_module(module, *args, timeout=300):
  """Runs `python -m module args...`; returns the CompletedProcess.

  The environment is a user's: no TF_CPP_MIN_LOG_LEVEL, so the entry
  point's own quieting of TensorFlow is what the tests see.
  """
  env = dict(os.environ, PYTHONPATH=PROJECT_ROOT + os.pathsep +
             os.environ.get("PYTHONPATH", ""))
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)
  return subprocess.run([sys.executable, "-m", module, *args],
                        capture_output=True, text=True, env=env,
                        timeout=timeout, cwd=PROJECT_ROOT, check=False)


def files_under(root):
  """{relative path: (size, mtime_ns)} of every file below root."""
  found = {}
  for directory, _, names in os.walk(root):
    for name in names:
      path = os.path.join(directory, name)
      try:
        status = os.lstat(path)
      except FileNotFoundError:  # removed while we walked
        continue
      found[os.path.relpath(path, root)] = (status.st_size,
                                            status.st_mtime_ns)
  return found


def assert_refused(module, args, culprit, watch, timeout=300):
  """Runs a tool on bad input and checks it refuses as users are promised.

  Exit status != 0; exactly one stderr line starting with "error: ", which
  contains `culprit` (the flag, file or tensor at fault); no "Traceback"
  anywhere; no file below `watch` (a folder holding the inputs and the
  outputs) new or changed. Returns the error line.
  """
  before = files_under(watch)
  result = run_module(module, *args, timeout=timeout)
  output = result.stdout + result.stderr
  errors = [line for line in result.stderr.splitlines()
            if line.startswith("error: ")]
  assert result.returncode != 0, f"exit status 0\n{output}"
  assert "Traceback" not in output, output
  assert len(errors) == 1, f"{len(errors)} error: lines\n{output}"
  assert culprit in errors[0], f"{culprit!r} not in {errors[0]!r}"
  after = files_under(watch)
  changed = sorted(path for path in set(before) | set(after)
                   if before.get(path) != after.get(path))
  assert not changed, f"files new or changed: {changed}\n{output}"
  return errors[0]
