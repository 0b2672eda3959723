"""kill -9 at random points, then a rerun: the result equals an uninterrupted
run's (bytes for data and exports, weights for fine-tuning) and nothing
temporary is left; a second run on an output in use is refused, and the
lock of a killed run is recovered.

run_pretraining's kills (random steps, and each step of a checkpoint write)
are in run_pretraining_test.py, beside the uninterrupted run they compare
with. The kill points are seeded: the same points on every run.
"""

import os
import random
import time

import numpy as np
import pytest
import tensorflow as tf

import fault_injection as fi
import finetuning_data
import reference_data as ref
from cli_helpers import run_module
from albert_tf import create_pretraining_data as cpd
from albert_tf import run_classifier

pytestmark = pytest.mark.slow

# -------------------------------------------------- create_pretraining_data

SHARDS = 4
CPD_MODULE = "albert_tf.create_pretraining_data"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  """Four input files: every shard reads all of them, so a shard takes a
  while (about a second) and a kill lands inside one."""
  root = tmp_path_factory.mktemp("corpus")
  with open(os.path.join(ref.TOKENIZATION_DIR, "stdlib_docs.txt"),
            encoding="utf-8") as f:
    lines = f.read().split("\n")
  for index in range(4):
    (root / f"part-{index}.txt").write_text(
        "\n".join(lines[index * 300:(index + 1) * 300]) + "\n",
        encoding="utf-8")
  return root


def cpd_settings(corpus, output_file):
  return dict(input_file=str(corpus / "part-*.txt"),
              output_file=str(output_file), spm_model_file=ref.SPM_MODEL,
              max_seq_length=64, max_predictions_per_seq=10, dupe_factor=5,
              output_shards=SHARDS)


def as_flags(settings):
  return [f"--{name}={value}" for name, value in settings.items()]


def run_cpd_in_process(settings):
  lines = []
  cpd.run(cpd.DataGenerationSettings(**settings), log=lines.append)
  return lines


def cpd_outputs(directory):
  """The shards and the statistics file, by name."""
  return fi.file_bytes(directory, keep=lambda name: name.startswith(
      ("train.tfrecord-", "train.tfrecord.stats.json")))


@pytest.fixture(scope="module")
def uninterrupted_data(corpus, tmp_path_factory):
  """(outputs by name, seconds per shard) of a run that nothing stopped."""
  output_dir = tmp_path_factory.mktemp("uninterrupted_data")
  started = time.monotonic()
  run_cpd_in_process(cpd_settings(corpus, output_dir / "train.tfrecord"))
  seconds_per_shard = (time.monotonic() - started) / SHARDS
  outputs = cpd_outputs(output_dir)
  assert len(outputs) == SHARDS + 1
  return outputs, seconds_per_shard


def _writing_shard_at_least(directory, first):
  """ready(): a shard numbered `first` or later is being written (its
  temporary exists)."""
  names = [f"train.tfrecord-{i:05d}-of-{SHARDS:05d}.tmp-"
           for i in range(first, SHARDS)]
  return lambda: any(entry.startswith(tuple(names))
                     for entry in os.listdir(directory))


def test_create_pretraining_data_killed_anywhere_writes_the_same_bytes(
    corpus, uninterrupted_data, tmp_path):
  expected, seconds_per_shard = uninterrupted_data
  output_dir = tmp_path / "killed"
  output_dir.mkdir()
  settings = cpd_settings(corpus, output_dir / "train.tfrecord")
  rng = random.Random(20)
  # Three runs killed inside (or just after) random shards: each resumes
  # what the one before left.
  for shard in sorted(rng.sample(range(SHARDS), 3)):
    run = fi.KilledRun(CPD_MODULE, as_flags(settings))
    run.kill_when(_writing_shard_at_least(output_dir, shard),
                  delay=rng.uniform(0, seconds_per_shard))
  # The narrowest window: a shard's records complete, its statistics not
  # yet recorded. The shard must not then count as done without them.
  shard_name = f"train.tfrecord-{rng.randrange(SHARDS):05d}-of-{SHARDS:05d}"
  hook = fi.call_hook(
      "albert_tf.pretraining_data.shard_files:record_shard_stats",
      match=shard_name)
  run = fi.KilledRun(CPD_MODULE, as_flags(settings), hooks=[hook])
  run.assert_killed(by_hook=hook["label"])
  run_cpd_in_process(settings)
  got = cpd_outputs(output_dir)
  assert sorted(got) == sorted(expected)
  for name, data in expected.items():
    assert got[name] == data, f"{name} differs from the uninterrupted run's"
  assert fi.leftovers(output_dir) == []
