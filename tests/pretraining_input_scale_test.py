"""run_pretraining over thousands of shards: start-up opens a bounded sample.

File opens are counted by the kernel (inotify), so opens made inside the
TensorFlow runtime count as well as Python's.
"""

import ctypes
import json
import os
import struct
import sys

import pytest
import tensorflow as tf

from albert_tf import run_pretraining
from albert_tf.pretraining_data import input_pipeline
from albert_tf.pretraining_data import shard_files

SEQ, PRED = 16, 2
NUM_SHARDS = 2000
RECORDS_PER_SHARD = 10
TINY_CONFIG = {
    "attention_probs_dropout_prob": 0.0, "embedding_size": 8,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 16,
    "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 32,
    "max_position_embeddings": SEQ, "num_attention_heads": 2,
    "num_hidden_groups": 1, "num_hidden_layers": 1, "type_vocab_size": 2,
    "vocab_size": 50}
IN_OPEN = 0x20
IN_ISDIR = 0x40000000


def _example():
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
  ids = [2] + list(range(5, 5 + SEQ - 3)) + [3, 3]
  feature = {
      "input_ids": ints(ids), "input_mask": ints([1] * SEQ),
      "segment_ids": ints([0] * (SEQ // 2) + [1] * (SEQ // 2)),
      "token_boundary": ints([1] * SEQ),
      "masked_lm_positions": ints([1, 2]), "masked_lm_ids": ints([5, 6]),
      "masked_lm_weights": tf.train.Feature(
          float_list=tf.train.FloatList(value=[1.0] * PRED)),
      "next_sentence_labels": ints([0])}
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


class FileOpenCounter:
  """Names of the files opened in one directory, from the kernel."""

  def __init__(self, directory):
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    self._fd = libc.inotify_init1(os.O_NONBLOCK)
    if self._fd < 0 or libc.inotify_add_watch(
        self._fd, os.fsencode(directory), IN_OPEN) < 0:
      raise OSError(ctypes.get_errno(), "inotify")
    self.opened = []

  def collect(self):
    while True:
      try:
        data = os.read(self._fd, 1 << 20)
      except BlockingIOError:
        return self.opened
      offset = 0
      while offset < len(data):
        _, mask, _, length = struct.unpack_from("iIII", data, offset)
        name = data[offset + 16:offset + 16 + length].rstrip(b"\0")
        offset += 16 + length
        if not mask & IN_ISDIR:
          self.opened.append(os.fsdecode(name))

  def close(self):
    os.close(self._fd)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
  root = tmp_path_factory.mktemp("shards")
  record = _example()
  data_dir = root / "data"
  data_dir.mkdir()
  first = str(data_dir / "train.tfrecord-00000-of-02000")
  with tf.io.TFRecordWriter(first) as writer:
    for _ in range(RECORDS_PER_SHARD):
      writer.write(record)
  with open(first, "rb") as f:
    content = f.read()
  for path in shard_files.shard_paths(str(data_dir / "train.tfrecord"),
                                      NUM_SHARDS)[1:]:
    with open(path, "wb") as f:
      f.write(content)
  # create_pretraining_data's statistics, matched by the pattern below.
  (data_dir / "train.tfrecord.stats.json").write_text("{}")
  (root / "albert_config.json").write_text(json.dumps(TINY_CONFIG))
  return root


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="counts opens with inotify")
def test_first_step_without_opening_every_shard(shards, tmp_path):
  settings = run_pretraining.defaults(
      albert_config_file=str(shards / "albert_config.json"),
      input_file=str(shards / "data" / "train.tfrecord*"),
      output_dir=str(tmp_path / "out"), do_train=True,
      max_seq_length=SEQ, max_predictions_per_seq=PRED,
      train_batch_size=4, num_train_steps=1, num_warmup_steps=0,
      save_checkpoints_steps=1, iterations_per_loop=1, seed=1)
  counter = FileOpenCounter(str(shards / "data"))
  try:
    lines = []
    run_pretraining.run(settings, print_fn=lines.append)
    opened = set(counter.collect())
  finally:
    counter.close()
  assert any(line.startswith("step 1") for line in lines), lines
  # The start-up check reads the first shard; training reads a few more
  # (interleave, shuffle buffer, prefetch): far from all of them.
  assert "train.tfrecord-00000-of-02000" in opened
  assert "train.tfrecord.stats.json" not in opened
  assert 1 <= len(opened) <= 100, sorted(opened)


def test_statistics_files_are_not_records(shards):
  pattern = str(shards / "data" / "train.tfrecord*")
  files = input_pipeline.record_files(pattern)
  assert len(files) == NUM_SHARDS
  assert not [f for f in files if f.endswith(".json")]
  with pytest.raises(ValueError, match="only statistics and manifest files"):
    input_pipeline.record_files(str(shards / "data" / "*.json"))


def test_a_corrupt_shard_is_named(shards, tmp_path):
  files = input_pipeline.record_files(str(shards / "data" / "train.tfrecord*"))
  sample = [str(tmp_path / os.path.basename(f)) for f in files[:20]]
  for source, copy in zip(files, sample):
    tf.io.gfile.copy(source, copy)
  with open(sample[13], "r+b") as f:
    f.seek(40)
    f.write(b"\xff" * 8)
  assert input_pipeline.find_corrupt_file(sample, seed=3) == sample[13]
  assert input_pipeline.find_corrupt_file(sample) == sample[13]
  assert input_pipeline.find_corrupt_file(sample[:13], seed=3) is None
  order = input_pipeline.training_file_order(sample, seed=3)
  assert sorted(order) == sorted(sample) and order != sample
