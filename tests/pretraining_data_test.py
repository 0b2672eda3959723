"""create_pretraining_data: original features and semantics, at scale."""

import collections
import json
import os
import random
import tracemalloc

import numpy as np
import pytest
import tensorflow as tf

from albert_tf.pretraining_data import data_generation_job as cpd
from albert_tf.pretraining_data.data_generation_settings import DataGenerationSettings
from albert_tf.pretraining_data import documents
from albert_tf.pretraining_data import tfrecord_features
from albert_tf.pretraining_data import generator
from albert_tf.pretraining_data import input_pipeline
from albert_tf.pretraining_data import instances as instances_lib
from albert_tf.pretraining_data import masking
from albert_tf.errors import UserError
import reference_data as ref

CORPUS = os.path.join(ref.TOKENIZATION_DIR, "stdlib_docs.txt")
SEQ, PRED = 128, 20
TOKENIZER_ARGS = dict(spm_model_file=ref.SPM_MODEL, do_lower_case=True)
# The spec of the original run_pretraining.py input_fn, written out.
ORIGINAL_SPEC = {
    "input_ids": ([SEQ], tf.int64), "input_mask": ([SEQ], tf.int64),
    "segment_ids": ([SEQ], tf.int64), "token_boundary": ([SEQ], tf.int64),
    "masked_lm_positions": ([PRED], tf.int64),
    "masked_lm_ids": ([PRED], tf.int64),
    "masked_lm_weights": ([PRED], tf.float32),
    "next_sentence_labels": ([1], tf.int64),
}


@pytest.fixture(scope="module")
def tokenizer():
  return generator.LineTokenizer(**TOKENIZER_ARGS)


@pytest.fixture(scope="module")
def corpus_documents(tokenizer):
  docs = []
  for _, lines in documents.iter_documents([CORPUS]):
    doc = [t for t in map(tokenizer.tokenize_line, lines) if t]
    if doc:
      docs.append(doc)
  return docs


@pytest.fixture(scope="module")
def sample(corpus_documents, tokenizer):
  """Instances from every document, twice, with the original defaults."""
  rng = random.Random(7)
  config = masking.MaskingConfig()
  result, first_of_call = [], []
  for dupe in range(2):
    for k, doc in enumerate(corpus_documents):
      made = instances_lib.create_instances_from_document(
          doc, corpus_documents[max(0, k - 50):k], SEQ, 0.1, False, config,
          tokenizer.vocab_words, tokenizer.is_start_piece, rng)
      if made:
        first_of_call.append(made[0])
      result.extend(made)
  return result, first_of_call


def read_records(path):
  return [r.numpy() for r in tf.data.TFRecordDataset(path)]


def generate(tmp_path, name, **kwargs):
  config = generator.GenerationConfig(
      max_seq_length=SEQ, dupe_factor=kwargs.pop("dupe_factor", 1),
      random_seed=kwargs.pop("random_seed", 12345),
      shuffle_buffer_size=kwargs.pop("shuffle_buffer_size", 10000))
  output = str(tmp_path / name / "train.tfrecord")
  written = cpd.create_pretraining_data(
      kwargs.pop("input_file", CORPUS), output, TOKENIZER_ARGS, config,
      log=lambda *_: None, **kwargs)
  return output, written


def test_features_equal_the_original_spec(tmp_path):
  output, written = generate(tmp_path, "one")
  assert list(written) == [output]
  spec = tfrecord_features.feature_spec(SEQ, PRED)
  assert {k: (v.shape, v.dtype) for k, v in spec.items()} == ORIGINAL_SPEC
  records = read_records(output)
  assert len(records) == written[output] > 500
  example = tf.train.Example.FromString(records[0])
  assert set(example.features.feature) == set(ORIGINAL_SPEC)
  parsed = tf.io.parse_single_example(records[0], {
      k: tf.io.FixedLenFeature(shape, dtype)
      for k, (shape, dtype) in ORIGINAL_SPEC.items()})
  assert int(parsed["input_ids"][0]) == 2  # [CLS]


def test_original_format_record_reads_with_our_pipeline(tmp_path):
  """A record written as the original's write_instance_to_example_files."""
  def ints(v):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
  feats = collections.OrderedDict(
      input_ids=ints([2, 50, 4, 3, 60, 3] + [0] * (SEQ - 6)),
      input_mask=ints([1] * 6 + [0] * (SEQ - 6)),
      segment_ids=ints([0, 0, 0, 0, 1, 1] + [0] * (SEQ - 6)),
      token_boundary=ints([1] * 6 + [0] * (SEQ - 6)),
      masked_lm_positions=ints([2] + [0] * (PRED - 1)),
      masked_lm_ids=ints([51] + [0] * (PRED - 1)),
      masked_lm_weights=tf.train.Feature(float_list=tf.train.FloatList(
          value=[1.0] + [0.0] * (PRED - 1))),
      next_sentence_labels=ints([1]))
  path = str(tmp_path / "original.tfrecord")
  with tf.io.TFRecordWriter(path) as writer:
    writer.write(tf.train.Example(features=tf.train.Features(
        feature=feats)).SerializeToString())
  batch = next(iter(input_pipeline.pretraining_dataset(
      [path], 1, SEQ, PRED, is_training=False)))
  assert batch["input_ids"].dtype == tf.int32
  assert batch["input_ids"].shape == (1, SEQ)
  assert batch["masked_lm_ids"].numpy()[0, 0] == 51
  assert batch["next_sentence_labels"].numpy().tolist() == [[1]]


def test_training_pipeline_batches_and_shards(tmp_path):
  output, _ = generate(tmp_path, "sharded", output_shards=2)
  pattern = output + "-*"
  dataset = input_pipeline.pretraining_dataset([pattern], 8, SEQ, PRED,
                                               seed=1)
  batch = next(iter(dataset))
  assert batch["input_ids"].shape == (8, SEQ)
  assert batch["masked_lm_weights"].dtype == tf.float32
  context = tf.distribute.InputContext(num_input_pipelines=2,
                                       input_pipeline_id=1)
  sharded = input_pipeline.pretraining_dataset([pattern], 4, SEQ, PRED,
                                               input_context=context, seed=1)
  assert next(iter(sharded))["input_ids"].shape == (4, SEQ)
  with pytest.raises(ValueError, match="matches no files"):
    input_pipeline.pretraining_dataset([str(tmp_path / "none*")], 1, SEQ, PRED)


def test_masking_statistics(sample, tokenizer):
  instances, _ = sample
  mask_id = tokenizer.tokens_to_ids(["[MASK]"])[0]
  expected_predictions = 0
  kinds = collections.Counter()
  for inst in instances:
    n = len(inst.tokens)
    expected_predictions += min(PRED, max(1, round(n * 0.15)))
    positions = inst.masked_lm_positions
    assert positions == sorted(set(positions))
    assert len(positions) <= PRED
    for p, label in zip(positions, inst.masked_lm_labels):
      assert label not in ("[CLS]", "[SEP]")
      token = inst.tokens[p]
      kinds["mask" if token == "[MASK]" else
            "same" if token == label else "random"] += 1
    assert mask_id not in (0,)
  total = sum(kinds.values())
  # Whole-word spans sometimes cannot fill the budget exactly.
  assert 0.9 * expected_predictions <= total <= expected_predictions
  assert 0.77 < kinds["mask"] / total < 0.83
  assert 0.08 < kinds["same"] / total < 0.12
  assert 0.08 < kinds["random"] / total < 0.12


def test_sentence_order_labels_and_short_sequences(sample):
  instances, first_of_call = sample
  in_document = [i for i in instances if not i.b_from_other_document]
  swapped = sum(i.is_random_next for i in in_document) / len(in_document)
  assert 0.45 < swapped < 0.55
  # Single-segment chunks take B from another document: always label 1.
  assert all(i.is_random_next for i in instances if i.b_from_other_document)
  short = sum(i.target_seq_length < SEQ - 3 for i in first_of_call)
  assert 0.06 < short / len(first_of_call) < 0.14
  for inst in instances:
    assert len(inst.tokens) <= SEQ
    assert inst.tokens[0] == "[CLS]" and inst.tokens[-1] == "[SEP]"
    assert inst.tokens.count("[SEP]") == 2


def test_ngram_length_distribution():
  assert masking.ngram_probabilities(3, True) == pytest.approx(
      [6 / 11, 3 / 11, 2 / 11])
  assert masking.ngram_probabilities(3, False) == pytest.approx(
      [2 / 11, 3 / 11, 6 / 11])
  rng = random.Random(0)
  draws = collections.Counter(
      masking._choose_ngram(rng, masking.ngram_probabilities(3, True))  # pylint: disable=protected-access
      for _ in range(30000))
  for n, p in zip((1, 2, 3), (6 / 11, 3 / 11, 2 / 11)):
    assert draws[n] / 30000 == pytest.approx(p, abs=0.01)


def test_whole_words_are_masked_together(tokenizer):
  rng = random.Random(3)
  words = ["▁multi", "process", "ing", "▁is", "▁great", "▁fun", "ly"] * 6
  tokens = ["[CLS]"] + words + ["[SEP]"]
  config = masking.MaskingConfig(max_predictions_per_seq=40,
                                 masked_lm_prob=0.5)
  for _ in range(50):
    out, positions, _, boundary = masking.create_masked_lm_predictions(
        tokens, config, tokenizer.vocab_words, tokenizer.is_start_piece, rng)
    masked = set(positions)
    for p in positions:  # Continuation pieces go with their word start.
      start = p
      while not boundary[start]:
        start -= 1
      assert start in masked
    assert out[0] == "[CLS]" and out[-1] == "[SEP]"


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
  one, _ = generate(tmp_path, "w1", output_shards=3, num_workers=1)
  two, _ = generate(tmp_path, "w2", output_shards=3, num_workers=2)
  other, _ = generate(tmp_path, "seed", output_shards=3, random_seed=1)
  for shard in range(3):
    suffix = f"-{shard:05d}-of-00003"
    with open(one + suffix, "rb") as a, open(two + suffix, "rb") as b:
      assert a.read() == b.read()
    with open(one + suffix, "rb") as a, open(other + suffix, "rb") as c:
      assert a.read() != c.read()
  assert not [f for f in os.listdir(tmp_path / "w2") if ".tmp" in f]


def test_rerun_skips_complete_shards(tmp_path):
  output, written = generate(tmp_path, "resume", output_shards=2)
  assert len(written) == 2
  first = output + "-00000-of-00002"
  hidden = os.path.join(os.path.dirname(output), ".train.tfrecord")
  # Temporaries of a killed run: hidden, and as older versions named them.
  stale = [hidden + "-00001-of-00002.tmp-999-abcd0123",
           output + "-00001-of-00002.tmp-999"]
  # A run killed while writing the statistics file.
  stale_stats = [hidden + ".stats.json.tmp-999-0123abcd",
                 output + ".stats.json.tmp-999-0123abcd"]
  os.remove(output + "-00001-of-00002")
  for path in stale + stale_stats:
    with open(path, "w") as f:
      f.write("half")
  before = os.stat(first).st_mtime_ns
  _, again = generate(tmp_path, "resume", output_shards=2)
  assert list(again) == [output + "-00001-of-00002"]
  assert os.stat(first).st_mtime_ns == before
  for path in stale + stale_stats:
    assert not os.path.exists(path), path


def _peak_memory(path, tokenizer):
  config = generator.GenerationConfig(
      max_seq_length=SEQ, dupe_factor=1, document_pool_size=5,
      shuffle_buffer_size=50)
  tracemalloc.start()
  count = sum(1 for _ in generator.generate_shard_examples(
      [path], 0, 1, tokenizer, config))
  peak = tracemalloc.get_traced_memory()[1]
  tracemalloc.stop()
  return peak, count


def test_peak_memory_does_not_grow_with_corpus_size(tmp_path, tokenizer):
  with open(CORPUS, encoding="utf-8") as f:
    block = "\n".join(f.read().split("\n")[:300]) + "\n\n"
  # 2x already fills the document pool and the shuffle buffer; 8x must not
  # need more memory than that.
  small, large = tmp_path / "small.txt", tmp_path / "large.txt"
  small.write_text(block * 2, encoding="utf-8")
  large.write_text(block * 8, encoding="utf-8")
  small_peak, small_count = _peak_memory(str(small), tokenizer)
  large_peak, large_count = _peak_memory(str(large), tokenizer)
  assert large_count > 3.5 * small_count
  assert large_peak < 1.2 * small_peak


def test_bad_input(tmp_path):
  with pytest.raises(documents.InputError, match="matches no files"):
    generate(tmp_path, "none", input_file=str(tmp_path / "nothing*.txt"))
  bad = tmp_path / "bad.txt"
  bad.write_bytes(b"fine line\n\nanother\n\xff\xfe broken\n")
  with pytest.raises(documents.InputError, match=r"bad.txt:4: not valid"):
    generate(tmp_path, "bad", input_file=str(bad), output_shards=2,
             num_workers=2)
  assert not os.path.exists(tmp_path / "bad") or not os.listdir(
      tmp_path / "bad")
  empty = tmp_path / "empty.txt"
  empty.write_text("\n\n   \n\n")
  output, written = generate(tmp_path, "empty", input_file=str(empty))
  assert written == {output: 0}
  long_line = tmp_path / "long.txt"
  long_line.write_text(("word " * 2000 + "\n") * 3 + "\nshort one\n")
  output, written = generate(tmp_path, "long", input_file=str(long_line))
  for record in read_records(output):
    parsed = input_pipeline.decode_record(record, SEQ, PRED)
    assert int(tf.reduce_sum(parsed["input_mask"])) <= SEQ


@pytest.mark.parametrize("overrides, message", [
    ({"max_predictions_per_seq": 80}, "--max_predictions_per_seq=80 exceeds "
     "--max_seq_length=64"),
    ({"output_file": "{tmp}"}, "is a directory; pass a file name"),
    ({"input_file": "{tmp}/empty.txt"}, "holds no text to make examples"),
])
def test_job_refuses_settings_that_cannot_work(tmp_path, overrides, message):
  (tmp_path / "empty.txt").write_text("\n   \n\n")
  values = {"input_file": CORPUS, "output_file": str(tmp_path / "out" / "d"),
            "spm_model_file": ref.SPM_MODEL, "max_seq_length": 64,
            "max_predictions_per_seq": 10, "dupe_factor": 1}
  values.update({k: v.format(tmp=tmp_path) for k, v in overrides.items()
                 if isinstance(v, str)})
  values.update({k: v for k, v in overrides.items()
                 if not isinstance(v, str)})
  before = sorted(p.name for p in tmp_path.rglob("*"))
  with pytest.raises(UserError, match=message):
    cpd.run(DataGenerationSettings(**values), log=lambda line: None)
  # Nothing is left behind, not even an empty shard.
  after = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
  assert after == [name for name in before if name == "empty.txt"]


def test_command_line_with_flagfile(tmp_path):
  from cli_helpers import run_module  # pylint: disable=g-import-not-at-top
  small = tmp_path / "small.txt"
  with open(CORPUS, encoding="utf-8") as f:
    small.write_text("\n".join(f.read().split("\n")[:120]) + "\n")
  flagfile = tmp_path / "flags.txt"
  flagfile.write_text(
      f"--input_file={small}\n--output_file={tmp_path / 'out' / 'data'}\n"
      f"--spm_model_file={ref.SPM_MODEL}\n--max_seq_length=64\n"
      "--max_predictions_per_seq=10\n--dupe_factor=2\n--output_shards=2\n")
  result = run_module("albert_tf.create_pretraining_data",
                      f"--flagfile={flagfile}")
  assert result.returncode == 0, result.stderr
  assert "wrote" in result.stdout and "instances" in result.stdout
  shard = tmp_path / "out" / "data-00000-of-00002"
  batch = next(iter(input_pipeline.pretraining_dataset(
      [str(shard)], 2, 64, 10, is_training=False)))
  assert batch["input_ids"].shape == (2, 64)
  again = run_module("albert_tf.create_pretraining_data",
                     f"--flagfile={flagfile}")
  assert again.returncode == 0 and "skipping complete shard" in again.stdout
  missing = run_module("albert_tf.create_pretraining_data",
                       f"--input_file={tmp_path / 'no*.txt'}",
                       f"--output_file={tmp_path / 'x'}",
                       f"--spm_model_file={ref.SPM_MODEL}")
  assert missing.returncode == 1 and "matches no file" in missing.stderr
  assert "Traceback" not in missing.stderr


def test_benchmark_runs_and_outputs_match(tmp_path):
  from benchmarks import pretraining_data_benchmark as bench  # pylint: disable=g-import-not-at-top
  small = tmp_path / "small.txt"
  with open(CORPUS, encoding="utf-8") as f:
    small.write_text("\n".join(f.read().split("\n")[:80]) + "\n")
  config = generator.GenerationConfig(max_seq_length=64, dupe_factor=1)
  rate, count, digest = bench.time_run(str(small), TOKENIZER_ARGS, config,
                                       2, 1)
  assert rate > 0 and count > 0
  assert bench.time_run(str(small), TOKENIZER_ARGS, config, 2, 1)[2] == digest
  assert bench.parse_driver("beam:2") == ("beam", 2)
  for bad in ("beam", "spark:2", "local:0"):
    with pytest.raises(bench.app.UsageError, match="--drivers entry"):
      bench.parse_driver(bad)


def test_chinese_whole_word_masking():
  from albert_tf.pretraining_data import chinese_wwm  # pylint: disable=g-import-not-at-top
  tokens = ["今", "天", "我", "玩", "dot", "##a", "赵", "紧", "上", "号"]
  marked = chinese_wwm.mark_whole_words(
      tokens, ["今天", "我", "玩", "DOTA", "赵紧", "上", "号"])
  assert marked == ["今", "##天", "我", "玩", "dot", "##a", "赵", "##紧", "上",
                    "号"]
  assert [chinese_wwm.strip_marker(t) for t in marked][:2] == ["今", "天"]
  assert chinese_wwm.strip_marker("##a") == "##a"

  tokenizer = generator.LineTokenizer(vocab_file=ref.ZH_VOCAB,
                                      zh_whole_word_mask=True)
  line = "今天我玩DOTA，赵紧上号准备打排位。" * 3
  tokens = tokenizer.tokenize_line(line)
  assert "##天" in tokens and "##位" in tokens
  plain = generator.LineTokenizer(vocab_file=ref.ZH_VOCAB)
  # Ids are those of the plain characters: only masking units change.
  assert tokenizer.tokens_to_ids(tokens) == plain.tokens_to_ids(
      plain.tokenize_line(line))
  rng = random.Random(0)
  config = masking.MaskingConfig(masked_lm_prob=0.3,
                                 max_predictions_per_seq=30)
  full = ["[CLS]"] + tokens + ["[SEP]"]
  for _ in range(30):
    _, positions, labels, _ = masking.create_masked_lm_predictions(
        full, config, tokenizer.vocab_words, tokenizer.is_start_piece, rng)
    for p in positions:  # A masked word continuation implies its start.
      if full[p].startswith("##"):
        assert p - 1 in positions
    assert "[CLS]" not in labels
  with pytest.raises(ValueError, match="WordPiece"):
    generator.LineTokenizer(spm_model_file=ref.SPM_MODEL,
                            zh_whole_word_mask=True)


def _unmasked_dataset(tmp_path):
  small = tmp_path / "small.txt"
  with open(CORPUS, encoding="utf-8") as f:
    small.write_text("\n".join(f.read().split("\n")[:400]) + "\n")
  config = generator.GenerationConfig(
      max_seq_length=SEQ, dupe_factor=1,
      masking=masking.MaskingConfig(masked_lm_prob=0.0))
  output = str(tmp_path / "unmasked.tfrecord")
  cpd.create_pretraining_data(str(small), output, TOKENIZER_ARGS, config,
                              log=lambda *_: None)
  return tf.data.TFRecordDataset(output).map(
      lambda r: input_pipeline.decode_record(r, SEQ, PRED))


def test_dynamic_masking_fresh_per_epoch_same_statistics(tmp_path, tokenizer):
  from albert_tf.pretraining_data import dynamic_masking  # pylint: disable=g-import-not-at-top
  dataset = _unmasked_dataset(tmp_path)
  originals = list(dataset.as_numpy_iterator())
  assert all(o["masked_lm_weights"].sum() == 0 for o in originals)
  ids = tokenizer.tokenizer.vocab
  masker = dynamic_masking.DynamicMasker(
      masking.MaskingConfig(), len(ids), ids["[CLS]"], ids["[SEP]"],
      ids["[MASK]"], seed=5)
  epochs = list(masker.apply(dataset, epochs=2).as_numpy_iterator())
  n = len(originals)
  assert len(epochs) == 2 * n
  first, second = epochs[:n], epochs[n:]
  differing = sum(
      a["masked_lm_positions"].tolist() != b["masked_lm_positions"].tolist()
      for a, b in zip(first, second))
  assert differing > 0.9 * n
  again = list(masker.apply(dataset, epochs=1).as_numpy_iterator())
  assert all((a["input_ids"] == b["input_ids"]).all()
             for a, b in zip(again, first))
  for epoch in (first, second):
    kinds = collections.Counter()
    predicted = expected = 0
    for original, masked in zip(originals, epoch):
      length = int(original["input_mask"].sum())
      expected += min(PRED, max(1, round(length * 0.15)))
      count = int(masked["masked_lm_weights"].sum())
      predicted += count
      positions = masked["masked_lm_positions"][:count]
      assert positions.tolist() == sorted(set(positions.tolist()))
      assert (positions < length).all()
      labels = masked["masked_lm_ids"][:count]
      assert (labels == original["input_ids"][positions]).all()
      assert not set(labels.tolist()) & {ids["[CLS]"], ids["[SEP]"]}
      specials = (ids["[CLS]"], ids["[SEP]"])
      for p in positions:  # Word continuations go with their word start
        if not original["token_boundary"][p]:  # (which, as in the original,
          q = p - 1                            # may lie before a [SEP]).
          while q > 0 and original["input_ids"][q] in specials:
            q -= 1
          assert q == 0 or q in positions  # q == 0: it starts a candidate.
      new = masked["input_ids"][positions]
      kinds["mask"] += int((new == ids["[MASK]"]).sum())
      kinds["same"] += int((new == labels).sum())
    kinds["random"] = predicted - kinds["mask"] - kinds["same"]
    assert 0.9 * expected <= predicted <= expected
    assert 0.75 < kinds["mask"] / predicted < 0.85
    assert 0.06 < kinds["same"] / predicted < 0.14


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))


def _small_run_settings(tmp_path, **overrides):
  small = tmp_path / "small.txt"
  if not small.exists():
    with open(CORPUS, encoding="utf-8") as f:
      small.write_text("\n".join(f.read().split("\n")[:150]) + "\n")
  values = {"input_file": str(small),
            "output_file": str(tmp_path / "out" / "train.tfrecord"),
            "spm_model_file": ref.SPM_MODEL, "max_seq_length": 64,
            "max_predictions_per_seq": 10, "dupe_factor": 1,
            "output_shards": 2}
  values.update(overrides)
  return DataGenerationSettings(**values)


def _shard_bytes(settings):
  return {path: open(path, "rb").read()
          for path in [f"{settings.output_file}-{i:05d}-of-00002"
                       for i in range(2)]}


def test_rerun_with_other_flags_is_refused_before_writing(tmp_path):
  from cli_helpers import files_under  # pylint: disable=g-import-not-at-top
  first = _small_run_settings(tmp_path)
  cpd.run(first, log=lambda line: None)
  made = _shard_bytes(first)
  manifest = os.path.join(os.path.dirname(first.output_file),
                          ".train.tfrecord.manifest.json")
  assert os.path.exists(manifest)
  # The rerun of an interrupted run: one shard missing, other flags.
  os.remove(first.output_file + "-00001-of-00002")
  before = files_under(tmp_path)
  for overrides, flag in [({"max_seq_length": 32}, "--max_seq_length 64 "
                           "recorded, 32 now"),
                          ({"random_seed": 7}, "--random_seed"),
                          ({"masked_lm_prob": 0.2}, "--masked_lm_prob"),
                          ({"do_lower_case": False}, "--do_lower_case"),
                          ({"spm_model_file": None,
                            "vocab_file": ref.ZH_VOCAB}, "--spm_model_file")]:
    with pytest.raises(UserError, match=flag) as refused:
      cpd.run(_small_run_settings(tmp_path, **overrides),
              log=lambda line: None)
    assert "--output_file" in str(refused.value)
    assert files_under(tmp_path) == before, overrides
  # Flags that do not shape the records may change; complete shards are
  # reused and the missing one is made exactly as before.
  lines = []
  again = cpd.run(_small_run_settings(tmp_path, num_workers=2),
                  log=lines.append)
  assert list(again) == [first.output_file + "-00001-of-00002"]
  assert any("skipping complete shard" in line for line in lines)
  assert _shard_bytes(first) == made
  # --overwrite with other flags regenerates every shard for the new flags:
  # the same bytes as a fresh run with them.
  other = _small_run_settings(tmp_path, random_seed=7, overwrite=True)
  cpd.run(other, log=lambda line: None)
  fresh = _small_run_settings(
      tmp_path, random_seed=7,
      output_file=str(tmp_path / "fresh" / "train.tfrecord"))
  cpd.run(fresh, log=lambda line: None)
  regenerated = _shard_bytes(other)
  assert list(regenerated.values()) == list(_shard_bytes(fresh).values())
  assert list(regenerated.values()) != list(made.values())
  # Now the record is of the new flags: the original ones are refused.
  with pytest.raises(UserError, match="--random_seed 7 recorded, 12345 now"):
    cpd.run(first, log=lambda line: None)
  # Training on a pattern that also matches the stats and the manifest
  # reads the shards only.
  assert input_pipeline.record_files(first.output_file + "*") == sorted(
      regenerated)


def test_second_writer_of_an_output_file_is_refused(tmp_path):
  from cli_helpers import assert_refused  # pylint: disable=g-import-not-at-top
  from albert_tf.files import output_lock  # pylint: disable=g-import-not-at-top
  settings = _small_run_settings(tmp_path)
  out = os.path.dirname(settings.output_file)
  os.makedirs(out)
  args = [f"--input_file={settings.input_file}",
          f"--output_file={settings.output_file}",
          f"--spm_model_file={ref.SPM_MODEL}", "--max_seq_length=64",
          "--max_predictions_per_seq=10", "--dupe_factor=1"]
  lock_name = output_lock.lock_filename_for("train.tfrecord")
  # This process plays the first writer; the lock is beside the shards.
  with output_lock.lock_output_dir(out, command="first writer",
                                   lock_filename=lock_name):
    line = assert_refused("albert_tf.create_pretraining_data", args,
                          "--output_file", tmp_path)
  assert "first writer" in line and settings.output_file in line
  assert not os.path.exists(os.path.join(out, lock_name))


def test_only_complete_shards_match_the_output_pattern(tmp_path,
                                                       monkeypatch):
  from albert_tf.pretraining_data import shard_files  # pylint: disable=g-import-not-at-top
  settings = _small_run_settings(tmp_path)
  directory = os.path.dirname(settings.output_file)
  pattern = settings.output_file + "*"
  shards = shard_files.shard_paths(settings.output_file, 2)
  seen = []
  record = shard_files.record_shard_stats

  def record_and_look(output_file, shard_path, stats):
    # Just before a shard's rename, while its temporary is on disk: what a
    # trainer started now would read.
    record(output_file, shard_path, stats)
    seen.append((tf.io.gfile.glob(pattern), os.listdir(directory)))

  monkeypatch.setattr(shard_files, "record_shard_stats", record_and_look)
  cpd.run(settings, log=lambda line: None)
  assert len(seen) == 2
  for matched, present in seen:
    assert [name for name in present if ".tmp-" in name]
    assert set(matched) <= set(shards), matched
  # Done: the pattern matches the shards and nothing else; the stats and
  # the manifest are beside them, hidden.
  assert sorted(tf.io.gfile.glob(pattern)) == shards
  assert {".train.tfrecord.stats.json",
          ".train.tfrecord.manifest.json"} <= set(os.listdir(directory))


def test_sidecars_of_older_versions_are_read_and_moved(tmp_path):
  first = _small_run_settings(tmp_path)
  cpd.run(first, log=lambda line: None)
  made = _shard_bytes(first)
  directory = os.path.dirname(first.output_file)
  # An output of an older version, interrupted: visible sidecars, one shard
  # missing, its temporary left behind.
  for suffix in (".manifest.json", ".stats.json"):
    os.replace(os.path.join(directory, ".train.tfrecord" + suffix),
               first.output_file + suffix)
  os.remove(first.output_file + "-00001-of-00002")
  leftover = first.output_file + "-00001-of-00002.tmp-123-deadbeef"
  with open(leftover, "wb") as f:
    f.write(b"half a shard")
  # Its manifest still guards the shards it describes (moved to the hidden
  # name on the way).
  lines = []
  with pytest.raises(UserError, match="--random_seed"):
    cpd.run(_small_run_settings(tmp_path, random_seed=7), log=lines.append)
  assert any("moved" in line and ".manifest.json" in line for line in lines)
  cpd.run(first, log=lambda line: None)
  assert _shard_bytes(first) == made
  assert sorted(tf.io.gfile.glob(first.output_file + "*")) == sorted(made)
  with open(os.path.join(directory, ".train.tfrecord.stats.json")) as f:
    report = json.load(f)
  assert report["shards_without_stats"] == []
  assert sorted(report["shards"]) == [
      f"train.tfrecord-{i:05d}-of-00002" for i in range(2)]


def test_an_incomplete_shard_set_is_refused(tmp_path):
  data = tmp_path / "data"
  data.mkdir()
  for i in (0, 2):
    (data / f"train.tfrecord-{i:05d}-of-00004").write_bytes(b"")
  # What an older create_pretraining_data leaves while it writes.
  (data / "train.tfrecord-00001-of-00004.tmp-77-0123abcd").write_bytes(b"")
  (data / "train.tfrecord.stats.json").write_text("{}")
  pattern = str(data / "train.tfrecord*")
  with pytest.raises(UserError, match=r"matches 2 of the 4 shards .*"
                     r"2 missing \(.*-00001-of-00004, .*-00003-of-00004\)"):
    input_pipeline.record_files(pattern, error=UserError)
  with pytest.raises(UserError, match="2 of the 4 shards"):
    input_pipeline.record_files(
        [str(data / "train.tfrecord-*-of-00004")], error=UserError)
  # Part of a set chosen on purpose: the missing shards are not asked for.
  for chosen in ("train.tfrecord-0000[02]-of-00004",
                 "train.tfrecord-00000-of-00004",
                 "train.tfrecord-00000-of-00004,"
                 f"{data}/train.tfrecord-00002-of-00004"):
    assert input_pipeline.record_files(str(data / chosen)) == [
        str(data / "train.tfrecord-00000-of-00004")] + (
            [str(data / "train.tfrecord-00002-of-00004")]
            if "[" in chosen or "," in chosen else [])
  for i in (1, 3):
    (data / f"train.tfrecord-{i:05d}-of-00004").write_bytes(b"")
  assert len(input_pipeline.record_files(pattern)) == 4


def test_corpus_edited_in_place_is_refused_never_mixed(tmp_path):
  from cli_helpers import files_under  # pylint: disable=g-import-not-at-top
  first = _small_run_settings(tmp_path)
  cpd.run(first, log=lambda line: None)
  made = _shard_bytes(first)
  os.remove(first.output_file + "-00001-of-00002")  # Interrupted.
  # An edit that keeps the byte size (and, the second time, even the
  # modification time: a copy with cp -p).
  corpus = first.input_file
  with open(corpus, encoding="utf-8") as f:
    text = f.read()
  middle = text.index(" the ", len(text) // 2)
  for edited, keep_time in ((text[:middle] + " cat " + text[middle + 5:],
                             False),
                            (text[:middle] + " dog " + text[middle + 5:],
                             True)):
    status = os.stat(corpus)
    with open(corpus, "w", encoding="utf-8") as f:
      f.write(edited)
    if keep_time:
      os.utime(corpus, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert os.path.getsize(corpus) == status.st_size
    before = files_under(tmp_path)
    with pytest.raises(UserError, match="--input_file changed: .*small.txt: "
                       "same size") as refused:
      cpd.run(first, log=lambda line: None)
    assert "--overwrite" in str(refused.value)
    assert files_under(tmp_path) == before
  # --overwrite regenerates every shard from the text as it is now.
  cpd.run(_small_run_settings(tmp_path, overwrite=True),
          log=lambda line: None)
  fresh = _small_run_settings(
      tmp_path, output_file=str(tmp_path / "fresh" / "train.tfrecord"))
  cpd.run(fresh, log=lambda line: None)
  assert list(_shard_bytes(first).values()) == list(
      _shard_bytes(fresh).values())
  assert _shard_bytes(first) != made
