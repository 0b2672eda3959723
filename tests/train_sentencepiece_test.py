"""python -m albert_tf.train_sentencepiece on a small English corpus."""

import os
import re
import shutil

from absl import flags
import pytest
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2

from albert_tf.tokenization import python_tokenizer
from albert_tf.tokenization import sentencepiece_training as tsp
from cli_helpers import run_module
import reference_data as ref

MODULE = "albert_tf.train_sentencepiece"
STDLIB_DOCS = os.path.join(ref.REFERENCE_DIR, "tokenization",
                           "stdlib_docs.txt")
# Enough text for a real model, little enough to train in about a second.
CORPUS_LINES = 3000
VOCAB_SIZE = 400
USER_SYMBOLS = ["(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac"]
PIECE_TYPE = sentencepiece_model_pb2.ModelProto.SentencePiece


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  """The first CORPUS_LINES lines of the stdlib docs, blank lines included."""
  with open(STDLIB_DOCS, encoding="utf-8") as f:
    lines = [next(f) for _ in range(CORPUS_LINES)]
  path = tmp_path_factory.mktemp("corpus") / "docs.txt"
  path.write_text("".join(lines), encoding="utf-8")
  return path


def _train(corpus_glob, prefix, *extra, vocab_size=VOCAB_SIZE):
  return run_module(MODULE, f"--input={corpus_glob}",
                    f"--model_prefix={prefix}", f"--vocab_size={vocab_size}",
                    *extra)


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
  """An uncased model trained once for the tests that only inspect it."""
  prefix = tmp_path_factory.mktemp("uncased") / "spm"
  result = _train(corpus, prefix, "--do_lower_case=true")
  assert result.returncode == 0, result.stderr
  return prefix, result


def _processor(prefix):
  return spm.SentencePieceProcessor(model_file=f"{prefix}.model")


def _model_proto(prefix):
  proto = sentencepiece_model_pb2.ModelProto()
  with open(f"{prefix}.model", "rb") as f:
    proto.ParseFromString(f.read())
  return proto


def _vocab_pieces(prefix):
  with open(f"{prefix}.vocab", encoding="utf-8") as f:
    return [line.split("\t")[0] for line in f]


def _assert_failed_cleanly(result, out_dir, expected_files=()):
  """Exit 1 with a message, no traceback, nothing new left in out_dir."""
  assert result.returncode == 1, result.stdout + result.stderr
  assert "Traceback" not in result.stderr
  assert sorted(os.listdir(out_dir)) == sorted(expected_files)


def test_special_pieces_layout(trained):
  prefix, _ = trained
  sp_model = _processor(prefix)
  assert sp_model.GetPieceSize() == VOCAB_SIZE
  assert [sp_model.IdToPiece(i) for i in range(13)] == [
      "<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"] + USER_SYMBOLS
  assert sp_model.pad_id() == 0 and sp_model.unk_id() == 1
  assert sp_model.bos_id() == -1 and sp_model.eos_id() == -1
  assert sp_model.IsUnknown(1)
  assert all(sp_model.IsControl(i) for i in (2, 3, 4))
  assert not any(sp_model.IsControl(i) for i in range(5, VOCAB_SIZE))
  types = [p.type for p in _model_proto(prefix).pieces]
  assert types[5:13] == [PIECE_TYPE.USER_DEFINED] * 8
  for symbol_id, symbol in enumerate(USER_SYMBOLS, start=5):
    # A user-defined symbol is never merged with its neighbours.
    pieces = sp_model.encode(f"ab{symbol}cd", out_type=str)
    assert symbol in pieces
    assert sp_model.PieceToId(symbol) == symbol_id


def test_model_records_its_prefix_not_the_temporary_one(trained):
  prefix, _ = trained
  spec = _model_proto(prefix).trainer_spec
  # The file name only, like the released models ("30k-clean").
  assert spec.model_prefix == "spm"
  assert spec.model_type == sentencepiece_model_pb2.TrainerSpec.UNIGRAM
  assert spec.character_coverage == pytest.approx(0.99995)


def test_works_with_full_tokenizer(trained):
  prefix, _ = trained
  tokenizer = python_tokenizer.FullTokenizer(vocab_file=None,
                                         spm_model_file=f"{prefix}.model")
  text = python_tokenizer.preprocess_text(
      "The json module (see PEP 8) costs \u00a35 \u2013 or \u20ac4.",
      lower=True)
  tokens = tokenizer.tokenize(text)
  ids = tokenizer.convert_tokens_to_ids(tokens)
  assert len(ids) > 5
  assert all(0 <= i < VOCAB_SIZE for i in ids)
  assert tokenizer.convert_ids_to_tokens(ids) == tokens
  for symbol, symbol_id in (("(", 5), ("\u2013", 10), ("\u20ac", 12)):
    assert symbol in tokens and tokenizer.vocab[symbol] == symbol_id


def test_lowercased_model_has_no_uppercase(trained):
  prefix, _ = trained
  learned = _vocab_pieces(prefix)[13:]
  assert len(learned) == VOCAB_SIZE - 13
  assert not [p for p in learned if any(c.isupper() for c in p)]
  # No uppercase character was seen, so each one is unknown.
  assert 1 in _processor(prefix).encode("HELLO")
  assert 1 not in _processor(prefix).encode("hello")


def test_reports_counts_and_coverage(trained, corpus):
  _, result = trained
  with open(corpus, encoding="utf-8") as f:
    num_lines = sum(1 for line in f if line.strip())
  assert f"read {num_lines:,} lines" in result.stdout
  match = re.search(
      r"coverage on all ([\d,]+) lines: unknown-character rate ([\d.]+)% "
      r"\(([\d,]+) of ([\d,]+) non-space chars\); ([\d.]+) pieces per word; "
      r"([\d.]+) pieces per line", result.stdout)
  assert match, result.stdout
  assert int(match[1].replace(",", "")) == num_lines
  unknown = int(match[3].replace(",", ""))
  chars = int(match[4].replace(",", ""))
  assert chars > 300_000 and unknown < chars * 0.001
  assert float(match[2]) == pytest.approx(100 * unknown / chars, abs=1e-4)
  assert 1.0 < float(match[5]) < 5.0
  # sentencepiece's own INFO log is kept out of the way.
  assert "LOG(INFO)" not in result.stderr
  assert "trainer_interface" not in result.stderr


def test_same_input_gives_identical_model_with_overwrite(trained, corpus,
                                                         tmp_path):
  old_prefix, _ = trained
  # Stale outputs that --overwrite must replace: only a rewrite can turn
  # them into the first run's bytes.
  (tmp_path / "spm.model").write_bytes(b"stale")
  (tmp_path / "spm.vocab").write_bytes(b"stale")
  result = _train(corpus, tmp_path / "spm", "--do_lower_case=true",
                  "--overwrite")
  assert result.returncode == 0, result.stderr
  for suffix in (".model", ".vocab"):
    with open(f"{old_prefix}{suffix}", "rb") as f:
      assert (tmp_path / f"spm{suffix}").read_bytes() == f.read(), suffix
  assert sorted(os.listdir(tmp_path)) == ["spm.model", "spm.vocab"]


def test_refuses_to_overwrite(trained, corpus, tmp_path):
  old_prefix, _ = trained
  shutil.copy(f"{old_prefix}.model", tmp_path / "spm.model")
  before = (tmp_path / "spm.model").read_bytes()
  result = _train(corpus, tmp_path / "spm", vocab_size=300)
  _assert_failed_cleanly(result, tmp_path, ["spm.model"])
  assert "spm.model exists" in result.stderr
  assert "--overwrite" in result.stderr
  assert (tmp_path / "spm.model").read_bytes() == before


def test_glob_matching_nothing(corpus, tmp_path):
  pattern = str(tmp_path / "missing-*.txt")
  result = _train(f"{corpus},{pattern}", tmp_path / "spm")
  _assert_failed_cleanly(result, tmp_path)
  assert pattern in result.stderr and "matches no files" in result.stderr


def test_vocab_size_too_small(corpus, tmp_path):
  result = _train(corpus, tmp_path / "spm", vocab_size=13)
  _assert_failed_cleanly(result, tmp_path)
  assert "--vocab_size=13 must be greater than 13" in result.stderr


def test_non_utf8_line_is_an_error(corpus, tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  shutil.copy(corpus, data_dir / "a.txt")
  bad = data_dir / "b.txt"
  bad.write_bytes(b"fine line\n\nLatin-1 caf\xe9 here\nmore\n")
  out_dir = tmp_path / "out"
  out_dir.mkdir()
  result = _train(data_dir / "*.txt", out_dir / "spm")
  # The error surfaces while sentencepiece reads, after the temporary
  # directory exists: it must be gone too.
  _assert_failed_cleanly(result, out_dir)
  assert f"{bad}:3: not valid UTF-8" in result.stderr


# In-process tests: no TensorFlow start-up per case.


def test_import_defines_no_flags():
  # Other entry points define --input too; both are imported by the tests.
  assert "coverage_lines" not in flags.FLAGS
  assert "model_prefix" not in flags.FLAGS


def test_training_failure_leaves_nothing(corpus, tmp_path):
  # sentencepiece itself fails, after reading: too few pieces in the corpus.
  with pytest.raises(tsp.TrainError,
                     match=r"--vocab_size 100000 is more pieces than this "
                     r"corpus yields \(at most \d+\)"):
    tsp.run([str(corpus)], str(tmp_path / "spm"), 100_000,
            log=lambda message: None)
  assert not os.listdir(tmp_path)


def test_cased_model_keeps_uppercase(corpus, tmp_path):
  messages = []
  coverage = tsp.run([str(corpus)], str(tmp_path / "spm"), 300,
                     do_lower_case=False, coverage_lines=100,
                     log=messages.append)
  assert sorted(os.listdir(tmp_path)) == ["spm.model", "spm.vocab"]
  assert any(any(c.isupper() for c in p)
             for p in _vocab_pieces(tmp_path / "spm")[13:])
  assert coverage.num_lines == 100
  assert messages[-1].startswith("coverage on the first 100 of ")


def test_corpus_preprocesses_and_skips(tmp_path):
  path = tmp_path / "in.txt"
  # A byte-order mark, extra spaces, blank lines, accents, a long line.
  path.write_bytes(b"\xef\xbb\xbfFirst   Line\n\n   \n"
                   b"Caf\xc3\xa9 \xc3\x9cber\n" + b"x" * 50 + b"\n")
  messages = []
  corpus = tsp.Corpus([str(path)], lower=True, max_sentence_length=40,
                      keep_head=1, log=messages.append)
  assert list(corpus.lines()) == ["first line", "cafe uber"]
  assert corpus.num_lines == 2
  assert corpus.num_blank == 2
  assert corpus.num_too_long == 1
  assert corpus.num_chars == len("first line") + len("cafe uber")
  assert corpus.head == ["first line"]
  assert "read 2 lines (19 characters)" in messages[0]


def test_corpus_names_file_and_line_of_bad_utf8(tmp_path):
  path = tmp_path / "bad.txt"
  path.write_bytes(b"ok\n\xff\xfe\n")
  corpus = tsp.Corpus([str(path)], lower=False, max_sentence_length=4192)
  with pytest.raises(tsp.TrainError, match=r"bad\.txt:2: not valid UTF-8"):
    list(corpus.lines())


def test_sample_lines_is_reproducible_and_ordered():
  lines = [f"line {i}" for i in range(1000)]
  sample = list(tsp.sample_lines(iter(lines), 50, seed=1))
  assert len(sample) == 50 and len(set(sample)) == 50
  assert sample == sorted(sample, key=lines.index)
  assert sample == list(tsp.sample_lines(iter(lines), 50, seed=1))
  assert sample != list(tsp.sample_lines(iter(lines), 50, seed=2))
  assert list(tsp.sample_lines(iter(lines), 0, seed=1)) == lines
  assert list(tsp.sample_lines(iter(lines), 5000, seed=1)) == lines


def test_sample_is_uniform_over_many_files_in_one_pass(tmp_path):
  """Every line of every file is equally likely to be in the sample, and
  the files are read once each, as a stream (the reservoir holds only the
  sample)."""
  paths = []
  for part, size in enumerate((50, 150, 100)):
    path = tmp_path / f"part-{part}.txt"
    path.write_text("".join(f"file {part} line {i}\n" for i in range(size)))
    paths.append(str(path))
  opened = []
  real_open = tsp._open_binary  # pylint: disable=protected-access

  def counting_open(path):
    opened.append(path)
    return real_open(path)

  corpus = tsp.Corpus(paths, lower=False, max_sentence_length=4192)
  tsp._open_binary = counting_open  # pylint: disable=protected-access
  try:
    stream = corpus.lines()
    first = list(tsp.sample_lines(stream, 30, seed=0))
  finally:
    tsp._open_binary = real_open  # pylint: disable=protected-access
  assert opened == paths and len(first) == 30
  lines = [f"file {p} line {i}" for p, n in enumerate((50, 150, 100))
           for i in range(n)]
  counts = dict.fromkeys(lines, 0)
  draws = 2000
  for seed in range(draws):
    for line in tsp.sample_lines(iter(lines), 30, seed=seed):
      counts[line] += 1
  # Each of 300 lines is drawn with p = 30/300: 200 of 2,000 expected,
  # standard deviation 13.4; 5 deviations either way.
  assert 133 < min(counts.values()) and max(counts.values()) < 267
  for part, size in enumerate((50, 150, 100)):
    share = sum(c for line, c in counts.items()
                if line.startswith(f"file {part} ")) / (30 * draws)
    assert share == pytest.approx(size / 300, abs=0.01)


def test_measure_coverage_counts_unknown_characters(trained):
  prefix, _ = trained
  # The CJK characters are not in the English corpus.
  coverage = tsp.measure_coverage(_processor(prefix),
                                  ["hello \u6f22\u5b57 world", "the json"])
  assert coverage.num_lines == 2
  assert coverage.num_words == 5
  assert coverage.num_chars == len("hello\u6f22\u5b57worldthejson")
  assert coverage.num_unknown_chars == 2
  assert coverage.num_pieces >= 5
  assert "(2 of 19 non-space chars)" in coverage.describe(total_lines=2)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
