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
