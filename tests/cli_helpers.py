"""Running our absl entry points in a subprocess, as users do."""

import os
import subprocess
import sys

from reference_data import PROJECT_ROOT


def run_module(module, *args, timeout=300):
  """Runs `python -m module args...`; returns the CompletedProcess."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
             PYTHONPATH=PROJECT_ROOT + os.pathsep + os.environ.get(
                 "PYTHONPATH", ""))
  return subprocess.run([sys.executable, "-m", module, *args],
                        capture_output=True, text=True, env=env,
                        timeout=timeout, cwd=PROJECT_ROOT, check=False)
