"""Hidden temporaries beside an output: named after their owner, created with
the permissions the user's umask asks for, and cleaned up after a crash.

An output is written as `.NAME.tmp-HOST-PID-RANDOM` beside `NAME` and then
renamed (atomic on one file system). tempfile creates files 0600 and
directories 0700 whatever the umask, so a renamed output would be unreadable
by other users (a TF Serving process, a colleague); the permissions are set
to 0666/0777 less the umask, as for any file a tool creates. A process that
is killed leaves its temporary behind; the next run on the same output
removes temporaries whose process is dead (same host) or that are older than
STALE_AFTER_HOURS (another host's, or a name without an owner).
"""

import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time

# A temporary that old is left over whoever made it: no export or checkpoint
# write takes that long.
STALE_AFTER_HOURS = 24.0
KINDS = ("tmp", "old")
_umask_lock = threading.Lock()


def current_umask():
  """The process's umask (read without changing it where Linux allows)."""
  try:
    with open("/proc/self/status", encoding="ascii") as f:
      for line in f:
        if line.startswith("Umask:"):
          return int(line.split()[1], 8)
  except (OSError, ValueError):
    pass
  with _umask_lock:  # os.umask can only be read by setting it.
    mask = os.umask(0o022)
    os.umask(mask)
  return mask


def file_mode():
  """What open(path, "w") would give a new file: 0666 less the umask."""
  return 0o666 & ~current_umask()


def directory_mode():
  """What os.mkdir would give a new directory: 0777 less the umask."""
  return 0o777 & ~current_umask()


def _owner():
  # "-" separates the fields; a host name may contain it, the pid cannot.
  return f"{socket.gethostname()}-{os.getpid()}"


def temporary_prefix(name, kind="tmp"):
  """`.NAME.KIND-HOST-PID-`: hidden, and saying which process owns it."""
  if kind not in KINDS:
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
  return f".{name}.{kind}-{_owner()}-"


def make_temporary_directory(parent, name, kind="tmp"):
  """A new hidden directory in `parent` for output `name`, umask-honouring."""
  path = tempfile.mkdtemp(prefix=temporary_prefix(name, kind), dir=parent)
  os.chmod(path, directory_mode())
  return path


def make_temporary_file(parent, name):
  """(fd, path) of a new hidden file in `parent` for output `name`.

  Its mode is 0666 less the umask (tempfile's is 0600).
  """
  fd, path = tempfile.mkstemp(prefix=temporary_prefix(name), dir=parent)
  try:
    os.fchmod(fd, file_mode())
  except BaseException:
    os.close(fd)
    os.remove(path)
    raise
  return fd, path


_PATTERN = re.compile(r"\.(?P<name>.+)\.(?P<kind>tmp|old)-"
                      r"(?:(?P<host>.+)-(?P<pid>\d+)-)?[^-]+")


def _pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # Another user's live process.
    return True
  return True


def is_stale(entry_path, max_age_hours=STALE_AFTER_HOURS, now=None):
  """Whether the temporary at `entry_path` belongs to no running process.

  Same host: its pid is dead. Otherwise (another host, or a name without an
  owner): it is older than `max_age_hours`.
  """
  match = _PATTERN.fullmatch(os.path.basename(entry_path))
  if not match:
    return False
  if (match.group("host") == socket.gethostname() and
      int(match.group("pid")) != os.getpid()):
    if not _pid_alive(int(match.group("pid"))):
      return True
  try:
    age = (now or time.time()) - os.lstat(entry_path).st_mtime
  except FileNotFoundError:
    return False
  return age > max_age_hours * 3600


def remove_stale_temporaries(parent, name, max_age_hours=STALE_AFTER_HOURS,
                             log=logging.info):
  """Removes `.NAME.tmp-*` / `.NAME.old-*` leftovers of dead runs in `parent`.

  Only temporaries of output `name` (of any output when `name` is None) are
  considered, and only stale ones (see is_stale): a concurrent run's live
  temporary is left alone. Returns the paths removed.
  """
  removed = []
  try:
    entries = os.listdir(parent)
  except (FileNotFoundError, NotADirectoryError):
    return removed
  prefixes = tuple(f".{name}.{kind}-" for kind in KINDS)
  for entry in entries:
    if not _PATTERN.fullmatch(entry) or (
        name is not None and not entry.startswith(prefixes)):
      continue
    path = os.path.join(parent, entry)
    if not is_stale(path, max_age_hours):
      continue
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      try:
        os.remove(path)
      except FileNotFoundError:  # Another run cleaned it up first.
        pass
    log(f"removed {path}, left behind by an interrupted run")
    removed.append(path)
  return removed
