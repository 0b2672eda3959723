"""run_token_classification: CoNLL and text,entity CSV, spans, errors."""

import contextlib
import csv
import dataclasses
import io
import os
import re
import shutil

import pytest

import finetuning_data
from cli_helpers import run_module
from reference_data import SPM_MODEL
from albert_tf import run_token_classification
from albert_tf.tokenization import python_tokenizer
from albert_tf.cli import flag_table
from albert_tf.tasks import token_data
from albert_tf.tokenization.python_input_packer import Packer
from albert_tf.tasks.input_files import InputFormatError

# Span F1 of a tagger that tags nothing is 0; these tasks are learnable.
MIN_SPAN_F1 = 0.9


def _values(tmp, data_dir, **overrides):
  settings = dict(
      data_dir=data_dir, output_dir=os.path.join(tmp, "out"),
      albert_config_file=finetuning_data.write_tiny_config(
          os.path.join(tmp, "albert_config.json")),
      spm_model_file=SPM_MODEL, max_seq_length=32, do_train=True,
      do_eval=True, do_predict=True, train_batch_size=16, eval_batch_size=32,
      predict_batch_size=16, learning_rate=1e-3, train_step=200,
      warmup_step=20, save_checkpoints_steps=100, iterations_per_loop=100,
      seed=1)
  settings.update(overrides)
  return run_token_classification.defaults(**settings)


def _run(values):
  stdout = io.StringIO()
  with contextlib.redirect_stdout(stdout):
    job = run_token_classification.run(values)
  return job, stdout.getvalue()


@pytest.fixture(scope="module")
def dishes(tmp_path_factory):
  tmp = str(tmp_path_factory.mktemp("dishes"))
  values = _values(tmp, finetuning_data.write_dish_csv(
      os.path.join(tmp, "data")), entity_type="DISH")
  job, stdout = _run(values)
  return values, job, stdout


def test_dish_csv_learns_and_prints_spans(dishes):
  values, job, stdout = dishes
  assert job.task.label_list == ["O", "B-DISH", "I-DISH"]
  assert job.evaluate()["f1"] >= MIN_SPAN_F1
  printed = [line for line in stdout.splitlines() if "\t=> " in line]
  assert len(printed) == 10
  found = 0
  for line in printed:
    text, spans = line.split("\t=> ")
    dish = next(d for d in finetuning_data._DISHES if d in text)
    found += spans == f"[DISH] {dish}"
  assert found >= 9, stdout


def test_dish_prediction_files_are_well_formed(dishes):
  values, _, _ = dishes
  with open(os.path.join(values.output_dir, "test_spans.tsv")) as f:
    rows = [line.split("\t") for line in f.read().splitlines()]
  assert rows[0] == ["source", "text", "spans"]
  assert len(rows) == 11 and all(len(r) == 3 for r in rows)
  assert all(r[0].endswith(f"test.csv:{n + 2}") for n, r in enumerate(rows[1:]))
  with open(os.path.join(values.output_dir, "test_predictions.txt")) as f:
    blocks = f.read().strip().split("\n\n")
  assert len(blocks) == 10
  for block in blocks:
    for line in block.splitlines():
      word, tag = line.split("\t")
      assert tag in ("O", "B-DISH", "I-DISH") and word
  with open(os.path.join(values.output_dir, "eval_results.txt")) as f:
    assert {l.split(" = ")[0] for l in f.read().splitlines()} == {
        "f1", "precision", "recall"}


def test_conll_two_types_learns(tmp_path):
  values = _values(str(tmp_path), finetuning_data.write_conll(
      str(tmp_path / "data")))
  job, stdout = _run(values)
  assert job.task.label_list == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  assert job.evaluate()["f1"] >= MIN_SPAN_F1
  assert re.search(r"\t=> \[PER\] \w+.* \| \[LOC\] \w+", stdout), stdout


def test_csv_columns_named_by_flags(tmp_path):
  data_dir = finetuning_data.write_dish_csv(
      str(tmp_path / "data"), (24, 6, 4), columns=("review", "dish_name"))
  values = _values(str(tmp_path), data_dir, train_step=2, warmup_step=0,
                   save_checkpoints_steps=2, iterations_per_loop=2)
  # The default columns are not there: the error names the flag to pass.
  assert "pass --text_column" in _error(values)
  assert "pass --entity_column" in _error(_values(
      str(tmp_path), data_dir, text_column="review"))
  result = run_module(
      "albert_tf.run_token_classification", f"--data_dir={data_dir}",
      f"--output_dir={tmp_path / 'cli'}",
      f"--albert_config_file={values.albert_config_file}",
      f"--spm_model_file={SPM_MODEL}", "--max_seq_length=32",
      "--text_column=review", "--entity_column=dish_name",
      "--entity_type=DISH", "--do_train", "--do_predict", "--train_step=2",
      "--save_checkpoints_steps=2", "--iterations_per_loop=2",
      "--train_batch_size=8")
  assert result.returncode == 0, result.stderr[-3000:]
  assert (tmp_path / "cli" / "label_list.txt").read_text().split() == [
      "O", "B-DISH", "I-DISH"]
  rows = (tmp_path / "cli" / "test_spans.tsv").read_text().splitlines()
  assert len(rows) == 1 + 4 and all(r.split("\t")[0].endswith(
      f"test.csv:{n + 2}") for n, r in enumerate(rows[1:]))


def test_entity_tags_on_words():
  words, offsets, tags = token_data.entity_tags(
      "Their Pad Thai, and pad thai again; not steak.", ["pad thai", "tea"][:1],
      "DISH")
  assert words == ["Their", "Pad", "Thai", ",", "and", "pad", "thai",
                   "again", ";", "not", "steak", "."]
  # Case-sensitive whole-word occurrences win; the capitalised one is not
  # tagged because an exact occurrence exists.
  assert tags == ["O", "O", "O", "O", "O", "B-DISH", "I-DISH", "O", "O", "O",
                  "O", "O"]
  _, _, tags = token_data.entity_tags("Their Pad Thai.", ["pad thai"], "D")
  assert tags == ["O", "B-D", "I-D", "O"]
  assert offsets[1] == (6, 9)


def test_words_are_preprocessed_like_the_export_tokenizer():
  # The serving export lowercases in the graph (do_lower_case): training
  # ids must not depend on the case either, nor on accents.
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)
  assert token_data.word_pieces(tokenizer, ["Pad", "THAI", "Café"]) == (
      token_data.word_pieces(tokenizer, ["pad", "thai", "cafe"]))
  cased = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL,
                                     do_lower_case=False)
  assert token_data.word_pieces(cased, ["THAI"]) != (
      token_data.word_pieces(cased, ["thai"]))


def test_labels_go_on_first_word_pieces():
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)
  packer = Packer(tokenizer, 16)
  sentence = token_data.Sentence(["unbelievably", "good", "ramen"],
                                 ["O", "B-X", "I-X"])
  pieces = token_data.word_pieces(tokenizer, sentence.words)
  assert len(pieces[0]) > 1  # Several pieces: only the first is labelled.
  ((feature, first),) = token_data.encode(sentence, pieces, packer,
                                          {"O": 0, "B-X": 1, "I-X": 2})
  labels = feature["label_ids"].tolist()
  assert first[0] == 1 and labels[0] == -1  # [CLS] ignored.
  assert labels[1] == 0 and labels[2:1 + len(pieces[0])] == [-1] * (
      len(pieces[0]) - 1)
  assert labels[first[1]] == 1 and labels[first[2]] == 2
  n = sum(len(p) for p in pieces)
  assert labels[n + 1:] == [-1] * (16 - n - 1)  # [SEP] and padding.
  assert token_data.word_tags([0] * 16, first, ["O", "B-X", "I-X"]) == [
      "O"] * 3
  # Words past max_seq_length go to further chunks, each word to one.
  small = Packer(tokenizer, len(pieces[0]) + 3)
  chunks = token_data.encode(sentence, pieces, small,
                             {"O": 0, "B-X": 1, "I-X": 2})
  second = 1 + len(pieces[1])
  assert [first for _, first in chunks] == [[1], [1, second]]
  labels = chunks[1][0]["label_ids"].tolist()
  assert labels[0] == -1 and labels[1] == 1 and labels[second] == 2


def test_chunks_cover_every_word_once_in_order():
  sizes = [3, 1, 0, 2, 9, 1, 1, 4, 2, 0, 5]
  pieces = [[7] * n for n in sizes]
  for budget in (1, 2, 4, 6, 30):
    bounds = token_data.chunk_bounds(pieces, budget)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(pieces)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    for start, end in bounds:
      assert end > start
      # Only a word longer than a chunk (cut to its first pieces) is alone.
      assert sum(min(n, budget) for n in sizes[start:end]) <= budget
  assert token_data.chunk_bounds(pieces, 30) == [(0, len(pieces))]
  # Budget 1: one word per chunk (words without pieces join the previous).
  assert token_data.chunk_bounds(pieces, 1) == [
      (0, 1), (1, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 10),
      (10, 11)]


def test_sentences_longer_than_the_limit_get_every_word_tagged(dishes,
                                                               tmp_path):
  values, _, _ = dishes
  data_dir, output_dir = tmp_path / "data", tmp_path / "out"
  shutil.copytree(values.data_dir, data_dir)
  shutil.copytree(values.output_dir, output_dir)  # The fine-tuned model.
  # Three reviews in one sentence: about 3x --max_seq_length=32 pieces.
  reviews = ["i loved the ramen here .", "the miso soup was cold , sadly",
             "we ordered beef burger and wine", "never try the pad thai , "
             "trust me", "their caesar salad is the best in town !"]
  long_text = " ".join(reviews)
  with open(data_dir / "test.csv", "w", newline="") as f:
    csv.writer(f).writerows([["text"], [long_text], ["i ate ramen"]])
  _run(dataclasses.replace(values, data_dir=str(data_dir),
                           output_dir=str(output_dir), do_train=False,
                           do_eval=False))
  with open(output_dir / "test_predictions.txt") as f:
    blocks = [[line.split("\t") for line in block.splitlines()]
              for block in f.read().strip().split("\n\n")]
  words = token_data.split_words(long_text)[0]
  assert len(words) > 30
  assert [w for w, _ in blocks[0]] == words and len(blocks) == 2
  # The dishes of the later parts are tagged too (before, every word past
  # the limit was O), the last one certainly past the first part.
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)
  assert sum(map(len, token_data.word_pieces(tokenizer, words))) > 2 * 30
  tags = dict(blocks[0])
  for word in ("miso", "soup", "beef", "burger", "caesar", "salad"):
    assert tags[word] != "O", blocks[0]


def _error(values):
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr):
    assert flag_table.run_job(lambda: run_token_classification.run(values)) == 1
  return stderr.getvalue()


@pytest.mark.parametrize("name, content, message", [
    ("train.csv", "text,entity\ni ate ramen,ramen\ni ate soup,pizza\n",
     r"train.csv:3: entity 'pizza' not found in the text 'i ate soup'"),
    ("train.csv", "text,entity\n", r"train.csv: file has a header but no "
     "examples"),
    ("train.csv", "text,entity\ni ate ramen,ramen\n \t,ramen\n",
     r"train.csv:3: the `text` column is empty; every row needs a sentence"),
    ("train.txt", "john B-PER\nleft\n", r"train.txt:2: expected `token "
     r"\[other columns\] tag`"),
    ("train.txt", "john PER\n", r"train.txt:1: tag 'PER' is not O, B-<type>"),
    ("train.txt", "", r"train.txt: input file is empty"),
    ("train.txt", "-DOCSTART- O\n\n", r"train.txt: no sentences"),
])
def test_bad_input_is_reported_with_file_and_line(tmp_path, name, content,
                                                  message):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  (data_dir / name).write_text(content)
  error = _error(_values(str(tmp_path), str(data_dir), train_step=2,
                         warmup_step=0, do_eval=False, do_predict=False))
  assert error.startswith("error: ") and re.search(message, error), error


def test_dev_tag_outside_the_training_labels(tmp_path):
  data_dir = finetuning_data.write_conll(str(tmp_path / "data"), (20, 5, 2))
  with open(os.path.join(data_dir, "dev.txt"), "a") as f:
    f.write("\nacme B-ORG\n")
  error = _error(_values(str(tmp_path), data_dir, train_step=2,
                         warmup_step=0, do_predict=False))
  assert re.search(r"dev.txt:\d+: tag 'B-ORG' is not in the label set", error)


@pytest.mark.parametrize("missing, flags", [
    ("dev", dict(do_predict=False)), ("test", dict(do_eval=False))])
def test_missing_dev_or_test_file_is_reported_before_training(
    tmp_path, missing, flags):
  data_dir = finetuning_data.write_conll(str(tmp_path / "data"), (20, 5, 2))
  os.remove(os.path.join(data_dir, f"{missing}.txt"))
  error = _error(_values(str(tmp_path), data_dir, train_step=2,
                         warmup_step=0, **flags))
  assert error.startswith(f"error: {os.path.join(data_dir, missing)}.txt: "
                          f"{missing} file not found"), error
  assert not (tmp_path / "out").exists()  # Nothing written, no training.


def test_conll_test_file_without_tags_is_fine(tmp_path):
  path = tmp_path / "test.txt"
  path.write_text("john\nleft\n\nmary\n")
  sentences = token_data.read_conll(str(path), require_tags=False)
  assert [s.words for s in sentences] == [["john", "left"], ["mary"]]
  assert sentences[0].tags is None
  with pytest.raises(InputFormatError, match="test.txt:2"):
    path.write_text("john O\nleft\n")
    token_data.read_conll(str(path), require_tags=False)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
