"""create_pretraining_data on Apache Beam: the local tool's files, byte for byte.

Every Beam run uses the DirectRunner in multi-process mode (two worker
processes), so documents really travel between processes and shards are
written by workers that are not the launcher.
"""

import hashlib
import json
import os
import random

import pytest

from albert_tf.pretraining_data import data_generation_job as cpd
from albert_tf.errors import FlagError
from albert_tf.errors import UserError
from albert_tf.pretraining_data import beam_pipeline
from albert_tf.pretraining_data import generator
from albert_tf.pretraining_data import shard_files
from cli_helpers import run_module
import reference_data as ref

pytest.importorskip("apache_beam")

CORPUS = os.path.join(ref.TOKENIZATION_DIR, "stdlib_docs.txt")
SHARDS = 4
MULTI_PROCESS = ["--direct_num_workers=2",
                 "--direct_running_mode=multi_processing"]
SPM_ARGS = dict(spm_model_file=ref.SPM_MODEL, do_lower_case=True)
ZH_ARGS = dict(vocab_file=ref.ZH_VOCAB, zh_whole_word_mask=True)


def small_config(**kwargs):
  return generator.GenerationConfig(
      max_seq_length=64, dupe_factor=2, shuffle_buffer_size=50,
      document_pool_size=10, **kwargs)


@pytest.fixture(scope="module")
def english(tmp_path_factory):
  """Three slices of the corpus: documents are numbered across files."""
  root = tmp_path_factory.mktemp("english")
  with open(CORPUS, encoding="utf-8") as f:
    lines = f.read().split("\n")
  for i, (start, end) in enumerate(((0, 250), (250, 420), (420, 700))):
    (root / f"part-{i}.txt").write_text("\n".join(lines[start:end]) + "\n",
                                        encoding="utf-8")
  return str(root / "part-*.txt")


@pytest.fixture(scope="module")
def chinese(tmp_path_factory):
  """Chinese documents that jieba segments into multi-character words."""
  words = ["今天", "天气", "很好", "我们", "一起", "学习", "中文", "自然",
           "语言", "处理", "模型", "训练", "数据", "北京", "大学", "研究",
           "时间", "问题", "方法", "结果"]
  rng = random.Random(0)
  root = tmp_path_factory.mktemp("chinese")
  for part in range(2):
    docs = []
    for _ in range(12):
      sentences = ["".join(rng.choice(words) for _ in range(rng.randint(4, 9)))
                   + "。" for _ in range(rng.randint(2, 6))]
      docs.append("\n".join(sentences))
    (root / f"zh-{part}.txt").write_text("\n\n".join(docs) + "\n",
                                         encoding="utf-8")
  return str(root / "zh-*.txt")


def digests(directory):
  """{file name: sha256} of everything in `directory` but the manifest (the
  command line records its settings; the library functions do not)."""
  out = {}
  for name in sorted(os.listdir(directory)):
    if name.endswith(".manifest.json"):
      continue
    with open(os.path.join(directory, name), "rb") as f:
      out[name] = hashlib.sha256(f.read()).hexdigest()
  return out


def local_run(directory, input_file, tokenizer_args, config):
  output = os.path.join(directory, "train.tfrecord")
  cpd.create_pretraining_data(input_file, output, tokenizer_args, config,
                              output_shards=SHARDS, log=lambda *_: None)
  return digests(directory)


def beam_run(directory, input_file, tokenizer_args, config, lines=None,
             pipeline_args=tuple(MULTI_PROCESS)):
  output = os.path.join(directory, "train.tfrecord")
  return beam_pipeline.run_pipeline(
      input_file, output, tokenizer_args, config, output_shards=SHARDS,
      runner="DirectRunner", pipeline_args=pipeline_args,
      log=(lines.append if lines is not None else lambda *_: None))


def test_command_line_sop_shards_equal_the_local_tools(tmp_path, english):
  expected = local_run(str(tmp_path / "local"), english, SPM_ARGS,
                       small_config())
  assert len(expected) == SHARDS + 1  # The shards and the stats file.
  common = [f"--input_file={english}", f"--spm_model_file={ref.SPM_MODEL}",
            "--max_seq_length=64", "--dupe_factor=2",
            "--shuffle_buffer_size=50", "--document_pool_size=10",
            f"--output_shards={SHARDS}"]
  result = run_module(
      "albert_tf.create_pretraining_data", *common,
      f"--output_file={tmp_path / 'beam' / 'train.tfrecord'}",
      "--runner=DirectRunner", *MULTI_PROCESS)
  assert result.returncode == 0, result.stderr[-3000:]
  assert digests(tmp_path / "beam") == expected
  # Beam's counters and the stats file agree.
  with open(tmp_path / "beam" / ".train.tfrecord.stats.json") as f:
    totals = json.load(f)["totals"]
  counters = next(line for line in result.stdout.splitlines()
                  if line.startswith("Beam counters: "))
  for name, value in totals.items():
    assert f"{name} {value:,}" in counters
  assert totals["instances"] > 100 and totals["masked_tokens"] > 0
  # Pipeline options without --runner are a mistake, said in one line.
  plain = run_module("albert_tf.create_pretraining_data", *common,
                     f"--output_file={tmp_path / 'x' / 'train.tfrecord'}",
                     "--direct_num_workers=2")
  assert plain.returncode == 1
  assert "error: unknown flags --direct_num_workers=2" in plain.stderr
  assert "Traceback" not in plain.stderr


def test_nsp_shards_equal_the_local_tools(tmp_path, english):
  config = small_config(random_next_sentence=True)
  expected = local_run(str(tmp_path / "local"), english, SPM_ARGS, config)
  lines = []
  written = beam_run(str(tmp_path / "beam"), english, SPM_ARGS, config, lines)
  assert len(written) == SHARDS
  assert digests(tmp_path / "beam") == expected
  assert any(line.startswith("Beam counters: documents ") for line in lines)


def test_chinese_whole_word_masking_shards_equal_the_local_tools(
    tmp_path, chinese):
  pytest.importorskip("jieba")
  config = small_config()
  expected = local_run(str(tmp_path / "local"), chinese, ZH_ARGS, config)
  beam_run(str(tmp_path / "beam"), chinese, ZH_ARGS, config)
  assert digests(tmp_path / "beam") == expected


def test_failed_shard_then_rerun_gives_the_same_files(tmp_path, english,
                                                     monkeypatch):
  # The in-process DirectRunner: what is tested here (temporary names,
  # skipping complete shards) does not depend on the runner, and it starts
  # no worker processes.
  config = small_config()
  expected = local_run(str(tmp_path / "local"), english, SPM_ARGS, config)
  marker = tmp_path / "failed-once"
  monkeypatch.setenv(beam_pipeline.FAIL_ONCE_ENV, f"2:{marker}")
  beam_dir = tmp_path / "beam"
  with pytest.raises(beam_pipeline.PipelineFailedError,
                     match="rerun the same command"):
    beam_run(str(beam_dir), english, SPM_ARGS, config, pipeline_args=())
  assert marker.exists()  # The hook did fail shard 2.
  left = os.listdir(beam_dir)
  assert "train.tfrecord-00002-of-00004" not in left
  assert not [name for name in left if ".tmp-" in name]
  assert ".train.tfrecord.stats.json" not in left
  # What a killed worker would leave behind: a temporary file (hidden, or
  # as older versions named it).
  for name in (".train.tfrecord-00002-of-00004.tmp-99-deadbeef",
               "train.tfrecord-00002-of-00004.tmp-98-deadbeef"):
    (beam_dir / name).write_bytes(b"half a shard")
  lines = []
  written = beam_run(str(beam_dir), english, SPM_ARGS, config, lines,
                     pipeline_args=())
  assert "train.tfrecord-00002-of-00004" in {os.path.basename(p)
                                             for p in written}
  assert digests(beam_dir) == expected  # Same names, same bytes, no more.
  # A third run finds everything done.
  assert beam_run(str(beam_dir), english, SPM_ARGS, config,
                  pipeline_args=()) == {}
  assert digests(beam_dir) == expected


def test_local_rerun_keeps_complete_statistics(tmp_path, english):
  config = small_config()
  expected = local_run(str(tmp_path / "full"), english, SPM_ARGS, config)
  output = str(tmp_path / "resumed" / "train.tfrecord")
  cpd.create_pretraining_data(english, output, SPM_ARGS, config,
                              output_shards=SHARDS, log=lambda *_: None)
  os.remove(output + "-00001-of-00004")
  cpd.create_pretraining_data(english, output, SPM_ARGS, config,
                              output_shards=SHARDS, log=lambda *_: None)
  # Entries of the shards the first run wrote come from its stats file.
  assert digests(tmp_path / "resumed") == expected
  with open(shard_files.stats_path(output)) as f:
    report = json.load(f)
  assert report["shards_without_stats"] == []
  assert sorted(report["shards"]) == [
      f"train.tfrecord-{i:05d}-of-00004" for i in range(SHARDS)]
  assert report["totals"]["instances"] == sum(
      s["instances"] for s in report["shards"].values())


def test_missing_beam_is_one_clear_error(monkeypatch):
  import sys  # pylint: disable=g-import-not-at-top
  monkeypatch.setitem(sys.modules, "apache_beam", None)
  with pytest.raises(beam_pipeline.BeamNotInstalledError,
                     match=r"pip install 'albert_tf\[beam\]'"):
    beam_pipeline.import_beam()


def test_bad_input_in_a_worker_is_a_user_error(tmp_path):
  bad = tmp_path / "bad.txt"
  bad.write_bytes(b"fine line\n\nanother\n\xff\xfe broken\n")
  with pytest.raises(UserError, match=r"bad.txt:4: not valid UTF-8"):
    beam_pipeline.run_pipeline(
        str(bad), str(tmp_path / "out" / "train.tfrecord"), SPM_ARGS,
        small_config(), output_shards=2, runner="DirectRunner",
        log=lambda *_: None)
  # As a multi-process runner reports it: inside its own exception's text.
  wrapped = RuntimeError(
      "Traceback ...\nalbert_tf.pretraining_data.documents.InputError: "
      "/data/bad.txt:4: not valid UTF-8 (byte 0)\n [while running 'X']")
  error = beam_pipeline._user_error_from(wrapped)  # pylint: disable=protected-access
  assert isinstance(error, UserError)
  assert str(error) == "/data/bad.txt:4: not valid UTF-8 (byte 0)"
  with pytest.raises(FlagError, match="--runner=NoSuchRunner"):
    beam_pipeline.run_pipeline(
        CORPUS, str(tmp_path / "out2" / "train.tfrecord"), SPM_ARGS,
        small_config(), runner="NoSuchRunner", log=lambda *_: None)


def test_benchmark_beam_driver_writes_the_local_bytes(tmp_path):
  from benchmarks import pretraining_data_benchmark as bench  # pylint: disable=g-import-not-at-top
  small = tmp_path / "small.txt"
  with open(CORPUS, encoding="utf-8") as f:
    small.write_text("\n".join(f.read().split("\n")[:80]) + "\n")
  config = generator.GenerationConfig(max_seq_length=64, dupe_factor=1)
  local = bench.time_run(str(small), SPM_ARGS, config, 2, 1)
  beam = bench.time_run(str(small), SPM_ARGS, config, 2, 1,
                        driver="beam")
  assert beam[1] == local[1] > 0
  assert beam[2] == local[2]
