"""run_race: RACE JSON layout, blanks, a learnable task, files, errors."""

import contextlib
import io
import json
import os
import re
import shutil

import pytest

import finetuning_data
from reference_data import SPM_MODEL
from albert_tf import run_race
from albert_tf.tokenization import python_tokenizer
from albert_tf.tasks import race_data
from albert_tf.cli import flag_table
from albert_tf.tokenization.python_input_packer import Packer

# Four options: chance is 0.25.
MIN_ACCURACY = 0.4


def _values(tmp, data_dir, **overrides):
  settings = dict(
      data_dir=data_dir, output_dir=os.path.join(tmp, "out"),
      albert_config_file=finetuning_data.write_tiny_config(
          os.path.join(tmp, "albert_config.json")),
      spm_model_file=SPM_MODEL, max_seq_length=40, max_qa_length=16,
      do_train=True, do_eval=True, do_predict=True, train_batch_size=16,
      eval_batch_size=32, predict_batch_size=16, learning_rate=1e-3,
      train_step=300, warmup_step=30, save_checkpoints_steps=150,
      iterations_per_loop=150, seed=1)
  settings.update(overrides)
  return run_race.defaults(**settings)


def test_race_learns_and_writes_predictions(tmp_path):
  data_dir = finetuning_data.write_race(str(tmp_path / "data"))
  values = _values(str(tmp_path), data_dir)
  job = run_race.run(values)
  with open(os.path.join(values.output_dir, "eval_results.txt")) as f:
    accuracy = float(f.read().split("accuracy = ")[1])
  assert accuracy >= MIN_ACCURACY
  with open(os.path.join(values.output_dir, "test_predictions.tsv")) as f:
    rows = [line.split("\t") for line in f.read().splitlines()]
  assert rows[0] == ["id", "prediction", "p_A", "p_B", "p_C", "p_D"]
  assert len(rows) == 21
  for row in rows[1:]:
    assert re.fullmatch(r"test\d+\.txt-[01]", row[0]) and row[1] in "ABCD"
    assert abs(sum(float(p) for p in row[2:]) - 1.0) < 1e-4
    assert row[1] == "ABCD"[max(range(4), key=lambda i: float(row[2 + i]))]
  with open(os.path.join(values.output_dir, "eval_predictions.tsv")) as f:
    assert len(f.read().splitlines()) == 81
  assert job.trainer.best_metrics()["metric"] == "accuracy"


def test_blank_is_filled_by_the_option():
  assert race_data.question_with_option("the box is _ .", "red") == (
      "the box is red .")
  assert race_data.question_with_option("what color?", "red") == (
      "what color? red")
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=SPM_MODEL)
  packer = Packer(tokenizer, 24)
  example = race_data.RaceExample("x", "the box is red . " * 10,
                                  "the box is _ .",
                                  ["red", "blue", "dog", "cat"], 0)
  feature = race_data.encode(example, packer, max_qa_length=4)
  assert feature["input_word_ids"].shape == (4, 24)
  for type_ids, option in zip(feature["input_type_ids"], example.options):
    qa = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(
        f"the box is {option} ."))[-4:]
    # Second segment: the last 4 pieces of the filled question, and [SEP].
    assert type_ids.sum() == len(qa) + 1
  sep = tokenizer.vocab["[SEP]"]
  first = feature["input_word_ids"][0].tolist()
  end = first.index(sep, first.index(sep) + 1)
  expected_qa = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(
      "the box is red ."))[-4:]
  assert first[end - 4:end] == expected_qa


def _error(values):
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr):
    assert flag_table.run_job(lambda: run_race.run(values)) == 1
  return stderr.getvalue()


GOOD = {"id": "a.txt", "article": "the box is red .",
        "questions": ["the box is _ ."], "options": [["red", "b", "c", "d"]],
        "answers": ["A"]}


@pytest.mark.parametrize("content, message", [
    ('{"article": "x",\n "questions": [}', r"1.txt:2: malformed JSON"),
    (json.dumps(dict(GOOD, answers=["E"])), r"1.txt: question 0: answer 'E' "
     "is not one of A, B, C, D"),
    (json.dumps(dict(GOOD, options=[["a", "b"]])), r"1.txt: question 0: "
     r"expected 4 options"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "article"}),
     r"1.txt: missing key 'article'"),
    (json.dumps(dict(GOOD, answers=["A", "B"])), r"1 questions but 1 option "
     r"lists and 2 answers"),
    ("", r"1.txt: input file is empty"),
])
def test_bad_json_is_reported_with_file_and_line(tmp_path, content, message):
  directory = tmp_path / "data" / "train" / "high"
  directory.mkdir(parents=True)
  (directory / "1.txt").write_text(content)
  error = _error(_values(str(tmp_path), str(tmp_path / "data"), train_step=2,
                         warmup_step=0, do_eval=False, do_predict=False))
  assert error.startswith("error: ") and re.search(message, error), error


def test_missing_split_directory(tmp_path):
  (tmp_path / "data").mkdir()
  error = _error(_values(str(tmp_path), str(tmp_path / "data"), train_step=2,
                         warmup_step=0))
  assert re.search(r"data/train: train directory not found", error), error


@pytest.mark.parametrize("missing, flags", [
    ("dev", dict(do_predict=False)), ("test", dict(do_eval=False))])
def test_missing_dev_or_test_directory_is_reported_before_training(
    tmp_path, missing, flags):
  data_dir = finetuning_data.write_race(str(tmp_path / "data"), (16, 4, 4))
  shutil.rmtree(os.path.join(data_dir, missing))
  error = _error(_values(str(tmp_path), data_dir, train_step=2,
                         warmup_step=0, **flags))
  path = os.path.join(data_dir, missing)
  assert error == f"error: {path}: {missing} directory not found\n"
  assert not (tmp_path / "out").exists()  # Nothing written, no training.


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
