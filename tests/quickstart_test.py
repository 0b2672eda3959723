"""The quick start's pieces: its package data, settings, stage records,
review dataset and demo scripts (the whole run: quickstart_wheel_test)."""

import ast
import contextlib
import csv
import dataclasses
import filecmp
import glob
import io
import json
import os

import pytest

from albert_tf import quickstart_job
from albert_tf import quickstart_reviews
from albert_tf.errors import FlagError
from albert_tf.errors import OutputLocationError
from albert_tf.errors import UserError
from reference_data import PROJECT_ROOT


# -- package data ----------------------------------------------------------------


@pytest.mark.parametrize("shipped, copy", [
    ("pretrain_tiny_cpu.flags", "run_scripts/pretrain_tiny_cpu.flags"),
    ("albert_tiny_cpu.json", "run_scripts/configs/albert_tiny_cpu.json"),
])
def test_run_scripts_copies_agree_with_the_package_data(shipped, copy):
  assert filecmp.cmp(os.path.join(quickstart_job.DATA_DIR, shipped),
                     os.path.join(PROJECT_ROOT, copy), shallow=False)


def test_setup_ships_the_quickstart_data():
  with open(os.path.join(PROJECT_ROOT, "setup.py"), encoding="utf-8") as f:
    assert '"quickstart_data/*"' in f.read()
  names = {os.path.basename(p) for p in glob.glob(
      os.path.join(quickstart_job.DATA_DIR, "*"))}
  assert {os.path.basename(quickstart_job.TINY_FLAGFILE),
          os.path.basename(quickstart_job.TINY_CONFIG),
          quickstart_job.ENCODER_DEMO, quickstart_job.TAGGER_DEMO} <= names


@pytest.mark.parametrize("script", [quickstart_job.ENCODER_DEMO,
                                    quickstart_job.TAGGER_DEMO])
def test_demo_scripts_import_only_tensorflow_and_the_standard_library(
    script):
  with open(os.path.join(quickstart_job.DATA_DIR, script),
            encoding="utf-8") as f:
    tree = ast.parse(f.read())
  imported = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      imported.update(alias.name.split(".")[0] for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      imported.add(node.module.split(".")[0])
  assert "tensorflow" in imported
  assert imported <= {"argparse", "os", "re", "tensorflow",
                      "tensorflow_text"}


# -- settings ----------------------------------------------------------------------


def test_zero_pretraining_steps_is_an_error_not_the_default():
  with pytest.raises(FlagError, match="--num_train_steps must be positive"):
    quickstart_job.check_settings(quickstart_job.defaults(num_train_steps=0))
  # None: the flagfile's.
  quickstart_job.check_settings(quickstart_job.defaults())


@pytest.mark.parametrize("name", ["vocab_size", "dupe_factor",
                                  "finetune_steps"])
def test_non_positive_counts_are_errors(name):
  with pytest.raises(FlagError, match=f"--{name} must be positive"):
    quickstart_job.check_settings(quickstart_job.defaults(**{name: 0}))


def test_pretraining_settings_come_from_the_flagfile(tmp_path):
  run = quickstart_job.Quickstart(
      quickstart_job.defaults(output_dir=str(tmp_path)))
  settings = run.pretraining_settings()
  assert (settings.num_train_steps, settings.num_warmup_steps,
          settings.save_checkpoints_steps,
          settings.iterations_per_loop) == (600, 60, 200, 50)
  assert (settings.train_batch_size, settings.max_seq_length,
          settings.optimizer, settings.do_train,
          settings.do_eval) == (32, 128, "lamb", True, True)
  # Paths point into the output directory, wherever the command runs.
  assert settings.output_dir == str(tmp_path / "pretraining")
  assert settings.input_file == str(tmp_path / "data" / "train-*")
  assert settings.albert_config_file == str(
      tmp_path / "pretraining" / "albert_config.json")


def test_fewer_pretraining_steps_scale_the_intervals(tmp_path):
  run = quickstart_job.Quickstart(quickstart_job.defaults(
      output_dir=str(tmp_path), num_train_steps=20))
  settings = run.pretraining_settings()
  assert (settings.num_train_steps, settings.num_warmup_steps,
          settings.save_checkpoints_steps,
          settings.iterations_per_loop) == (20, 2, 20, 20)


# -- stage records -----------------------------------------------------------------


def _output(path, text="x"):
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, "file"), "w", encoding="utf-8") as f:
    f.write(text)
  return str(path)


def test_a_finished_stage_is_reused_with_the_same_settings(tmp_path):
  out = str(tmp_path / "stage")
  records = quickstart_job.StageRecords(str(tmp_path))
  assert records.begin("vocabulary", {"vocab_size": 2000}, [out])
  _output(out)
  records.finish("vocabulary", pieces=2000)
  again = quickstart_job.StageRecords(str(tmp_path))  # as a rerun reads them
  assert not again.begin("vocabulary", {"vocab_size": 2000}, [out])
  assert again.results("vocabulary") == {"pieces": 2000}
  assert os.path.exists(os.path.join(out, "file"))


def test_other_settings_redo_the_stage(tmp_path):
  out = str(tmp_path / "stage")
  records = quickstart_job.StageRecords(str(tmp_path))
  records.begin("vocabulary", {"vocab_size": 2000}, [out])
  _output(out)
  records.finish("vocabulary")
  assert records.begin("vocabulary", {"vocab_size": 500}, [out])
  assert not os.path.exists(out)  # Made with other settings: removed.


def test_a_failed_stage_is_not_reused_with_other_settings(tmp_path):
  out = str(tmp_path / "stage")
  records = quickstart_job.StageRecords(str(tmp_path))
  records.begin("vocabulary", {"vocab_size": 99999}, [out])
  _output(out, "half-written")  # ...and the stage failed here.
  again = quickstart_job.StageRecords(str(tmp_path))
  assert again.begin("vocabulary", {"vocab_size": 2000}, [out])
  assert not os.path.exists(out)


def test_an_interrupted_stage_keeps_its_outputs_to_resume(tmp_path):
  out = str(tmp_path / "stage")
  records = quickstart_job.StageRecords(str(tmp_path))
  records.begin("pretraining", {"steps": 600}, [out])
  _output(out, "checkpoint")
  again = quickstart_job.StageRecords(str(tmp_path))
  assert again.begin("pretraining", {"steps": 600}, [out])
  assert os.path.exists(os.path.join(out, "file"))


def test_a_finished_stage_with_missing_outputs_runs_again(tmp_path):
  out = str(tmp_path / "stage")
  records = quickstart_job.StageRecords(str(tmp_path))
  records.begin("export", {"seq_length": 128}, [out])
  records.finish("export")
  assert records.begin("export", {"seq_length": 128}, [out])


def test_the_tagger_stage_keys_on_the_recipe_s_resolved_defaults():
  """A release whose recipe defaults change retrains the tagger rather
  than reusing (and reporting) the old one."""
  from albert_tf.tasks import runner  # pylint: disable=g-import-not-at-top
  from albert_tf.tasks.token_classification import TokenClassificationTask  # pylint: disable=g-import-not-at-top
  make = runner.settings_maker(TokenClassificationTask)
  values = dict(init_checkpoint="model.ckpt-best",
                **quickstart_job.tagger_settings(300))
  key = quickstart_job.tagger_stage_key("p", "r", 300, make(**values))
  assert key["recipe"] == {"bias_correction": True,
                           "head_learning_rate_multiplier": 10.0}
  assert key["settings"]["input_masking_rate"] == 0.15
  other = quickstart_job.tagger_stage_key(
      "p", "r", 300, make(**values, adam_bias_correction=False))
  assert json.dumps(other, sort_keys=True) != json.dumps(key, sort_keys=True)


def test_keys_compare_as_json(tmp_path):
  out = str(tmp_path / "stage")
  records = quickstart_job.StageRecords(str(tmp_path))
  records.begin("corpus", {"modules": ("abc", "ast")}, [out])
  _output(out)
  records.finish("corpus")
  again = quickstart_job.StageRecords(str(tmp_path))
  assert not again.begin("corpus", {"modules": ("abc", "ast")}, [out])


def test_outputs_it_did_not_write_are_left_alone(tmp_path):
  out = _output(tmp_path / "data", "the user's own data")
  records = quickstart_job.StageRecords(str(tmp_path))
  with pytest.raises(OutputLocationError, match="no record of the quick "
                     "start writing it"):
    records.begin("data", {"dupe_factor": 4}, [out])
  assert os.path.exists(os.path.join(out, "file"))


def test_an_unreadable_record_is_a_user_error(tmp_path):
  (tmp_path / quickstart_job.STATE_FILE).write_text("{not json")
  with pytest.raises(OutputLocationError, match="unreadable"):
    quickstart_job.StageRecords(str(tmp_path))


def test_a_failed_vocabulary_size_is_not_kept(tmp_path, capsys):
  # Stages 1 and 2 for real: a vocabulary size the corpus cannot give
  # fails; the next run with another size trains a new vocabulary.
  settings = quickstart_job.defaults(output_dir=str(tmp_path),
                                     vocab_size=1_000_000)
  run = quickstart_job.Quickstart(settings)
  run.corpus()
  with pytest.raises(UserError):
    run.vocabulary()
  run = quickstart_job.Quickstart(dataclasses.replace(settings, vocab_size=300))
  run.corpus()
  run.vocabulary()
  assert "reusing" in capsys.readouterr().out  # the corpus
  with open(run.spm_model[:-len(".model")] + ".vocab",
            encoding="utf-8") as f:
    assert len(f.readlines()) == 300
  with open(run.records.path, encoding="utf-8") as f:
    state = json.load(f)
  assert state["vocabulary"]["key"]["vocab_size"] == 300
  assert state["vocabulary"]["finished"]


# -- the review dataset --------------------------------------------------------------


def _rows(path):
  with open(path, encoding="utf-8", newline="") as f:
    return list(csv.reader(f))


def test_reviews_are_deterministic(tmp_path):
  first = quickstart_reviews.write_dataset(str(tmp_path / "a"))
  second = quickstart_reviews.write_dataset(str(tmp_path / "b"))
  for split in ("train", "dev", "test"):
    assert filecmp.cmp(first[split], second[split], shallow=False)
  assert quickstart_reviews.generate(1) != quickstart_reviews.generate(2)


def test_review_files_have_the_documented_columns(tmp_path):
  paths = quickstart_reviews.write_dataset(str(tmp_path))
  sizes = quickstart_reviews.SPLIT_SIZES
  for split in ("train", "dev"):
    rows = _rows(paths[split])
    assert rows[0] == ["review", "dish_name"]
    assert len(rows) == sizes[split] + 1
    for review, dishes in rows[1:]:
      for dish in filter(None, dishes.split(";")):
        assert dish in review  # the tagger's data locates it in the review
  test_rows = _rows(paths["test"])
  assert test_rows[0] == ["review"]
  assert len(test_rows) == sizes["test"] + 1


def test_held_out_dishes_are_absent_from_training(tmp_path):
  paths = quickstart_reviews.write_dataset(str(tmp_path))
  with open(paths["train"], encoding="utf-8") as f:
    train_text = f.read()
  for dish in quickstart_reviews.HELD_OUT_DISHES:
    assert dish not in train_text
  dev_dishes = {dish for _, dishes in _rows(paths["dev"])[1:]
                for dish in dishes.split(";") if dish}
  held_out = set(quickstart_reviews.HELD_OUT_DISHES)
  # Dev scores both: held-out dishes and dishes seen in training.
  assert len(dev_dishes & held_out) >= len(held_out) - 1
  assert dev_dishes - held_out
  # Every training dish occurs in training; none is a held-out one.
  train_dishes = {dish for _, dishes in _rows(paths["train"])[1:]
                  for dish in dishes.split(";") if dish}
  assert train_dishes == set(quickstart_reviews.TRAIN_DISHES)
  # The demo review's dish is a held-out one, so the demo shows
  # generalisation rather than memory.
  assert any(dish in quickstart_reviews.DEMO_REVIEW for dish in held_out)


def test_no_dish_name_hides_inside_another_name_or_a_template():
  dishes = (quickstart_reviews.TRAIN_DISHES +
            quickstart_reviews.HELD_OUT_DISHES)
  templates = (quickstart_reviews.NO_DISH_TEMPLATES +
               quickstart_reviews.ONE_DISH_TEMPLATES +
               quickstart_reviews.TWO_DISH_TEMPLATES)
  for dish in dishes:
    for other in dishes + quickstart_reviews.OTHER_NOUNS + templates:
      assert other == dish or dish not in other, (dish, other)


def test_held_out_scores_count_only_dishes_absent_from_training(tmp_path):
  path = tmp_path / "eval_predictions.txt"
  sentences = [
      # A held-out dish found, a training dish found (not counted).
      [("the", "O", "O"), ("duck", "B-DISH", "B-DISH"),
       ("confit", "I-DISH", "I-DISH"), ("and", "O", "O"),
       ("pad", "B-DISH", "B-DISH"), ("thai", "I-DISH", "I-DISH")],
      # A held-out dish half found (a miss), a noun tagged (a false alarm).
      [("crab", "B-DISH", "B-DISH"), ("cakes", "I-DISH", "O"),
       ("service", "O", "B-DISH")],
  ]
  path.write_text("\n\n".join("\n".join("\t".join(row) for row in rows)
                              for rows in sentences) + "\n")
  scores = quickstart_reviews.held_out_scores(str(path))
  # Predicted (training dish excluded): duck confit, crab, service; gold:
  # duck confit, crab cakes; correct: duck confit.
  assert scores["mentions"] == 2
  assert scores["precision"] == pytest.approx(1 / 3)
  assert scores["recall"] == pytest.approx(1 / 2)
  assert scores["f1"] == pytest.approx(0.4)


def test_csv_quotes_reviews_with_commas():
  text = quickstart_reviews.csv_text([("Nice, really.", ["pad thai"]),
                                      ("Quiet place.", [])])
  assert list(csv.reader(io.StringIO(text))) == [
      ["review", "dish_name"], ["Nice, really.", "pad thai"],
      ["Quiet place.", ""]]


def test_the_int64_notice_of_the_demo_processes_is_dropped():
  # Loading the exports in a fresh process logs this at ERROR level on CPUs
  # without AVX-512, although TensorFlow falls back to another kernel.
  from albert_tf.cli import quiet_startup  # pylint: disable=g-import-not-at-top
  assert quiet_startup.HARMLESS_LINES.search(
      "2026-12-03 08:26:23.860899: E tensorflow/core/util/util.cc:131] "
      "oneDNN supports DT_INT64 only on platforms with AVX-512. Falling back "
      "to the default Eigen-based implementation if present.")


def test_training_progress_reaches_the_terminal_while_orbit_redirects_stdout(
    capsys):
  from absl import logging  # pylint: disable=g-import-not-at-top
  with quickstart_job.log_lines_of({"quickstart_test"}):
    # What orbit does around training: prints go into the log.
    with contextlib.redirect_stdout(io.StringIO()):
      logging.info("step %d/%d: loss %.5f", 50, 300, 0.25)
  logging.info("after the stage: not shown")
  assert capsys.readouterr().out == "step 50/300: loss 0.25000\n"
