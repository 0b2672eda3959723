"""kill -9 at random points, then a rerun: the result equals an uninterrupted
run's (bytes for data and exports, weights for fine-tuning) and nothing
temporary is left; a second run on an output in use is refused, and the
lock of a killed run is recovered.

run_pretraining's kills (random steps, and each step of a checkpoint write)
are in run_pretraining_test.py, beside the uninterrupted run they compare
with. The kill points are seeded: the same points on every run.
"""

import json
import os
import random
import re
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import fingerprint_pb2

import export_fixtures
import fault_injection as fi
import finetuning_data
import reference_data as ref
from cli_helpers import run_module
from albert_tf.pretraining_data import data_generation_job as cpd
from albert_tf.pretraining_data.data_generation_settings import DataGenerationSettings
from albert_tf.pretraining_data import documents
from albert_tf.pretraining_data import generator
from albert_tf import run_classifier

pytestmark = pytest.mark.slow

# -------------------------------------------------- create_pretraining_data

SHARDS = 4
CPD_MODULE = "albert_tf.create_pretraining_data"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  """Four input files of 300 lines, four shards."""
  root = tmp_path_factory.mktemp("corpus")
  with open(os.path.join(ref.TOKENIZATION_DIR, "stdlib_docs.txt"),
            encoding="utf-8") as f:
    lines = f.read().split("\n")
  for index in range(4):
    (root / f"part-{index}.txt").write_text(
        "\n".join(lines[index * 300:(index + 1) * 300]) + "\n",
        encoding="utf-8")
  return root


def assert_refused_as_in_use(result, output, pid):
  """`result` (a second run) was refused with one error: line saying that
  `output` ("--flag path") is in use by the process `pid`."""
  errors = [line for line in result.stderr.splitlines()
            if line.startswith("error: ")]
  assert result.returncode == 1, result.stderr[-3000:]
  assert "Traceback" not in result.stderr
  assert len(errors) == 1, result.stderr[-3000:]
  assert f"{output} is in use by pid {pid} " in errors[0], errors[0]


def cpd_settings(corpus, output_file):
  return dict(input_file=str(corpus / "part-*.txt"),
              output_file=str(output_file), spm_model_file=ref.SPM_MODEL,
              max_seq_length=64, max_predictions_per_seq=10, dupe_factor=5,
              output_shards=SHARDS)


def as_flags(settings):
  return [f"--{name}={value}" for name, value in settings.items()]


def run_cpd_in_process(settings):
  lines = []
  cpd.run(DataGenerationSettings(**settings), log=lines.append)
  return lines


def cpd_outputs(directory):
  """The shards and the statistics file, by name."""
  return fi.file_bytes(directory, keep=lambda name: name.startswith(
      ("train.tfrecord-", ".train.tfrecord.stats.json")))


@pytest.fixture(scope="module")
def uninterrupted_data(corpus, tmp_path_factory):
  """The outputs (by name) of a run that nothing stopped."""
  output_dir = tmp_path_factory.mktemp("uninterrupted_data")
  run_cpd_in_process(cpd_settings(corpus, output_dir / "train.tfrecord"))
  outputs = cpd_outputs(output_dir)
  assert len(outputs) == SHARDS + 1
  return outputs


def lines_per_shard(corpus):
  """[number of lines of shard i's documents]: the lines it tokenizes."""
  counts = [0] * SHARDS
  for index, lines in documents.iter_documents(
      sorted(str(p) for p in corpus.glob("part-*.txt"))):
    counts[generator.shard_of_document(index, SHARDS)] += len(lines)
  return counts


def test_create_pretraining_data_killed_anywhere_writes_the_same_bytes(
    corpus, uninterrupted_data, tmp_path):
  expected = uninterrupted_data
  output_dir = tmp_path / "killed"
  output_dir.mkdir()
  settings = cpd_settings(corpus, output_dir / "train.tfrecord")
  rng = random.Random(20)
  # Random points of the work, whatever the machine's speed: before
  # tokenizing the Nth line. First anywhere in the run; then anywhere in
  # what the rerun has left, which includes the last shard (shards are
  # written one after the other; the killed one was not complete).
  lines = lines_per_shard(corpus)
  for nth in (rng.randint(1, sum(lines)), rng.randint(1, lines[-1])):
    hook = fi.call_hook(
        "albert_tf.pretraining_data.generator:LineTokenizer.tokenize_line",
        match="", nth=nth)
    run = fi.KilledRun(CPD_MODULE, as_flags(settings), hooks=[hook])
    run.assert_killed(by_hook=hook["label"])
  # The narrowest window: a shard's records complete, its statistics not
  # yet recorded. The shard must not then count as done without them.
  hook = fi.call_hook(
      "albert_tf.pretraining_data.shard_files:record_shard_stats",
      match=r"train\.tfrecord-")
  run = fi.KilledRun(CPD_MODULE, as_flags(settings), hooks=[hook])
  run.assert_killed(by_hook=hook["label"])
  run_cpd_in_process(settings)
  got = cpd_outputs(output_dir)
  assert sorted(got) == sorted(expected)
  for name, data in expected.items():
    assert got[name] == data, f"{name} differs from the uninterrupted run's"
  assert fi.leftovers(output_dir) == []


def test_create_pretraining_data_second_writer_refused_lock_recovered(
    corpus, uninterrupted_data, tmp_path):
  """Needs create_pretraining_data's output lock (a lock file beside
  --output_file, like the other tools' output_dir lock)."""
  output_file = tmp_path / "out" / "train.tfrecord"
  settings = cpd_settings(corpus, output_file)
  # The first run stops (holding its lock) when its first shard's records
  # are written.
  pause = fi.call_hook(
      "albert_tf.pretraining_data.shard_files:record_shard_stats",
      match="train.tfrecord-", action="pause")
  first = fi.KilledRun(CPD_MODULE, as_flags(settings), hooks=[pause])
  try:
    first.wait_until(first.printed(fi.PAUSED))
    second = run_module(CPD_MODULE, *as_flags(settings))
  finally:
    first.kill()
  assert_refused_as_in_use(second, f"--output_file {output_file}",
                           first.process.pid)
  # The killed run's lock file is left; the next run takes it over.
  assert fi.leftovers(output_file.parent)
  run_cpd_in_process(settings)
  assert cpd_outputs(output_file.parent) == uninterrupted_data
  assert fi.leftovers(output_file.parent) == []


# ------------------------------------------------------------- fine-tuning

CLASSIFIER_MODULE = "albert_tf.run_classifier"
_TF_CHECKPOINTS = "tensorflow.python.checkpoint.checkpoint_management"


def classifier_settings(root, output_dir):
  """A tiny SST-2 run: 12 steps of two accumulated micro-batches each, a
  checkpoint (and an evaluation) every 4; dropout on, as in v1 configs
  (0.1 in the encoder, the head's 0.1)."""
  return dict(
      task_name="sst-2",
      data_dir=finetuning_data.write_sst2(str(root / "data"), (64, 16, 8)),
      albert_config_file=finetuning_data.write_tiny_config(
          str(root / "albert_config.json"), hidden_dropout_prob=0.1,
          attention_probs_dropout_prob=0.1),
      spm_model_file=ref.SPM_MODEL, output_dir=str(output_dir),
      max_seq_length=16, do_train=True, do_eval=True, train_batch_size=8,
      gradient_accumulation_steps=2, learning_rate=1e-3, train_step=12,
      warmup_step=2, save_checkpoints_steps=4, iterations_per_loop=2, seed=1)


def checkpoint_tensors(prefix):
  """Every saved tensor (weights and optimizer slots) but the save counter."""
  reader = tf.train.load_checkpoint(str(prefix))
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if not name.startswith(("save_counter", "_CHECKPOINTABLE"))}


def evaluated_steps(output_dir):
  """The steps output_dir/eval_history.jsonl records (a line being written
  may be incomplete)."""
  try:
    lines = (output_dir / "eval_history.jsonl").read_text().splitlines()
  except FileNotFoundError:
    return set()
  steps = set()
  for line in lines:
    try:
      steps.add(json.loads(line)["step"])
    except ValueError:
      pass
  return steps


def assert_same_tensors(got, expected, label, atol=1e-6):
  """Same names; every tensor within atol (the message gives the largest
  difference over all of them)."""
  assert sorted(got) == sorted(expected)
  differences = {name: float(np.abs(got[name] - value).max())
                 for name, value in expected.items()}
  worst = max(differences, key=differences.get)
  assert differences[worst] <= atol, (
      f"{label}: max difference {differences[worst]:.3g} ({worst})")


def test_fine_tuning_killed_anywhere_resumes_to_the_same_weights(tmp_path):
  rng = random.Random(8)
  expected_dir = tmp_path / "uninterrupted"
  settings = classifier_settings(tmp_path, expected_dir)
  run_classifier.run(run_classifier.defaults(**settings))
  last_interval = (os.stat(expected_dir / "model.ckpt-12.index").st_mtime -
                   os.stat(expected_dir / "model.ckpt-8.index").st_mtime)
  output_dir = tmp_path / "killed"
  settings["output_dir"] = str(output_dir)
  flags = [f"--{name}" if value is True else f"--{name}={value}"
           for name, value in settings.items()]
  # While keeping the first evaluation's model as the best one: its files
  # staged in best/, not yet renamed.
  hook = fi.call_hook("os:replace", match=r"best/\.model\.ckpt\.tmp-")
  run = fi.KilledRun(CLASSIFIER_MODULE, flags, hooks=[hook])
  run.assert_killed(by_hook=hook["label"])
  # Mid-accumulation: on the second micro-batch of a step after the
  # checkpoint of step 4, its first micro-batch's gradients summed.
  hook = fi.micro_batch_hook(2 * rng.randint(1, 3))
  run = fi.KilledRun(CLASSIFIER_MODULE, flags, hooks=[hook])
  run.assert_killed(by_hook=hook["label"])
  # Stopped (holding output_dir) as checkpoint 8 is recorded: a second run
  # is refused, naming the holder; then the holder is killed.
  pause = fi.call_hook(f"{_TF_CHECKPOINTS}:update_checkpoint_state_internal",
                       match=r"model\.ckpt-8'", action="pause")
  run = fi.KilledRun(CLASSIFIER_MODULE, flags, hooks=[pause])
  try:
    run.wait_until(run.printed(fi.PAUSED))
    second = run_module(CLASSIFIER_MODULE, *flags)
  finally:
    run.kill()
  assert_refused_as_in_use(second, f"--output_dir {output_dir}",
                           run.process.pid)
  # At a random moment of training after the checkpoint of step 8, which the
  # killed run saved but did not evaluate: the rerun evaluates it first. The
  # resumed run has less to do than the interval measured (it traces no
  # training step again before step 8's evaluation) and a loaded machine
  # stretches it, so a pause as checkpoint 12 is recorded keeps the run from
  # finishing before the kill: a late draw kills it there.
  pause = fi.call_hook(f"{_TF_CHECKPOINTS}:update_checkpoint_state_internal",
                       match=r"model\.ckpt-12'", action="pause")
  run = fi.KilledRun(CLASSIFIER_MODULE, flags, hooks=[pause])
  run.kill_when(lambda: 8 in evaluated_steps(output_dir),
                delay=rng.uniform(0, last_interval))
  # The rerun recovers the lock of the killed run and finishes its work.
  run_classifier.run(run_classifier.defaults(**settings))
  for prefix in ("model.ckpt-12", "best/model.ckpt"):
    assert_same_tensors(checkpoint_tensors(output_dir / prefix),
                        checkpoint_tensors(expected_dir / prefix), prefix)
  # Every checkpoint evaluated once, the same best one kept.
  for name in ("eval_history.jsonl", "best/best_metrics.json"):
    assert ((output_dir / name).read_text() ==
            (expected_dir / name).read_text()), name
  assert fi.leftovers(output_dir) == []


# ------------------------------------------------------------------ export

EXPORT_MODULE = "tfhub_export.export"


def export_flags(export_path):
  return as_flags(dict(albert_config_file=ref.config_path("zh_tiny"),
                       checkpoint=ref.checkpoint_prefix("zh_tiny"),
                       vocab_file=export_fixtures.tokenizer_file("zh_tiny"),
                       export_path=export_path, export_type="encoder"))


def export_bytes(export_path):
  """The export's files; fingerprint.pb without its uuid, which TensorFlow
  draws at random for every save (the rest is deterministic)."""
  files = fi.file_bytes(export_path)
  for name in [n for n in files if os.path.basename(n) == "fingerprint.pb"]:
    fingerprint = fingerprint_pb2.FingerprintDef.FromString(files[name])
    assert fingerprint.uuid, "fingerprint.pb has no uuid field anymore"
    fingerprint.ClearField("uuid")
    files[name] = fingerprint.SerializeToString(deterministic=True)
  return files


def _staging(parent):
  """ready(): the export's hidden staging folder exists."""
  return lambda: any(name.startswith(".encoder.tmp-")
                     for name in os.listdir(parent))


def test_export_killed_anywhere_writes_the_same_bytes(tmp_path):
  rng = random.Random(11)
  expected_path = tmp_path / "uninterrupted" / "encoder"
  expected_path.parent.mkdir()
  # Uninterrupted, watched: how long the export takes once its staging
  # folder exists, the window where a kill leaves something behind.
  run = fi.KilledRun(EXPORT_MODULE, export_flags(expected_path))
  run.wait_until(_staging(expected_path.parent))
  started = time.monotonic()
  assert run.wait() == 0, run.output()[-3000:]
  staged_seconds = time.monotonic() - started
  expected = export_bytes(expected_path)
  assert "saved_model.pb" in expected
  export_path = tmp_path / "killed" / "encoder"
  export_path.parent.mkdir()
  for _ in range(2):
    run = fi.KilledRun(EXPORT_MODULE, export_flags(export_path))
    run.kill_when(_staging(export_path.parent),
                  delay=rng.uniform(0, 0.6 * staged_seconds))
  # Everything written, the staging folder not yet renamed.
  hook = fi.call_hook("os:replace", match=r"\.encoder\.tmp-")
  run = fi.KilledRun(EXPORT_MODULE, export_flags(export_path), hooks=[hook])
  run.assert_killed(by_hook=hook["label"])
  assert not export_path.exists()
  assert fi.leftovers(export_path.parent)  # The staging folder, the lock.
  # The rerun is a new process, as the uninterrupted one was: saved_model.pb
  # names the traced functions with a counter of the whole process, so an
  # export made after other TensorFlow work in the same process (this
  # test's) is equivalent but not byte-equal.
  run = fi.KilledRun(EXPORT_MODULE, export_flags(export_path))
  assert run.wait() == 0, run.output()[-3000:]
  assert "recovered the lock" in run.output()
  got = export_bytes(export_path)
  assert sorted(got) == sorted(expected)
  for name, data in expected.items():
    assert got[name] == data, f"{name} differs from the uninterrupted export's"
  assert fi.leftovers(export_path.parent) == []
