"""Faults real machines have, at the outputs: a full disk, --overwrite over
what is not ours (or not ours to remove), and the modes outputs get.

A full disk is tested two ways: at the real write call sites with the
kernel's own ENOSPC (writes to /dev/full) or TensorFlow's own error, which
runs everywhere; and end to end, each tool writing into a small tmpfs that
is full, in a private mount namespace (`unshare`: root, or any user where
unprivileged user namespaces are allowed; skipped where neither works).
"""

import errno
import functools
import os
import stat
import subprocess
import sys

import pytest
import tensorflow as tf

from albert_tf import errors
from albert_tf.cli import flag_table
from albert_tf.files import atomic_directory
from albert_tf.files import atomic_write
from albert_tf.files import disk_full
from albert_tf.files import output_lock
from cli_helpers import files_under
import fault_injection
import finetuning_data
import reference_data as ref
from reference_data import PROJECT_ROOT
import run_pretraining_test

IS_ROOT = os.geteuid() == 0


def no_space_error_line(stderr, path):
  """Asserts the one-`error:`-line contract for a full disk at `path`."""
  assert "Traceback" not in stderr, stderr
  lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
  assert len(lines) == 1, stderr
  assert f"cannot write {path}: no space left on device" in lines[0], lines[0]
  return lines[0]


# ------------------------------------------------ at the write call sites

def dev_full_fdopen(fd, *args, **kwargs):
  """os.fdopen whose file is /dev/full: the kernel's ENOSPC on write."""
  os.close(fd)
  return open("/dev/full", *args, **kwargs)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_text_write_on_a_full_disk_names_the_file_and_keeps_the_old(
    tmp_path, monkeypatch):
  path = tmp_path / "eval_results.txt"
  atomic_write.write_text_atomically(str(path), "accuracy = 1.0\n")
  monkeypatch.setattr(atomic_write.os, "fdopen", dev_full_fdopen)
  with pytest.raises(disk_full.DiskFullError) as raised:
    atomic_write.write_text_atomically(str(path), "accuracy = 0.5\n" * 5000)
  assert str(raised.value).startswith(
      f"cannot write {path}: no space left on device")
  assert isinstance(raised.value, errors.UserError)
  assert raised.value.__cause__.errno == errno.ENOSPC
  assert path.read_text() == "accuracy = 1.0\n"
  assert os.listdir(tmp_path) == ["eval_results.txt"]


def test_a_lock_that_cannot_be_written_leaves_no_empty_lock_file(
    tmp_path, monkeypatch):
  def full(fd, data):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
  monkeypatch.setattr(output_lock.os, "write", full)
  lock_path = tmp_path / "out" / output_lock.LOCK_FILENAME
  with pytest.raises(disk_full.DiskFullError,
                     match=f"cannot write {lock_path}: no space left"):
    with output_lock.lock_output_dir(str(tmp_path / "out")):
      pass
  assert os.listdir(tmp_path / "out") == []


def test_checkpoint_write_on_a_full_disk_names_the_checkpoint(tmp_path):
  prefix = str(tmp_path / "model.ckpt-7")

  def write(staged_prefix):
    # What TensorFlow's writer raises, with its staging names.
    raise tf.errors.ResourceExhaustedError(
        None, None, f"{staged_prefix}_temp/part-00000-of-00001.data-00000-"
        "of-00001.tempstate123; No space left on device")
  with pytest.raises(disk_full.DiskFullError,
                     match=f"cannot write {prefix}: no space left"):
    atomic_write.write_checkpoint_atomically(prefix, write)
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("error, path", [
    (tf.errors.ResourceExhaustedError(
        None, None, "/out/model.ckpt-2_temp/part-00000-of-00001.data-00000-"
        "of-00001.tempstate13138913311192288701; No space left on device"),
     "/out/model.ckpt-2"),
    (OSError(errno.ENOSPC, "No space left on device", "/out/x.json"),
     "/out/x.json"),
    (OSError(errno.EDQUOT, "Disk quota exceeded", "/out/y"), "/out/y"),
    (RuntimeError("Error while serializing: IoError(Os { code: 28, kind: "
                  "StorageFull, message: \"No space left on device\" })"),
     "an output file"),
])
def test_run_job_reports_a_full_disk_as_one_line(error, path, capsys):
  def job():
    raise error
  assert flag_table.run_job(job) == 1
  line = no_space_error_line(capsys.readouterr().err, path)
  if getattr(error, "errno", None) == errno.EDQUOT:
    assert "disk quota exceeded" in line


def test_run_job_keeps_the_traceback_of_other_errors():
  def job():
    raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating")
  with pytest.raises(tf.errors.ResourceExhaustedError):
    flag_table.run_job(job)


# ------------------------------------------- end to end, a full tmpfs

@functools.lru_cache(maxsize=None)
def namespace_command():
  """The unshare command that gives a private mount namespace in which
  this user may mount a tmpfs, or None."""
  for command in (["unshare", "-m"], ["unshare", "-rm"]):
    if command == ["unshare", "-m"] and not IS_ROOT:
      continue
    try:
      probe = subprocess.run(
          command + ["sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
          capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
      continue
    if probe.returncode == 0:
      return tuple(command)
  return None


_FULL_DISK_RUN = r"""
set -u
dir=$1; free_kib=$2; shift 2
mount -t tmpfs -o size=4m tmpfs "$dir" || exit 99
# Leave free_kib KiB free (tmpfs counts whole pages).
dd if=/dev/zero of="$dir/filler" bs=1k count=$((4096 - free_kib)) \
   status=none 2>/dev/null
"$@"
echo "exit status $?"
cd "$dir" && find . -mindepth 1 | sort
"""


def run_on_full_disk(tmp_path, free_kib, module, args):
  """Runs `python -m module args` with `tmp_path/full` a tmpfs that has
  `free_kib` KiB free; returns (exit status, stderr, [paths left there])."""
  command = namespace_command()
  if command is None:
    pytest.skip("no private mount namespace here (unshare -m / -rm): "
                "cannot make a small full file system")
  full = tmp_path / "full"
  full.mkdir()
  env = dict(fault_injection.child_env(), PYTHONPATH=PROJECT_ROOT)
  result = subprocess.run(
      [*command, "sh", "-c", _FULL_DISK_RUN, "sh", str(full), str(free_kib),
       sys.executable, "-m", module, *map(str, args)],
      capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300,
      check=False)
  assert result.returncode == 0, result.stdout + result.stderr
  out = result.stdout.splitlines()
  (status_line,) = [line for line in out if line.startswith("exit status ")]
  left = out[out.index(status_line) + 1:]
  return int(status_line.split()[-1]), result.stderr, left


@pytest.fixture(scope="module")
def small_inputs(tmp_path_factory):
  root = tmp_path_factory.mktemp("full_disk_inputs")
  inputs = {"root": root}
  inputs["vocab"] = root / "vocab.txt"
  inputs["vocab"].write_text("\n".join(
      ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
      [f"word{n}" for n in range(95)]) + "\n")
  words = ("the a cat dog sat on mat ran far away house tree green blue big "
           "small quick lazy fox jumps over").split()
  documents = []
  for d in range(60):
    documents.append("\n".join(
        " ".join(words[(d * 7 + s * 3 + w) % len(words)] for w in range(12))
        + " ." for s in range(6)))
  inputs["corpus"] = root / "corpus.txt"
  inputs["corpus"].write_text("\n\n".join(documents) + "\n")
  inputs["pretraining_config"] = root / "pretraining_config.json"
  inputs["pretraining_config"].write_text(
      __import__("json").dumps(run_pretraining_test.TINY_CONFIG))
  inputs["records"] = root / "train-0.tfrecord"
  run_pretraining_test.write_records(str(inputs["records"]), 16, seed=0)
  inputs["config"] = finetuning_data.write_tiny_config(
      str(root / "config.json"))
  inputs["sst2"] = finetuning_data.write_sst2(str(root / "sst2"),
                                              sizes=(8, 4, 4))
  return inputs


TINY = "google_tiny"
# (id, free KiB, module, args(inputs, full) → list, the path the error
# names, paths allowed to stay behind). The free space is chosen so that
# the tool's main output is what fills the disk.
FULL_DISK_CASES = [
    ("lock_file", 0, "albert_tf.convert_checkpoint",
     lambda i, f: ["--albert_config_file", ref.config_path(TINY),
                   "--input", ref.checkpoint_prefix(TINY), "--output",
                   f / "ckpt" / "model.ckpt", "--direction=tf1_to_tf2"],
     lambda f: f / "ckpt" / ".model.ckpt.albert_tf.lock", {"ckpt"}),
    ("convert_hf", 40, "albert_tf.convert_checkpoint",
     lambda i, f: ["--albert_config_file", ref.config_path(TINY),
                   "--input", ref.checkpoint_prefix(TINY), "--output",
                   f / "hf", "--output_format=hf",
                   f"--spm_model_file={ref.SPM_MODEL}"],
     lambda f: f / "hf", set()),
    ("export", 400, "tfhub_export.export",
     lambda i, f: ["--albert_config_file", ref.config_path(TINY),
                   "--checkpoint", ref.checkpoint_prefix(TINY),
                   f"--vocab_file={i['vocab']}", "--seq_length=16",
                   "--export_type=encoder", "--export_path", f / "export"],
     lambda f: f / "export", set()),
    ("create_pretraining_data", 40, "albert_tf.create_pretraining_data",
     lambda i, f: [f"--input_file={i['corpus']}",
                   f"--output_file={f / 'data' / 'train.tfrecord'}",
                   f"--spm_model_file={ref.SPM_MODEL}", "--max_seq_length=32",
                   "--max_predictions_per_seq=5", "--dupe_factor=4"],
     lambda f: f / "data" / "train.tfrecord",
     # The settings' record stays: a rerun with room finishes the shards.
     {"data", "data/.train.tfrecord.manifest.json"}),
    ("train_sentencepiece", 100, "albert_tf.train_sentencepiece",
     lambda i, f: [f"--input={i['corpus']}",
                   f"--model_prefix={f / 'spm' / 'sp'}", "--vocab_size=40"],
     lambda f: f"{f / 'spm' / 'sp'}.model", {"spm"}),
    ("run_pretraining", 300, "albert_tf.run_pretraining",
     lambda i, f: [f"--albert_config_file={i['pretraining_config']}",
                   f"--input_file={i['records']}", f"--output_dir={f / 'out'}",
                   "--do_train", "--max_seq_length=32",
                   "--max_predictions_per_seq=5", "--train_batch_size=4",
                   "--num_train_steps=2", "--num_warmup_steps=0",
                   "--save_checkpoints_steps=2", "--iterations_per_loop=1"],
     lambda f: f / "out" / "model.ckpt-2", None),
    ("run_classifier", 30, "albert_tf.run_classifier",
     lambda i, f: [f"--albert_config_file={i['config']}",
                   f"--spm_model_file={ref.SPM_MODEL}",
                   f"--output_dir={f / 'out'}", "--do_train",
                   "--train_batch_size=2", "--train_step=2", "--warmup_step=0",
                   "--save_checkpoints_steps=1", "--iterations_per_loop=1",
                   "--max_seq_length=32", "--task_name=sst-2",
                   f"--data_dir={i['sst2']}"],
     lambda f: f / "out" / "model.ckpt-1", None),
]


@pytest.mark.parametrize("free_kib, module, make_args, culprit, allowed", [
    pytest.param(*case[1:], id=case[0]) for case in FULL_DISK_CASES])
def test_a_full_disk_is_one_error_line_naming_the_path(
    free_kib, module, make_args, culprit, allowed, small_inputs, tmp_path):
  full = tmp_path / "full"
  status, stderr, left = run_on_full_disk(
      tmp_path, free_kib, module, make_args(small_inputs, full))
  assert status == 1, stderr
  no_space_error_line(stderr, culprit(full))
  left = {os.path.normpath(p) for p in left} - {"filler"}
  # Nothing half-written under a name a later run would trust: no
  # temporaries, locks or (for whole outputs) partial results.
  assert not [p for p in left
              if fault_injection._LEFTOVER.fullmatch(os.path.basename(p))
              and not p.endswith("_temp")], left
  if allowed is not None:
    assert left <= allowed, left
  else:
    # Training: the finished checkpoints stay; the one that did not fit is
    # not there under its name (TensorFlow's PREFIX_temp is removed by the
    # next run, see checkpoints.integrity.remove_interrupted_saves).
    assert not any(p.startswith(os.path.relpath(culprit(full), full) + ".")
                   for p in left), left


# ----------------------------------------------------------- --overwrite

def write_ours(path, text="new"):
  with atomic_directory.directory_written_atomically(
      str(path), overwrite=True) as staging:
    with open(os.path.join(staging, "saved_model.pb"), "w") as f:
      f.write(text)
  return path


def test_overwrite_replaces_only_our_outputs(tmp_path):
  ours = write_ours(tmp_path / "export")
  assert (ours / atomic_directory.MARKER_FILENAME).is_file()
  write_ours(ours, "newer")
  assert (ours / "saved_model.pb").read_text() == "newer"
  theirs = tmp_path / "my_project"
  theirs.mkdir()
  (theirs / "notes.txt").write_text("years of work")
  (theirs / "saved_model.pb").write_text("someone else's model")
  with pytest.raises(errors.OutputLocationError,
                     match="not an output of albert_tf"):
    write_ours(theirs)
  a_file = tmp_path / "a_file"
  a_file.write_text("x")
  before = files_under(tmp_path)
  with pytest.raises(errors.OutputLocationError,
                     match="not an output of albert_tf"):
    write_ours(a_file)
  assert files_under(tmp_path) == before
  assert sorted(os.listdir(tmp_path)) == ["a_file", "export", "my_project"]


@pytest.mark.permissions
@pytest.mark.skipif(IS_ROOT, reason="file permissions do not apply to root")
def test_overwrite_refuses_before_the_work_what_it_could_not_remove(
    tmp_path):
  # Another user's export: ours by its marker, but a directory in it is
  # not ours to empty. Refused before the work, and no .old-* left.
  export = write_ours(tmp_path / "export")
  os.mkdir(export / "variables")
  os.chmod(export / "variables", 0o555)
  worked = []
  try:
    with pytest.raises(errors.OutputLocationError,
                       match=r"cannot replace .*variables is not writable"):
      with atomic_directory.directory_written_atomically(
          str(export), overwrite=True):
        worked.append(True)
    assert not worked
    assert sorted(os.listdir(tmp_path)) == ["export"]
  finally:
    os.chmod(export / "variables", 0o755)


# ------------------------------------------------------------- modes

def modes_under(path):
  found = {".": stat.S_IMODE(os.stat(path).st_mode)}
  for directory, dirs, names in os.walk(path):
    for name in dirs + names:
      full = os.path.join(directory, name)
      found[os.path.relpath(full, path)] = stat.S_IMODE(os.stat(full).st_mode)
  return found


@pytest.mark.parametrize("mask", [0o002, 0o022])
def test_hf_directories_and_exports_honour_the_umask(mask, tmp_path):
  """safetensors writes 0600 and TensorFlow makes 0755 directories,
  whatever the umask; the outputs get 0666/0777 less the umask."""
  from albert_tf.checkpoints import format_conversion  # pylint: disable=g-import-not-at-top
  from albert_tf.config import AlbertConfig  # pylint: disable=g-import-not-at-top
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  old = os.umask(mask)
  try:
    hf_dir = tmp_path / "hf"
    format_conversion.convert(
        ref.checkpoint_prefix(TINY), str(hf_dir), "hf",
        config=AlbertConfig.from_json_file(ref.config_path(TINY)),
        tokenizer=format_conversion.TokenizerFiles(ref.SPM_MODEL))
    module = tf.Module()
    module.v = tf.Variable([1.0, 2.0])
    module.f = tf.function(lambda x: x * module.v,
                           input_signature=[tf.TensorSpec([2], tf.float32)])
    export = export_utils.save_module(module, str(tmp_path / "serving" / "1"))
  finally:
    os.umask(old)
  for root in (hf_dir, export):
    for name, mode in modes_under(root).items():
      is_dir = os.path.isdir(os.path.join(root, name))
      assert mode == (0o777 if is_dir else 0o666) & ~mask, (
          root, name, oct(mode))
  assert "model.safetensors" in os.listdir(hf_dir)


# ------------------------------------------------------------- writers

def test_convert_and_export_to_the_same_path_exclude_each_other(tmp_path):
  """convert_checkpoint takes the lock tfhub_export.export takes for a
  path (held here as an export holds it): the second writer is refused."""
  from cli_helpers import run_module  # pylint: disable=g-import-not-at-top
  output = tmp_path / "models" / "albert"
  lock = output_lock.lock_filename_for("albert")
  with output_lock.lock_output_dir(str(output.parent),
                                   command="tfhub_export.export (first)",
                                   lock_filename=lock):
    result = run_module(
        "albert_tf.convert_checkpoint",
        f"--albert_config_file={ref.config_path(TINY)}",
        f"--input={ref.checkpoint_prefix(TINY)}", f"--output={output}",
        "--output_format=hf", f"--spm_model_file={ref.SPM_MODEL}")
    assert os.listdir(output.parent) == [lock]
  assert result.returncode == 1, result.stderr
  assert "Traceback" not in result.stderr
  assert result.stderr.strip().splitlines()[-1].startswith(
      f"error: --output {output} is in use by pid {os.getpid()}"), (
          result.stderr)
  assert os.listdir(output.parent) == []
