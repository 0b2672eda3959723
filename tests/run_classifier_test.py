"""run_classifier: GLUE layouts, learnable synthetic tasks, files, errors."""

import json
import os

import numpy as np
import pytest

import finetuning_data
from cli_helpers import run_module
from reference_data import SPM_MODEL
from albert_tf import run_classifier
from albert_tf.tasks import classifier_data
from albert_tf.cli import flag_table
from albert_tf.tasks import runner
from albert_tf.tasks.input_files import InputFormatError

# Chance is 0.5 for the balanced binary task and 1/3 for the 3-label one.
SST2_MIN_ACCURACY = 0.9
CSV_MIN_ACCURACY = 0.55
STSB_MIN_PEARSON = 0.6  # Chance is 0.


def _values(tmp, data_dir, output_dir, **overrides):
  settings = dict(
      data_dir=data_dir, output_dir=output_dir,
      albert_config_file=finetuning_data.write_tiny_config(
          os.path.join(tmp, "albert_config.json")),
      spm_model_file=SPM_MODEL, max_seq_length=32, do_train=True,
      do_eval=True, do_predict=True, train_batch_size=16, eval_batch_size=32,
      predict_batch_size=16, learning_rate=1e-3, train_step=200,
      warmup_step=20, save_checkpoints_steps=100, iterations_per_loop=100,
      seed=1)
  settings.update(overrides)
  return run_classifier.defaults(**settings)


@pytest.fixture(scope="module")
def sst2(tmp_path_factory):
  tmp = str(tmp_path_factory.mktemp("sst2"))
  data_dir = finetuning_data.write_sst2(os.path.join(tmp, "data"))
  values = _values(tmp, data_dir, os.path.join(tmp, "out"),
                   task_name="sst-2")
  job = run_classifier.run(values)
  return values, job


def test_sst2_learns(sst2):
  values, _ = sst2
  with open(os.path.join(values.output_dir, "eval_results.txt")) as f:
    results = dict(line.strip().split(" = ") for line in f)
  assert float(results["accuracy"]) >= SST2_MIN_ACCURACY
  with open(os.path.join(values.output_dir, "best", "best_metrics.json")) as f:
    best = json.load(f)
  assert best["metric"] == "accuracy"
  assert best["metrics"]["accuracy"] == pytest.approx(
      float(results["accuracy"]))


def test_sst2_prediction_files_are_well_formed(sst2):
  values, _ = sst2
  with open(os.path.join(values.data_dir, "test.tsv")) as f:
    test_ids = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
  with open(os.path.join(values.output_dir, "test_results.tsv")) as f:
    probabilities = np.array([[float(x) for x in line.split("\t")]
                              for line in f.read().splitlines()])
  assert probabilities.shape == (len(test_ids), 2)
  np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
  with open(os.path.join(values.output_dir, "submit_results.tsv")) as f:
    rows = [line.split("\t") for line in f.read().splitlines()]
  assert rows[0] == ["index", "prediction"]
  assert [r[0] for r in rows[1:]] == test_ids
  assert {r[1] for r in rows[1:]} <= {"0", "1"}
  assert [r[1] for r in rows[1:]] == [str(i) for i in
                                      probabilities.argmax(1)]
  # Predictions follow the sentiment words the data was made from.
  with open(os.path.join(values.data_dir, "test.tsv")) as f:
    sentences = [line.split("\t")[1] for line in f.read().splitlines()[1:]]
  expected = ["1" if set(s.split()) & set(finetuning_data._POSITIVE) else "0"
              for s in sentences]
  agreement = np.mean([r[1] == e for r, e in zip(rows[1:], expected)])
  assert agreement >= SST2_MIN_ACCURACY
  with open(os.path.join(values.output_dir, "eval_predictions.tsv")) as f:
    assert len(f.read().splitlines()) == 1 + 100


def test_training_resumes_from_output_dir(sst2, tmp_path):
  values, _ = sst2
  job = runner.FinetuningJob(run_classifier.TASK, run_classifier.defaults(
      **dict(vars(values), train_step=220, do_eval=False, do_predict=False)))
  message = job.trainer.restore_or_initialize(None)
  assert "resumed" in message and job.trainer.global_step == 200
  job.train()
  assert job.trainer.global_step == 220


def test_stsb_regression_learns(tmp_path):
  data_dir = finetuning_data.write_stsb(str(tmp_path / "data"))
  values = _values(str(tmp_path), data_dir, str(tmp_path / "out"),
                   task_name="sts-b", do_predict=True)
  job = run_classifier.run(values)
  results = job.evaluate()
  assert results["pearson"] >= STSB_MIN_PEARSON, results
  assert results["spearman"] > 0.5
  with open(os.path.join(values.output_dir, "test_results.tsv")) as f:
    scores = [float(line) for line in f.read().splitlines()]
  assert len(scores) == 20


def test_generic_csv_three_labels_learns(tmp_path):
  data_dir = finetuning_data.write_generic_csv(str(tmp_path / "data"))
  values = _values(str(tmp_path), data_dir, str(tmp_path / "out"),
                   task_name="csv", train_step=200, do_predict=True)
  job = run_classifier.run(values)
  assert job.task.label_list == ("mixed, odd", "neg", "pos")
  results = job.evaluate()
  assert results["accuracy"] >= CSV_MIN_ACCURACY, results
  with open(os.path.join(values.output_dir, "label_list.txt")) as f:
    assert f.read().splitlines() == ["mixed, odd", "neg", "pos"]
  with open(os.path.join(values.output_dir, "submit_results.tsv")) as f:
    predictions = [line.split("\t")[1] for line in f.read().splitlines()[1:]]
  assert len(predictions) == 20 and set(predictions) <= set(job.task.label_list)


# The GLUE layouts: one row per task, written as in the GLUE download.
GLUE_ROWS = {
    "cola": (None, "gj04\t1\t\tThe sailors rode the breeze clear of the "
             "rocks.", "index\tsentence", "0\tBill whistled past the house."),
    "sst-2": ("sentence\tlabel", "hide new secretions \t0",
              "index\tsentence", "0\tuneasy mishmash of styles"),
    "mrpc": ("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
             "1\t702876\t702977\tAmrozi accused his brother\tHe accused "
             "his brother", "index\t#1 ID\t#2 ID\t#1 String\t#2 String",
             "0\t1089874\t1089925\tPCCW 's chief\tCommon Stock"),
    "sts-b": ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
              "sentence1\tsentence2\tscore",
              "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane "
              "is taking off.\tAn air plane is taking off.\t5.000",
              "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
              "sentence1\tsentence2",
              "0\tmain-captions\tMSRvid\t2012test\t0024\tnone\tnone\tA girl "
              "is styling her hair.\tA girl is brushing her hair."),
    "qqp": ("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
            "133273\t213221\t213222\tHow is the life?\tHow is life?\t1",
            "id\tquestion1\tquestion2", "0\tWhy?\tWhy not?"),
    "mnli": ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t"
             "sentence2_binary_parse\tsentence1_parse\tsentence2_parse\t"
             "sentence1\tsentence2\tlabel1\tgold_label",
             "0\t31193\t31193n\tgovernment\t(...)\t(...)\t(...)\t(...)\t"
             "Conceptually cream skimming\tProduct and geography\tneutral\t"
             "neutral",
             "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\t"
             "sentence2_binary_parse\tsentence1_parse\tsentence2_parse\t"
             "sentence1\tsentence2",
             "0\t31193\t31193n\tgovernment\t(...)\t(...)\t(...)\t(...)\t"
             "Hierbas\tThe stores"),
    "qnli": ("index\tquestion\tsentence\tlabel",
             "0\tWhen?\tIn 1990.\tentailment", "index\tquestion\tsentence",
             "0\tWho?\tNobody."),
    "rte": ("index\tsentence1\tsentence2\tlabel",
            "0\tNo weapons.\tWeapons found.\tnot_entailment",
            "index\tsentence1\tsentence2", "0\tMexico.\tA country."),
    "wnli": ("index\tsentence1\tsentence2\tlabel",
             "0\tI stuck a pin.\tThe pin had a hole.\t1",
             "index\tsentence1\tsentence2", "0\tMaude.\tDorothy."),
}
GLUE_PARSED = {
    "cola": ("The sailors rode the breeze clear of the rocks.", None, "1",
             "Bill whistled past the house.", None),
    "sst-2": ("hide new secretions ", None, "0", "uneasy mishmash of styles",
              None),
    "mrpc": ("Amrozi accused his brother", "He accused his brother", "1",
             "PCCW 's chief", "Common Stock"),
    "sts-b": ("A plane is taking off.", "An air plane is taking off.", 5.0,
              "A girl is styling her hair.", "A girl is brushing her hair."),
    "qqp": ("How is the life?", "How is life?", "1", "Why?", "Why not?"),
    "mnli": ("Conceptually cream skimming", "Product and geography",
             "neutral", "Hierbas", "The stores"),
    "qnli": ("When?", "In 1990.", "entailment", "Who?", "Nobody."),
    "rte": ("No weapons.", "Weapons found.", "not_entailment", "Mexico.",
            "A country."),
    "wnli": ("I stuck a pin.", "The pin had a hole.", "1", "Maude.",
             "Dorothy."),
}


@pytest.mark.parametrize("name", sorted(GLUE_ROWS) + ["mismnli"])
def test_glue_layouts(name, tmp_path):
  rows = GLUE_ROWS["mnli" if name == "mismnli" else name]
  task = classifier_data.get_task(name)
  header, row, test_header, test_row = rows
  for split in ("train", "dev", "test"):
    lines = [test_header, test_row] if split == "test" else (
        [header, row] if header else [row])
    with open(task.file_for(str(tmp_path), split), "w") as f:
      f.write("\n".join(lines) + "\n")
  text_a, text_b, label, test_a, test_b = GLUE_PARSED[
      "mnli" if name == "mismnli" else name]
  for split in ("train", "dev"):
    (example,) = task.read(str(tmp_path), split)
    assert (example.text_a, example.text_b, example.label) == (
        text_a, text_b, label)
  (example,) = task.read(str(tmp_path), "test")
  assert (example.guid, example.text_a, example.text_b, example.label) == (
      "0", test_a, test_b, None)


def test_mnli_and_mismnli_read_their_dev_files():
  assert classifier_data.get_task("mnli").files[1] == "dev_matched.tsv"
  assert classifier_data.get_task("MisMNLI").files[1] == "dev_mismatched.tsv"


def _error_of(values):
  import io  # pylint: disable=g-import-not-at-top
  import contextlib  # pylint: disable=g-import-not-at-top
  stderr = io.StringIO()
  with contextlib.redirect_stderr(stderr):
    status = flag_table.run_job(lambda: run_classifier.run(values))
  assert status == 1
  return stderr.getvalue()


@pytest.mark.parametrize("content, message", [
    ("sentence\tlabel\ngood film\t1\nno label here\n",
     r"train.tsv:3: expected at least 2 .*fields"),
    ("sentence\tlabel\ngood film\t1\nbad film\t2\n",
     r"train.tsv:3: label '2' is not in the label set 0, 1"),
    ("", r"train.tsv: train file is empty"),
    ("sentence\tlabel\n", r"train.tsv: file has a header but no examples"),
])
def test_bad_tsv_input_is_reported_with_file_and_line(tmp_path, content,
                                                      message):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (20, 8, 4))
  with open(os.path.join(data_dir, "train.tsv"), "w") as f:
    f.write(content)
  error = _error_of(_values(str(tmp_path), data_dir, str(tmp_path / "out"),
                            task_name="sst-2", train_step=2, warmup_step=0))
  assert error.startswith("error: ") and "Traceback" not in error
  assert __import__("re").search(message, error), error


@pytest.mark.parametrize("content, message", [
    ('text,label\n"unclosed,pos\n', r"train.csv:\d+: malformed row|"
     r"train.csv:2: expected 2 fields"),
    ("text,label\ngood,pos\nbad,neg,extra\n",
     r"train.csv:3: expected 2 fields like the header"),
    ("words,label\ngood,pos\n", r"train.csv:1: the header must name a `text`"),
    ('text,label\ngood,pos\n"  ",neg\n', r"train.csv:3: the `text` column is "
     r"empty; every example needs a text \(an empty text_b is fine"),
])
def test_bad_csv_input_is_reported(tmp_path, content, message):
  data_dir = finetuning_data.write_generic_csv(str(tmp_path / "data"))
  with open(os.path.join(data_dir, "train.csv"), "w") as f:
    f.write(content)
  error = _error_of(_values(str(tmp_path), data_dir, str(tmp_path / "out"),
                            task_name="csv", train_step=2, warmup_step=0))
  assert __import__("re").search(message, error), error


def test_generic_dev_label_outside_the_training_labels(tmp_path):
  data_dir = finetuning_data.write_generic_csv(str(tmp_path / "data"))
  with open(os.path.join(data_dir, "dev.csv"), "a") as f:
    f.write("some text,b,unknown\n")
  task = classifier_data.get_task("csv", ["pos", "neg", "mixed, odd"])
  with pytest.raises(InputFormatError, match=r"dev.csv:82: label 'unknown'"):
    task.read(data_dir, "dev")


def test_empty_text_b_is_a_single_sentence_and_glue_keeps_empty_rows(
    tmp_path, caplog):
  (tmp_path / "train.tsv").write_text(
      "text\ttext_b\tlabel\nthe soup\t\tyes\ncold tea\tthe tea\tno\n")
  first, second = classifier_data.get_task("tsv").read(str(tmp_path),
                                                       "train")
  assert (first.text_b, second.text_b) == ("", "the tea")
  # The official GLUE files have a few rows with an empty text: read, with
  # a warning naming where.
  data_dir = finetuning_data.write_sst2(str(tmp_path / "sst2"), (4, 2, 2))
  with open(os.path.join(data_dir, "train.tsv"), "a") as f:
    f.write(" \t1\n")
  examples = classifier_data.get_task("sst-2").read(data_dir, "train")
  assert len(examples) == 5
  assert "1 examples with an empty text (first: " in caplog.text
  assert "train.tsv:6" in caplog.text


def test_csv_columns_named_by_flags(tmp_path):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  for split, rows in (("train", [("the pad thai was great", "pad thai", "yes"),
                                 ("cold ramen", "ramen", "no")]),
                      ("dev", [("lovely curry", "chicken curry", "yes")]),
                      ("test", [("bland soup", "miso soup", None)])):
    lines = ["review,dish_name" + (",liked" if split != "test" else "")]
    lines += [f"{text},{dish}" + (f",{label}" if label else "")
              for text, dish, label in rows]
    (data_dir / f"{split}.csv").write_text("\n".join(lines) + "\n")
  values = _values(str(tmp_path), str(data_dir), str(tmp_path / "out"),
                   task_name="csv", text_column="review",
                   text_b_column="dish_name", label_column="liked",
                   train_step=2, warmup_step=0)
  job = runner.FinetuningJob(run_classifier.TASK, values)
  assert job.task.label_list == ("no", "yes")
  first = job.task.examples("train")[0]
  assert (first.text_a, first.text_b, first.label) == (
      "the pad thai was great", "pad thai", "yes")
  assert job.task.examples("test")[0].label is None
  # A column the header does not have: the error names the flag to pass.
  for overrides, flag in ((dict(text_column="text"), "--text_column"),
                          (dict(text_b_column="dish"), "--text_b_column"),
                          (dict(label_column="label"), "--label_column")):
    error = _error_of(_values(
        str(tmp_path), str(data_dir), str(tmp_path / "bad"), task_name="csv",
        **dict(dict(text_column="review", text_b_column="dish_name",
                    label_column="liked"), **overrides)))
    assert f"pass {flag} to name another column" in error, error


@pytest.mark.parametrize("missing, flags", [
    ("dev.tsv", dict(do_predict=False)), ("test.tsv", dict(do_eval=False))])
def test_missing_dev_or_test_file_is_reported_before_training(
    tmp_path, missing, flags):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (20, 8, 4))
  os.remove(os.path.join(data_dir, missing))
  out = tmp_path / "out"
  error = _error_of(_values(str(tmp_path), data_dir, str(out),
                            task_name="sst-2", train_step=2, warmup_step=0,
                            **flags))
  path = os.path.join(data_dir, missing)
  assert error == f"error: {path}: {missing[:-4]} file not found\n"
  assert not out.exists()  # Nothing written, no training.


def test_malformed_dev_file_is_reported_before_training(tmp_path):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (20, 8, 4))
  with open(os.path.join(data_dir, "dev.tsv"), "a") as f:
    f.write("no label here\n")
  out = tmp_path / "out"
  error = _error_of(_values(str(tmp_path), data_dir, str(out),
                            task_name="sst-2", train_step=2, warmup_step=0))
  assert __import__("re").search(r"dev.tsv:10: expected at least 2", error)
  assert not [name for name in os.listdir(out) if "ckpt" in name]


def _dev_labels(job):
  dataset = job.task.build_inputs("dev", 4, is_training=False)
  return [int(v) for _, labels in dataset for v in labels["label_ids"]]


def test_damaged_feature_cache_is_rebuilt_with_a_warning(tmp_path, caplog):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (20, 9, 4))
  values = _values(str(tmp_path), data_dir, str(tmp_path / "out"),
                   task_name="sst-2", train_step=2, warmup_step=0)
  job = runner.FinetuningJob(run_classifier.TASK, values)
  expected = _dev_labels(job)
  job.close()
  assert len(expected) == 9
  cache = str(tmp_path / "out" / "dev.tf_record")
  with open(cache, "rb") as f:
    good = f.read()
  # A flipped byte, a cut-off file, another run's records of another
  # length: each is noticed and rebuilt, never read as features.
  other_length = _values(str(tmp_path), data_dir, str(tmp_path / "other"),
                         task_name="sst-2", max_seq_length=48)
  other_job = runner.FinetuningJob(run_classifier.TASK, other_length)
  _dev_labels(other_job)
  other_job.close()
  with open(tmp_path / "other" / "dev.tf_record", "rb") as f:
    longer = f.read()
  for damaged in (good[:30] + bytes([good[30] ^ 1]) + good[31:],
                  good[:len(good) // 2], longer):
    with open(cache, "wb") as f:
      f.write(damaged)
    caplog.clear()
    job = runner.FinetuningJob(run_classifier.TASK, values)
    assert _dev_labels(job) == expected
    job.close()
    assert f"feature cache {cache} is damaged" in caplog.text
    assert "rebuilding it" in caplog.text
    with open(cache, "rb") as f:
      assert f.read() == good
  # A healthy cache is reused, without a warning.
  caplog.clear()
  job = runner.FinetuningJob(run_classifier.TASK, values)
  assert _dev_labels(job) == expected
  job.close()
  assert "feature cache" not in caplog.text
  assert not [p for p in os.listdir(tmp_path / "out") if ".tmp" in p]


def test_eval_set_smaller_than_the_batch_is_scored_like_one_by_one(tmp_path):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (20, 9, 4))
  values = _values(str(tmp_path), data_dir, str(tmp_path / "out"),
                   task_name="sst-2", eval_batch_size=32, do_predict=False)
  job = runner.FinetuningJob(run_classifier.TASK, values)
  try:
    metrics = job.evaluate()  # What training's evaluations compute.
    one_by_one = job.predict("dev", batch_size=1)["predictions"]
    whole = job.predict("dev")["predictions"]
  finally:
    job.close()
  gold = np.array([int(e.label) for e in job.task.examples("dev")])
  assert len(one_by_one) == len(whole) == 9
  np.testing.assert_array_equal(whole, one_by_one)
  by_hand = float(np.mean(np.asarray(one_by_one) == gold))
  assert by_hand > 0  # Not the 0.0 an empty evaluation would give.
  assert metrics["accuracy"] == pytest.approx(by_hand)


def test_eval_without_training_is_a_clear_error(tmp_path):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (20, 8, 4))
  error = _error_of(_values(str(tmp_path), data_dir, str(tmp_path / "out"),
                            task_name="sst-2", do_train=False))
  assert "no fine-tuned checkpoint" in error and "--do_train" in error


def test_cli_mirrored_over_two_cpu_devices_with_flagfile(tmp_path):
  data_dir = finetuning_data.write_sst2(str(tmp_path / "data"), (64, 16, 8))
  config = finetuning_data.write_tiny_config(str(tmp_path / "config.json"))
  flagfile = tmp_path / "flags.txt"
  flagfile.write_text("\n".join([
      "--task_name=sst-2", f"--data_dir={data_dir}",
      f"--albert_config_file={config}", f"--spm_model_file={SPM_MODEL}",
      f"--output_dir={tmp_path / 'out'}", "--max_seq_length=32",
      "--train_batch_size=8", "--train_step=6", "--save_checkpoints_steps=3",
      "--iterations_per_loop=3", "--learning_rate=1e-3"]) + "\n")
  result = run_module("albert_tf.run_classifier", f"--flagfile={flagfile}",
                      "--do_train", "--do_eval", "--num_cpu_devices=2")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "eval accuracy = " in result.stdout
  assert os.path.exists(tmp_path / "out" / "best" / "model.ckpt.index")
  bad = run_module("albert_tf.run_classifier", f"--flagfile={flagfile}",
                   "--do_train", "--max_seq_length=100")
  assert bad.returncode == 1
  assert "error: --max_seq_length 100 exceeds" in bad.stderr


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
