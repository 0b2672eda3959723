"""create_pretraining_data's progress line, before and after input is read."""

import multiprocessing
import re
import time

from albert_tf.pretraining_data import data_generation_job as cpd


def _counters(read_bytes):
  names = ("bytes", "documents", "instances", "shards")
  return {name: multiprocessing.Value("q", read_bytes if name == "bytes"
                                      else 0) for name in names}


def test_nothing_read_yet_gives_an_unknown_eta_not_nan():
  line = cpd._progress_line(_counters(0), time.time() - 5, 1000, 4)  # pylint: disable=protected-access
  assert line.endswith("0.0%  ETA unknown"), line
  assert "nan" not in line


def test_the_eta_is_a_duration():
  line = cpd._progress_line(_counters(250), time.time() - 100, 1000, 4)  # pylint: disable=protected-access
  # 100 s for a quarter: 300 s to go (a loaded machine adds a second).
  assert re.search(r"25\.0%  ETA 5m0[0-2]s$", line), line
