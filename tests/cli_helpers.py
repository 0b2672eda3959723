"""Running our absl entry points in a subprocess, as users do."""

import json
import os
import subprocess
import sys

from reference_data import PROJECT_ROOT


def _user_environment():
  """A user's environment: no TF_CPP_MIN_LOG_LEVEL, so the entry point's
  own quieting of TensorFlow is what the tests see."""
  env = dict(os.environ, PYTHONPATH=PROJECT_ROOT + os.pathsep +
             os.environ.get("PYTHONPATH", ""))
  env.pop("TF_CPP_MIN_LOG_LEVEL", None)
  return env


def run_module(module, *args, timeout=300):
  """Runs `python -m module args...`; returns the CompletedProcess."""
  return subprocess.run([sys.executable, "-m", module, *args],
                        capture_output=True, text=True,
                        env=_user_environment(), timeout=timeout,
                        cwd=PROJECT_ROOT, check=False)


class ToolServer:
  """Many runs of one entry point for the price of one start-up.

  tests/tool_server.py imports the tool once, then forks a child per run
  that is `python -m module args...` from there on. `run` has run_module's
  signature (less the module), so it can replace it in assert_refused.
  Use it for runs that stop early (bad input); a run that trains is better
  off in its own process. `preload`: modules the tool imports only when it
  runs (imported once here instead of once per run).
  """

  def __init__(self, module, preload=()):
    self.module = module
    self._process = subprocess.Popen(
        [sys.executable, os.path.join(PROJECT_ROOT, "tests", "tool_server.py"),
         module, *preload], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env=_user_environment(), cwd=PROJECT_ROOT)

  def run(self, module, *args, timeout=300):
    assert module == self.module, (module, self.module)
    self._process.stdin.write(
        json.dumps([list(args), {"timeout": timeout}]) + "\n")
    self._process.stdin.flush()
    line = self._process.stdout.readline()
    if not line:
      raise RuntimeError(f"tool server for {module} died "
                         f"(exit status {self._process.wait()})")
    answer = json.loads(line)
    return subprocess.CompletedProcess(
        [sys.executable, "-m", module, *args], answer["returncode"],
        answer["stdout"], answer["stderr"])

  def close(self):
    self._process.stdin.close()
    self._process.stdout.close()
    self._process.wait(timeout=60)


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


def assert_refused(module, args, culprit, watch, timeout=300,
                   runner=run_module):
  """Runs a tool on bad input and checks it refuses as users are promised.

  Exit status != 0; exactly one stderr line starting with "error: ", which
  contains `culprit` (the flag, file or tensor at fault); no "Traceback"
  anywhere; no file below `watch` (a folder holding the inputs and the
  outputs) new or changed. Returns the error line. `runner` may be a
  ToolServer's run.
  """
  before = files_under(watch)
  result = runner(module, *args, timeout=timeout)
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


def flag_list(values):
  """--name=value for each item; True → --name, False → --noname, None
  left out."""
  out = []
  for name, value in values.items():
    if value is True:
      out.append(f"--{name}")
    elif value is False:
      out.append(f"--no{name}")
    elif value is not None:
      out.append(f"--{name}={value}")
  return out
