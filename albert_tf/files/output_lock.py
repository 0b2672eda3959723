"""One writer per output directory: `<dir>/.albert_tf.lock`.

Two runs writing the same output directory interleave checkpoints, results
and exports into something neither of them made. A run holds the lock for
as long as it writes; a second run is refused with an error that names the
holder (host, pid, command, start time).

The lock is an advisory flock() on the lock file, which the kernel releases
when its process dies, even by kill -9: the lock file a crashed run leaves
behind is recovered by the next run, with a warning naming the crashed run.
Where the file system has no flock (ENOLCK, EOPNOTSUPP), the holder's pid
decides: a lock of a dead pid on this host is stale.
"""

import contextlib
import datetime
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading

from albert_tf import errors
from albert_tf.files import disk_full
from albert_tf.files import locations
from albert_tf.files import temporaries

LOCK_FILENAME = ".albert_tf.lock"
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)
# Directories this process holds: a nested lock of the same directory (a
# tool calling another tool's function) is the same holder, not a rival.
_held = {}
_held_guard = threading.Lock()


class OutputLockedError(errors.OutputLocationError):
  """Another live run holds the output directory."""


def _holder_text(holder):
  if not holder:
    return "another run (its lock file is empty or unreadable)"
  parts = [f"pid {holder.get('pid')} on host {holder.get('host')}"]
  if holder.get("command"):
    parts.append(f"command `{holder['command']}`")
  if holder.get("started"):
    parts.append(f"since {holder['started']}")
  return ", ".join(parts)


def _read_holder(fd):
  os.lseek(fd, 0, os.SEEK_SET)
  data = b""
  while True:
    chunk = os.read(fd, 65536)
    if not chunk:
      break
    data += chunk
  try:
    holder = json.loads(data.decode("utf-8"))
  except (UnicodeDecodeError, json.JSONDecodeError):
    return None
  return holder if isinstance(holder, dict) else None


def _write_holder(fd, command):
  holder = {
      "host": socket.gethostname(),
      "pid": os.getpid(),
      "command": command,
      "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"),
  }
  os.lseek(fd, 0, os.SEEK_SET)
  os.ftruncate(fd, 0)
  os.write(fd, (json.dumps(holder, sort_keys=True) + "\n").encode("utf-8"))
  os.fsync(fd)
  return holder


def _pid_dead_here(holder):
  """True when `holder` is a process of this host that no longer runs."""
  if not holder or holder.get("host") != socket.gethostname():
    return False
  pid = holder.get("pid")
  if not isinstance(pid, int) or pid <= 0:
    return False
  if pid == os.getpid():  # A crashed run whose pid this process reuses.
    return True
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return True
  except PermissionError:
    return False
  return False


def _refuse(directory, lock_path, holder, flag_name):
  where = f"--{flag_name} {directory}" if flag_name else directory
  raise OutputLockedError(
      f"{where} is in use by {_holder_text(holder)}; wait for that run to "
      "finish or choose another output directory (if it is not running, "
      f"delete {lock_path})")


def _acquire(directory, lock_path, command, flag_name, warn):
  """Opens and locks the lock file; returns its descriptor."""
  while True:
    try:
      fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, temporaries.file_mode())
    except OSError as e:
      raise errors.OutputLocationError(
          f"cannot create the lock file {lock_path}: {e.strerror}") from e
    try:
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        have_flock = True
      except BlockingIOError:
        _refuse(directory, lock_path, _read_holder(fd), flag_name)
      except OSError as e:
        if e.errno not in _NO_FLOCK:
          raise errors.OutputLocationError(
              f"cannot lock {lock_path}: {e.strerror}") from e
        have_flock = False
      # The previous holder may have removed the file between our open and
      # our flock: then the lock is on a deleted file, so start again.
      try:
        same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
      except FileNotFoundError:
        same = False
      if not same:
        os.close(fd)
        continue
      previous = _read_holder(fd)
      if previous and not have_flock and not _pid_dead_here(previous):
        _refuse(directory, lock_path, previous, flag_name)
      if previous:
        warn(f"recovered the lock of a run that ended without releasing it "
             f"({_holder_text(previous)}): {lock_path}")
      try:
        _write_holder(fd, command)
      except OSError as e:
        # A full disk: no empty lock file left for the next run to puzzle
        # over (we hold the lock, so removing it is ours to do).
        os.remove(lock_path)
        if disk_full.is_disk_full(e):
          raise disk_full.disk_full_error(lock_path, e) from e
        raise errors.OutputLocationError(
            f"cannot write the lock file {lock_path}: {e.strerror}") from e
      return fd
    except BaseException:
      os.close(fd)
      raise


@contextlib.contextmanager
def lock_output_dir(directory, command=None, flag_name=None,
                    warn=logging.warning, lock_filename=LOCK_FILENAME):
  """Holds `directory`/.albert_tf.lock for the block (creating `directory`).

  Args:
    directory: the output directory a run writes.
    command: what to tell a refused run; default: this process's argv.
    flag_name: the flag the directory came from, for messages.
    warn: called with the text of a warning (a recovered stale lock).
    lock_filename: the lock file's name; an output that appears by renaming
      (an export directory) is locked in its parent, as `.NAME.albert_tf.lock`
      (see lock_filename_for).

  Raises:
    OutputLockedError naming the holder when another live run holds it;
    OutputLocationError when the directory cannot be created or written.
  """
  directory = locations.check_output_dir(directory, flag_name, create=True)
  lock_path = os.path.join(directory, lock_filename)
  key = os.path.realpath(lock_path)
  with _held_guard:
    if key in _held:
      _held[key][1] += 1
      nested = True
    else:
      nested = False
  if nested:
    try:
      yield directory
    finally:
      with _held_guard:
        _held[key][1] -= 1
    return
  if command is None:
    command = " ".join([os.path.basename(sys.executable)] + sys.argv)
  target = directory
  if lock_filename != LOCK_FILENAME and lock_filename.endswith(LOCK_FILENAME):
    # A per-output lock (lock_filename_for): messages name that output.
    target = os.path.join(directory,
                          lock_filename[1:-len(LOCK_FILENAME)])
  fd = _acquire(target, lock_path, command[:1000], flag_name, warn)
  with _held_guard:
    _held[key] = [fd, 1]
  try:
    yield directory
  finally:
    with _held_guard:
      del _held[key]
    # Unlink before unlocking: a run waiting to open the file then either
    # finds no file or notices (inode check) that it locked a deleted one.
    try:
      os.remove(lock_path)
    except FileNotFoundError:
      pass
    os.close(fd)


def lock_filename_for(name):
  """The lock file (in its parent) of an output that appears by a rename."""
  return f".{name}{LOCK_FILENAME}"


def lock_holder(directory, lock_filename=LOCK_FILENAME):
  """The holder recorded in `directory`'s lock file (a dict), or None."""
  lock_path = os.path.join(os.fspath(directory), lock_filename)
  try:
    fd = os.open(lock_path, os.O_RDONLY)
  except FileNotFoundError:
    return None
  try:
    return _read_holder(fd)
  finally:
    os.close(fd)
