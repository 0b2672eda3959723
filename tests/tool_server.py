"""Runs one entry point many times from a single start-up (tests only).

  python tests/tool_server.py albert_tf.run_squad [MODULE_TO_PRELOAD...]

Importing TensorFlow and a tool's dependencies takes 5-25 s, most of the
time of a run that refuses bad input. This process imports the tool once,
then for each request forks a child that runs the tool exactly as
`python -m MODULE ARGS...` would (runpy, `__name__ == "__main__"`, absl
parsing sys.argv), with its stdout and stderr captured. Nothing has
started TensorFlow's runtime before the fork (only imports), so each child
starts it afresh.

Protocol: one JSON list of arguments per line on stdin; one JSON object
{"returncode", "stdout", "stderr"} per line on the answer channel (the
original stdout; anything else printed by this process goes to stderr).
Optional second element of a request: {"timeout": seconds}.
"""

import atexit
import importlib
import json
import os
import runpy
import signal
import sys
import tempfile
import time
import traceback


def _run_child(module, args, stdout_fd, stderr_fd):
  """In the forked child: be `python -m module args`, then exit."""
  os.dup2(stdout_fd, 1)
  os.dup2(stderr_fd, 2)
  sys.argv = [module, *args]
  # As under `python -m`, the module runs as __main__ only, not also under
  # its own name (which the server's import put in sys.modules).
  sys.modules.pop(module, None)
  # The server's exit handlers are not this run's (a TemporaryDirectory's
  # finalizer would delete the server's files): start with none.
  atexit._clear()  # pylint: disable=protected-access
  code = 0
  try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
  except SystemExit as e:
    if e.code is None:
      code = 0
    elif isinstance(e.code, int):
      code = e.code
    else:  # sys.exit("message") prints the message, status 1.
      print(e.code, file=sys.stderr)
      code = 1
  except BaseException:  # pylint: disable=broad-except
    # What the interpreter does with an uncaught exception.
    traceback.print_exc()
    code = 1
  try:
    # Interpreter exit without returning into the server's loop: atexit
    # handlers (quiet_startup's stderr filter) still run, then flush.
    atexit._run_exitfuncs()  # pylint: disable=protected-access
    sys.stdout.flush()
    sys.stderr.flush()
  finally:
    os._exit(code)  # pylint: disable=protected-access


def _wait(pid, timeout):
  deadline = time.monotonic() + timeout
  while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
      return os.waitstatus_to_exitcode(status)
    if time.monotonic() > deadline:
      os.kill(pid, signal.SIGKILL)
      os.waitpid(pid, 0)
      return -signal.SIGKILL
    time.sleep(0.02)


def _capture_file():
  """A descriptor on an anonymous temporary file."""
  fd, path = tempfile.mkstemp(prefix="tool_server-")
  os.unlink(path)
  return fd


def _read(fd):
  os.lseek(fd, 0, os.SEEK_SET)
  with os.fdopen(fd, "rb") as f:
    return f.read().decode("utf-8", "replace")


def serve(module, preload=()):
  answers = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)  # Stray prints of the imports must not corrupt answers.
  # The tool's imports (its flags are defined by its main only), and those
  # it makes late, when it runs.
  for name in (*preload, module):
    importlib.import_module(name)
  for line in sys.stdin:
    if not line.strip():
      continue
    request = json.loads(line)
    args = request[0]
    options = request[1] if len(request) > 1 else {}
    out_fd, err_fd = _capture_file(), _capture_file()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
      _run_child(module, args, out_fd, err_fd)
    returncode = _wait(pid, options.get("timeout", 300))
    answer = {"returncode": returncode, "stdout": _read(out_fd),
              "stderr": _read(err_fd)}
    answers.write(json.dumps(answer) + "\n")
    answers.flush()


if __name__ == "__main__":
  serve(sys.argv[1], sys.argv[2:])
