"""Killing a tool with SIGKILL at chosen points, as a crash or the OOM killer
would, for the tests that check a rerun finishes the work exactly.

Two ways to choose the point:
  - by watching the run from outside (a printed line, a file appearing) and
    killing it after a seeded random delay: KilledRun.kill_when;
  - by a hook inside the child that kills it at an exact moment no outside
    observer can catch reliably (between two file operations of a
    checkpoint write, on the Nth micro-batch of a step): `hooks` of
    KilledRun, see call_hook and micro_batch_hook. A hook that never fires
    fails the test (a TensorFlow upgrade that renames what it patches must
    not turn the test into one that cannot fail).
A call hook may also pause the run for good (it keeps what it holds, its
output lock) so that a second run can be started beside it.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from reference_data import PROJECT_ROOT

# Runs `python -m MODULE ARGS` after installing the hooks (argv: module,
# hooks as JSON, args).
_CHILD = r"""
import importlib, json, os, re, runpy, signal, sys, time
module, hooks, args = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]

def die(label):
  sys.stdout.flush()
  sys.stderr.write(f"fault_injection: SIGKILL at {label}\n")
  sys.stderr.flush()
  os.kill(os.getpid(), signal.SIGKILL)

def pause(label):
  sys.stdout.flush()
  sys.stderr.write(f"fault_injection: paused at {label}\n")
  sys.stderr.flush()
  while True:
    time.sleep(60)

def install_call_hook(hook):
  owner_name, path = hook["target"].split(":")
  owner = importlib.import_module(owner_name)
  *classes, attribute = path.split(".")
  for name in classes:  # "Class.method": patched on the class.
    owner = getattr(owner, name)
  original = getattr(owner, attribute)
  seen = [0]
  action = {"kill": die, "pause": pause}[hook["action"]]
  def wrapper(*a, **k):
    if re.search(hook["match"], repr(a) + repr(k)):
      seen[0] += 1
      if seen[0] == hook["nth"]:
        action(hook["label"])
    return original(*a, **k)
  setattr(owner, attribute, wrapper)

def install_micro_batch_hook(hook):
  import tensorflow as tf
  from albert_tf.training import gradient_accumulation
  original = gradient_accumulation.accumulate_gradients
  seen = [0]
  def tick():
    seen[0] += 1
    if seen[0] == hook["nth"]:
      die(hook["label"])
    return 0
  def accumulate_gradients(fn, batch, num_micro_batches, **kwargs):
    def counted(micro_batch):
      # Runs with every micro-batch (the loop body), not at tracing.
      alive = tf.py_function(tick, [], tf.int64)
      with tf.control_dependencies([alive]):
        micro_batch = tf.nest.map_structure(tf.identity, micro_batch)
      return fn(micro_batch)
    return original(counted, batch, num_micro_batches, **kwargs)
  gradient_accumulation.accumulate_gradients = accumulate_gradients

def install_setattr_hook(hook):
  owner_name, attribute = hook["target"].split(":")
  setattr(importlib.import_module(owner_name), attribute, hook["value"])

for hook in hooks:
  {"call": install_call_hook, "micro_batch": install_micro_batch_hook,
   "setattr": install_setattr_hook}[hook["kind"]](hook)
sys.argv = [module] + args
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""
_FIRED = "fault_injection: SIGKILL at "
PAUSED = "fault_injection: paused at "


def call_hook(target, match, nth=1, label=None, action="kill"):
  """Kill (or with action="pause": stop forever, holding whatever the run
  holds) before the `nth` call of `target` ("package.module:function" or
  "package.module:Class.method") whose arguments' repr matches the regular
  expression `match`."""
  return {"kind": "call", "target": target, "match": match, "nth": nth,
          "action": action,
          "label": label or f"call {nth} of {target} with {match!r}"}


def micro_batch_hook(nth, label=None):
  """Kill when micro-batch `nth` (counted over the run, from 1) of the
  gradient accumulation loop starts: the micro-batches before it in its
  step have added up their gradients, the update has not happened."""
  return {"kind": "micro_batch", "nth": nth,
          "label": label or f"micro-batch {nth}"}


def setattr_hook(target, value):
  """Not a kill: sets `target` ("package.module:name") to `value` (JSON)
  before the tool starts, as monkeypatch.setattr does in the test."""
  return {"kind": "setattr", "target": target, "value": value}


def child_env():
  return dict(os.environ, PYTHONPATH=PROJECT_ROOT, PYTHONUNBUFFERED="1",
              TF_CPP_MIN_LOG_LEVEL="2")


class KilledRun:
  """`python -m module args` in a child whose output is collected as it
  comes (stdout and stderr together, in `lines`)."""

  def __init__(self, module, args, hooks=()):
    self.process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, module, json.dumps(list(hooks)),
         *map(str, args)],
        cwd=PROJECT_ROOT, env=child_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    self.lines = []
    self._reader = threading.Thread(target=self._read, daemon=True)
    self._reader.start()

  def _read(self):
    for line in self.process.stdout:
      self.lines.append(line.rstrip("\n"))

  def output(self):
    return "\n".join(self.lines)

  def wait(self, timeout=600):
    self.process.wait(timeout=timeout)
    self._reader.join(timeout=10)
    return self.process.returncode

  def kill_when(self, ready, delay=0.0, timeout=600):
    """Waits until ready(), sleeps `delay` seconds, then SIGKILLs."""
    self.wait_until(ready, timeout)
    time.sleep(delay)
    self.kill()

  def kill(self):
    self.process.send_signal(signal.SIGKILL)
    self.assert_killed()

  def wait_until(self, ready, timeout=600, poll=0.005):
    """Polls ready() until true.

    Fails when the run ends first (the point was never reached).
    """
    deadline = time.monotonic() + timeout
    while not ready():
      if self.process.poll() is not None:
        self.wait()
        raise AssertionError(
            f"the run ended (status {self.process.returncode}) before the "
            f"kill point:\n{self.output()[-5000:]}")
      if time.monotonic() > deadline:
        self.process.kill()
        raise AssertionError(f"kill point not reached in {timeout} s:\n"
                             f"{self.output()[-5000:]}")
      time.sleep(poll)

  def printed(self, prefix):
    """A ready() for kill_when: a line starting with `prefix` was output."""
    return lambda: any(line.startswith(prefix) for line in list(self.lines))

  def assert_killed(self, by_hook=None):
    """Waits for the end; asserts SIGKILL (by the hook labelled `by_hook`)."""
    code = self.wait()
    assert code == -signal.SIGKILL, (
        f"status {code}, not killed:\n{self.output()[-5000:]}")
    if by_hook is not None:
      fired = [line[len(_FIRED):] for line in self.lines
               if line.startswith(_FIRED)]
      assert fired == [by_hook], (fired, self.output()[-5000:])


# Names of unfinished writes and held locks: our hidden temporaries
# (.NAME.tmp-HOST-PID-X, .NAME.old-...), shards (NAME.tmp-PID-X), TensorFlow's
# (checkpoint.tmp<hex>, a saver's PREFIX_temp/), statistics parts and locks.
_LEFTOVER = re.compile(r".*(\.tmp|\.old-|_temp$|\.parts$|albert_tf\.lock$).*")


def leftovers(root):
  """Paths under `root` that a finished run must not leave behind."""
  found = []
  for directory, dirs, names in os.walk(root):
    for name in dirs + names:
      if _LEFTOVER.fullmatch(name):
        found.append(os.path.relpath(os.path.join(directory, name), root))
  return sorted(found)


def file_bytes(root, keep=lambda relative_path: True):
  """{relative path: bytes} of the files under `root` that `keep` selects."""
  result = {}
  for directory, _, names in os.walk(root):
    for name in names:
      path = os.path.join(directory, name)
      relative = os.path.relpath(path, root)
      if keep(relative):
        with open(path, "rb") as f:
          result[relative] = f.read()
  return result
