"""Input/output locations, umask-honouring atomic outputs, stale temporaries,
the output directory lock and run manifests."""

import errno
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest
import tensorflow as tf

from albert_tf import errors
from albert_tf import files
from albert_tf.files import atomic_write
from albert_tf.files import output_lock
from albert_tf.files import run_manifest
from albert_tf.files import temporaries
from cli_helpers import run_module
import reference_data as ref
from reference_data import PROJECT_ROOT

# Child processes import albert_tf.files without albert_tf/__init__ (which
# imports TensorFlow): they start in a fraction of a second.
_CHILD_PRELUDE = """
import os, sys, types
for _name in ("albert_tf", "albert_tf.files"):
  _module = types.ModuleType(_name)
  _module.__path__ = [os.path.join(sys.argv[1], *_name.split("."))]
  sys.modules[_name] = _module
"""
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


def child(code, *args, unprivileged=False, **popen_args):
  """Popen of python running `code` (argv[2:] = args).

  unprivileged: as root, the child runs as nobody, so that file permissions
  apply to it (they do not to root); others run as themselves.
  """
  as_nobody = unprivileged and os.geteuid() == 0
  # Our interpreter may live where nobody cannot reach it (/root/...); the
  # children need the standard library only.
  python = SYSTEM_PYTHON if as_nobody else sys.executable
  if not os.path.exists(python):
    pytest.skip(f"{python} is needed to run a child as nobody")

  def drop():
    os.setgid(NOBODY)
    os.setuid(NOBODY)
  return subprocess.Popen(
      [python, "-c", _CHILD_PRELUDE + code, PROJECT_ROOT,
       *map(str, args)],
      preexec_fn=drop if as_nobody else None, text=True,
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_args)


def run_child(code, *args, unprivileged=False):
  process = child(code, *args, unprivileged=unprivileged)
  out, err = process.communicate(timeout=60)
  return process.returncode, out, err


@pytest.fixture
def shared_dir():
  """A directory others (nobody) can enter, removed afterwards."""
  path = tempfile.mkdtemp(prefix="albert_tf_files_test-")
  os.chmod(path, 0o755)
  yield path
  for root, dirs, _ in os.walk(path):
    for d in dirs:
      os.chmod(os.path.join(root, d), 0o755)
  subprocess.run(["rm", "-rf", path], check=True)


def tree_modes(path):
  """{relative path: permission bits} of everything under `path`."""
  modes = {".": stat.S_IMODE(os.stat(path).st_mode)}
  for root, dirs, names in os.walk(path):
    for name in dirs + names:
      full = os.path.join(root, name)
      modes[os.path.relpath(full, path)] = stat.S_IMODE(os.stat(full).st_mode)
  return modes


def listing(path):
  return sorted(os.listdir(path))


@pytest.fixture
def umask():
  """Sets the process umask for a test (restored afterwards)."""
  old = os.umask(0o022)
  yield os.umask
  os.umask(old)


# ---------------------------------------------------------- locations

def test_output_dir_that_is_a_file_or_under_a_file(tmp_path):
  a_file = tmp_path / "results"
  a_file.write_text("x")
  with pytest.raises(errors.OutputLocationError,
                     match=f"--output_dir {a_file} is a file"):
    files.check_output_dir(str(a_file), "output_dir")
  under = a_file / "run1"
  with pytest.raises(errors.OutputLocationError) as raised:
    files.check_output_dir(str(under), "output_dir", create=True)
  assert f"{under} cannot be created: {a_file} is a file" in str(raised.value)
  assert isinstance(raised.value, errors.UserError)
  assert isinstance(raised.value, OSError)
  assert listing(tmp_path) == ["results"]
  created = files.check_output_dir(str(tmp_path / "a" / "b"), create=True)
  assert os.path.isdir(created)


_CHECK = """
from albert_tf import errors
from albert_tf.files import locations
try:
  getattr(locations, sys.argv[2])(sys.argv[3], sys.argv[4])
except errors.UserError as e:
  print(type(e).__name__, e, sep=": ")
  sys.exit(1)
"""


@pytest.mark.permissions
def test_read_only_output_dirs_are_refused(shared_dir):
  read_only = os.path.join(shared_dir, "read_only")
  os.mkdir(read_only)
  os.chmod(read_only, 0o555)
  code, out, _ = run_child(_CHECK, "check_output_dir", read_only,
                           "export_path", unprivileged=True)
  assert code == 1
  assert out.startswith(f"OutputLocationError: --export_path {read_only} "
                        "is not writable")
  below = os.path.join(read_only, "new", "deeper")
  code, out, _ = run_child(_CHECK, "check_output_dir", below, "output_dir",
                           unprivileged=True)
  assert code == 1
  assert (f"--output_dir {below} cannot be created: {read_only} is not "
          "writable") in out
  assert listing(read_only) == []


@pytest.mark.permissions
def test_unreadable_inputs_name_the_path(shared_dir, tmp_path):
  with pytest.raises(errors.InputFileError,
                     match=f"--train_file {tmp_path}/missing.tsv does not"):
    files.check_readable(str(tmp_path / "missing.tsv"), "train_file")
  with pytest.raises(errors.InputFileError, match="is a directory, not a"):
    files.check_readable(str(tmp_path), "vocab_file")
  (tmp_path / "f").write_text("x")
  with pytest.raises(errors.InputFileError, match=r"\(.*/f is a file"):
    files.check_readable(str(tmp_path / "f" / "g"), "input_file")
  secret = os.path.join(shared_dir, "secret.txt")
  with open(secret, "w") as f:
    f.write("data")
  # As root the child runs as nobody, for whom root's 0600 file is
  # unreadable; another user's child runs as that user: mode 0 then.
  os.chmod(secret, 0o600 if os.geteuid() == 0 else 0)
  code, out, _ = run_child(_CHECK, "check_readable", secret, "input_file",
                           unprivileged=True)
  assert code == 1
  assert out.startswith(f"InputFileError: --input_file {secret} cannot be "
                        "read: Permission denied")
  os.chmod(secret, 0o600)
  assert files.check_readable(secret, "input_file") == secret


# -------------------------------------------------- umask and temporaries

@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640),
                                        (0o002, 0o664)])
def test_atomic_text_files_honour_the_umask(mask, mode, umask, tmp_path):
  umask(mask)
  path = tmp_path / "eval_results.txt"
  atomic_write.write_text_atomically(str(path), "accuracy = 1.0\n")
  atomic_write.write_text_atomically(str(path), "accuracy = 0.5\n")
  assert stat.S_IMODE(os.stat(path).st_mode) == mode
  assert path.read_text() == "accuracy = 0.5\n"
  assert listing(tmp_path) == ["eval_results.txt"]


@pytest.mark.parametrize("mask, dir_mode, file_mode", [
    (0o022, 0o755, 0o644), (0o027, 0o750, 0o640), (0o002, 0o775, 0o664)])
def test_exports_honour_the_umask(mask, dir_mode, file_mode, umask, tmp_path):
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  umask(mask)
  module = tf.Module()
  module.v = tf.Variable([1.0, 2.0])
  module.f = tf.function(lambda x: x * module.v,
                         input_signature=[tf.TensorSpec([2], tf.float32)])
  path = export_utils.save_module(module, str(tmp_path / "exports" / "1"))
  modes = tree_modes(path)
  for name, mode in modes.items():
    is_dir = os.path.isdir(os.path.join(path, name))
    assert mode == (dir_mode if is_dir else file_mode), (name, oct(mode))
  assert "saved_model.pb" in modes
  assert listing(tmp_path / "exports") == ["1"]


def dead_pid():
  process = subprocess.Popen([sys.executable, "-c", "pass"])
  process.wait()
  return process.pid


def test_stale_temporaries_of_dead_runs_are_removed(tmp_path):
  host = socket.gethostname()
  sleeper = subprocess.Popen([sys.executable, "-c",
                              "import time; time.sleep(60)"])
  try:
    dead = tmp_path / f".export.tmp-{host}-{dead_pid()}-abc123"
    live = tmp_path / f".export.tmp-{host}-{sleeper.pid}-def456"
    other_host = tmp_path / ".export.tmp-elsewhere-1-ghi789"
    legacy_old = tmp_path / ".export.tmp-x1y2z3"  # No owner in the name.
    other_output = tmp_path / f".other.tmp-{host}-{dead_pid()}-jkl012"
    for path in (dead, live, other_host, legacy_old, other_output):
      path.mkdir()
      (path / "saved_model.pb").write_bytes(b"partial")
    two_days_ago = time.time() - 48 * 3600
    os.utime(legacy_old, (two_days_ago, two_days_ago))
    removed = files.remove_stale_temporaries(str(tmp_path), "export",
                                             log=lambda _: None)
    assert sorted(removed) == sorted([str(dead), str(legacy_old)])
    assert listing(tmp_path) == sorted(
        p.name for p in (live, other_host, other_output))
  finally:
    sleeper.kill()
    sleeper.wait()


_KILLED_EXPORT = """
from albert_tf.files import temporaries
staging = temporaries.make_temporary_directory(sys.argv[2], "export")
open(os.path.join(staging, "saved_model.pb"), "wb").write(b"half")
print(staging, flush=True)
os.kill(os.getpid(), 9)
"""


def test_a_killed_export_is_cleaned_up_by_the_next_one(tmp_path):
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  code, out, _ = run_child(_KILLED_EXPORT, tmp_path)
  assert code == -signal.SIGKILL
  staging = out.strip()
  assert os.path.basename(staging).startswith(
      f".export.tmp-{socket.gethostname()}-")
  assert os.path.isdir(staging)
  with export_utils.atomic_directory(str(tmp_path / "export")) as new:
    assert not os.path.exists(staging)
    with open(os.path.join(new, "saved_model.pb"), "wb") as f:
      f.write(b"whole")
  assert listing(tmp_path) == ["export"]


# -------------------------------------------------------------- the lock

_HOLD = """
from albert_tf.files import output_lock
with output_lock.lock_output_dir(sys.argv[2], command="run_classifier --x=1"):
  print("locked", flush=True)
  sys.stdin.read()
"""
_TRY = """
from albert_tf.files import output_lock
try:
  with output_lock.lock_output_dir(sys.argv[2], flag_name="output_dir",
                               warn=lambda m: print("warning:", m)):
    print("acquired")
except output_lock.OutputLockedError as e:
  print("error:", e)
  sys.exit(1)
"""


def test_two_processes_and_kill_9_recovery(tmp_path):
  directory = str(tmp_path / "out")
  holder = child(_HOLD, directory, stdin=subprocess.PIPE)
  try:
    assert holder.stdout.readline().strip() == "locked"
    code, out, _ = run_child(_TRY, directory)
    assert code == 1
    assert out.startswith(f"error: --output_dir {directory} is in use by "
                          f"pid {holder.pid} on host {socket.gethostname()}")
    assert "command `run_classifier --x=1`" in out
    with pytest.raises(output_lock.OutputLockedError, match=str(holder.pid)):
      with output_lock.lock_output_dir(directory):
        pass
    holder.kill()  # SIGKILL: the lock file stays, naming a dead process.
    holder.wait()
    assert output_lock.lock_holder(directory)["pid"] == holder.pid
    code, out, _ = run_child(_TRY, directory)
    assert code == 0, out
    assert "warning: recovered the lock" in out and str(holder.pid) in out
    assert out.strip().endswith("acquired")
    assert listing(directory) == []  # Released: the lock file is gone.
  finally:
    holder.kill()
    holder.wait()


def test_the_holding_process_may_nest_and_release_removes_the_file(tmp_path):
  directory = str(tmp_path / "out")
  with output_lock.lock_output_dir(directory, command="export") as held:
    assert output_lock.lock_holder(held)["command"] == "export"
    with output_lock.lock_output_dir(directory):
      pass
    assert output_lock.lock_holder(held)["pid"] == os.getpid()
    code, _, _ = run_child(_TRY, directory)
    assert code == 1
  assert output_lock.lock_holder(directory) is None
  with pytest.raises(errors.OutputLocationError, match="is a file"):
    (tmp_path / "f").write_text("x")
    with output_lock.lock_output_dir(str(tmp_path / "f")):
      pass


def test_without_flock_a_dead_pid_on_this_host_is_stale(tmp_path,
                                                        monkeypatch):
  def no_flock(fd, operation):
    raise OSError(errno.ENOLCK, "No locks available")
  monkeypatch.setattr(output_lock.fcntl, "flock", no_flock)
  directory = tmp_path / "out"
  directory.mkdir()
  lock_file = directory / output_lock.LOCK_FILENAME
  sleeper = subprocess.Popen([sys.executable, "-c",
                              "import time; time.sleep(60)"])
  try:
    lock_file.write_text(json.dumps({"host": socket.gethostname(),
                                     "pid": sleeper.pid, "command": "a"}))
    with pytest.raises(output_lock.OutputLockedError, match="command `a`"):
      with output_lock.lock_output_dir(str(directory)):
        pass
  finally:
    sleeper.kill()
    sleeper.wait()
  lock_file.write_text(json.dumps({"host": socket.gethostname(),
                                   "pid": dead_pid(), "command": "b"}))
  warnings = []
  with output_lock.lock_output_dir(str(directory), warn=warnings.append):
    assert output_lock.lock_holder(str(directory))["pid"] == os.getpid()
  assert "command `b`" in warnings[0]


def test_export_cli_refuses_an_export_path_in_use(tmp_path):
  export_path = tmp_path / "exports" / "albert"
  lock = output_lock.lock_filename_for("albert")
  with output_lock.lock_output_dir(str(export_path.parent),
                                   command="tfhub_export.export (first)",
                                   lock_filename=lock):
    result = run_module(
        "tfhub_export.export",
        f"--albert_config_file={ref.config_path('google_tiny')}",
        f"--checkpoint={ref.checkpoint_prefix('google_tiny')}",
        f"--spm_model_file={ref.SPM_MODEL}", f"--export_path={export_path}")
    assert listing(export_path.parent) == [lock]
  assert result.returncode == 1, result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(
      f"error: --export_path {export_path} is in use by pid "
      f"{os.getpid()}")
  assert "Traceback" not in result.stderr
  assert listing(export_path.parent) == []


# ----------------------------------------------------------- manifests

SETTINGS = {"albert_config": {"hidden_size": 32, "vocab_size": 120},
            "label_list": ["0", "1"], "max_seq_length": 128,
            "tokenizer": "30k-clean.model", "num_train_steps": 100}


def test_manifest_records_then_refuses_a_different_run(tmp_path):
  out = tmp_path / "out"
  path = run_manifest.check_or_record(str(out), SETTINGS, name="finetuning")
  assert json.loads(open(path).read()) == SETTINGS
  recorded = open(path, "rb").read()
  assert run_manifest.check_or_record(str(out), dict(SETTINGS),
                                      name="finetuning") == path
  changed = dict(SETTINGS, label_list=["0", "1", "2"], max_seq_length=256)
  with pytest.raises(run_manifest.RunManifestMismatchError) as raised:
    run_manifest.check_or_record(str(out), changed, name="finetuning",
                                 flag_name="output_dir")
  message = str(raised.value)
  assert message.startswith(f"--output_dir {out} was made by a run with "
                            "other settings")
  assert 'label_list: ["0", "1"] recorded, ["0", "1", "2"] now' in message
  assert "max_seq_length: 128 recorded, 256 now" in message
  assert "\n" not in message
  assert set(raised.value.differences) == {"label_list", "max_seq_length"}
  assert isinstance(raised.value, errors.UserError)
  assert open(path, "rb").read() == recorded
  assert listing(out) == ["finetuning.manifest.json"]
  # Keys that may change (a longer run) pass; a dropped key does not.
  run_manifest.check_or_record(str(out), dict(SETTINGS, num_train_steps=200),
                               name="finetuning",
                               may_change=("num_train_steps",))
  without = {k: v for k, v in SETTINGS.items() if k != "tokenizer"}
  with pytest.raises(run_manifest.RunManifestMismatchError,
                     match="tokenizer: \"30k-clean.model\" recorded, <not "
                     "set> now"):
    run_manifest.check_or_record(str(out), without, name="finetuning")


def test_manifest_new_keys_are_added_and_damage_is_reported(tmp_path):
  warnings = []
  run_manifest.check_or_record(str(tmp_path), {"a": 1}, warn=warnings.append)
  run_manifest.check_or_record(str(tmp_path), {"a": 1, "b": (2, 3)},
                               warn=warnings.append)
  assert "did not record b" in warnings[0]
  assert run_manifest.read_manifest(str(tmp_path)) == {"a": 1, "b": [2, 3]}
  path = run_manifest.manifest_path(str(tmp_path))
  with open(path, "wb") as f:
    f.write(b"\xff{")
  with pytest.raises(errors.OutputLocationError,
                     match=f"run manifest {path} is damaged"):
    run_manifest.check_or_record(str(tmp_path), {"a": 1})


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
