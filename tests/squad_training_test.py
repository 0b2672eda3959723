"""run_squad end to end on a small learnable SQuAD-format dataset.

The answer is the word after the marker "key" (tests/squad_synthetic.py);
contexts up to 40 words, so some need two doc_stride windows. A tiny model
(hidden 32, 2 layers, the 4000-piece tiny-clean SentencePiece model) is
fine-tuned from scratch for 200 steps. Chance is far below the thresholds:
a random span of a 12-40 word context is almost never the answer word
(EM ≈ 0), and v2's no-answer third alone gives 33 EM.

Thresholds: v1 dev EM ≥ 80 and F1 ≥ 85; v2 dev EM ≥ 75 and F1 ≥ 75 with
HasAns_exact ≥ 60 and NoAns_exact ≥ 60 (observed: v1 100/100, v2 ≈ 97/97).
"""

import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  pylint: disable=unused-import

from albert_tf import run_squad
from albert_tf.tokenization import python_tokenizer
from albert_tf.cli import flag_table
from albert_tf.tasks import runner
from albert_tf.tasks.squad.serving import SquadServingModel
from albert_tf.tokenization import InputPacker
from albert_tf.tokenization import make_graph_tokenizer
from cli_helpers import run_module
import reference_data as ref
import squad_synthetic

TINY_CONFIG = {
    "attention_probs_dropout_prob": 0.0, "embedding_size": 16,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "hidden_size": 32,
    "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 64,
    "max_position_embeddings": 64, "num_attention_heads": 4,
    "num_hidden_groups": 1, "num_hidden_layers": 2, "type_vocab_size": 2,
    "vocab_size": 4000}
SEQ = dict(max_seq_length=48, doc_stride=16, max_query_length=12)


def _values(workdir, version_2, **overrides):
  values = dict(
      albert_config_file=str(workdir / "albert_config.json"),
      spm_model_file=ref.SPM_MODEL, output_dir=str(workdir / "out"),
      train_file=str(workdir / "train.json"),
      predict_file=str(workdir / "dev.json"),
      do_train=True, do_predict=True, version_2_with_negative=version_2,
      train_batch_size=16, predict_batch_size=32, learning_rate=2e-3,
      train_step=200, warmup_step=20, save_checkpoints_steps=100,
      iterations_per_loop=50, seed=1, optimizer="adamw", n_best_size=5,
      **SEQ)
  values.update(overrides)
  return run_squad.defaults(**values)


def _prepare(workdir, version_2):
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "albert_config.json").write_text(json.dumps(TINY_CONFIG))
  version = "2.0" if version_2 else "1.1"
  squad_synthetic.write_squad_file(
      workdir / "train.json",
      squad_synthetic.make_dataset(400, 1, version_2, max_words=40), version)
  squad_synthetic.write_squad_file(
      workdir / "dev.json",
      squad_synthetic.make_dataset(60, 2, version_2, max_words=40,
                                   answers_per_question=3), version)
  return workdir


@pytest.fixture(scope="module")
def trained_v1(tmp_path_factory):
  workdir = _prepare(tmp_path_factory.mktemp("squad_v1"), False)
  job = run_squad.run(_values(workdir, False))
  return workdir, job


@pytest.fixture(scope="module")
def trained_v2(tmp_path_factory):
  workdir = _prepare(tmp_path_factory.mktemp("squad_v2"), True)
  job = run_squad.run(_values(workdir, True))
  return workdir, job


def _read(path):
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _eval_results(workdir):
  lines = (workdir / "out" / "eval_results.txt").read_text().splitlines()
  return {k: float(v) for k, v in (line.split(" = ") for line in lines)}


def _dev_ids(workdir):
  data = _read(workdir / "dev.json")["data"]
  return [qa["id"] for a in data for p in a["paragraphs"] for qa in p["qas"]]


def _check_nbest(nbest, ids, n_best_size=5):
  assert list(nbest) == ids
  for entries in nbest.values():
    assert 1 <= len(entries) <= n_best_size
    assert sum(e["probability"] for e in entries) == pytest.approx(1.0)
    assert set(entries[0]) == {"text", "probability", "start_log_prob",
                               "end_log_prob"}
    scores = [e["start_log_prob"] + e["end_log_prob"] for e in entries]
    assert scores == sorted(scores, reverse=True)


def test_v1_learns_the_marker_task(trained_v1):
  workdir, job = trained_v1
  results = _eval_results(workdir)
  assert results["exact_match"] >= 80.0, results
  assert results["f1"] >= 85.0, results
  # Some dev paragraphs need more than one window.
  _, _, features, _ = job.task.predict_data()
  assert len(features) > 60
  best = job.trainer.best_metrics()
  assert best["metric"] == "f1" and best["step"] in (100, 200)


def test_v1_prediction_files_are_well_formed(trained_v1):
  workdir, _ = trained_v1
  ids = _dev_ids(workdir)
  predictions = _read(workdir / "out" / "predictions.json")
  assert list(predictions) == ids
  assert all(isinstance(v, str) and v for v in predictions.values())
  nbest = _read(workdir / "out" / "nbest_predictions.json")
  _check_nbest(nbest, ids)
  assert all(nbest[q][0]["text"] == predictions[q] for q in ids)
  assert not (workdir / "out" / "null_odds.json").exists()
  # The answers are cut from the raw context (capitalized there).
  assert sum(p[:1].isupper() for p in predictions.values()) >= 48


def test_v1_serving_model_decodes_answers_in_graph(trained_v1):
  _, job = trained_v1
  serving = SquadServingModel(job.trainer.model, job.tokenizer,
                              max_answer_length=30)
  tokenizer = make_graph_tokenizer(spm_model_file=ref.SPM_MODEL)
  ids = tokenizer.special_ids
  packer = InputPacker(48, cls_id=ids["cls_id"], sep_id=ids["sep_id"],
                       pad_id=ids.get("pad_id", 0))
  inputs = packer([
      tokenizer.tokenize(tf.constant([squad_synthetic.QUESTION] * 2)),
      tokenizer.tokenize(tf.constant([
          "Key Frame and the list.", "The value for key Python, then all."]))])
  out = serving(inputs)
  assert out["answer_text"].numpy().tolist() == [b"frame", b"python"]
  assert (out["answer_end"] >= out["answer_start"]).numpy().all()
  assert not np.take_along_axis(out["p_mask"].numpy(),
                                out["answer_start"].numpy()[:, None], 1).any()


def test_v2_learns_answers_and_no_answers(trained_v2):
  workdir, _ = trained_v2
  results = _eval_results(workdir)
  assert results["exact"] >= 75.0, results
  assert results["f1"] >= 75.0, results
  assert results["HasAns_exact"] >= 60.0, results
  assert results["NoAns_exact"] >= 60.0, results
  assert "null_score_diff_threshold" in results


def test_v2_prediction_files_are_well_formed(trained_v2):
  workdir, _ = trained_v2
  ids = _dev_ids(workdir)
  predictions = _read(workdir / "out" / "predictions.json")
  null_odds = _read(workdir / "out" / "null_odds.json")
  assert list(predictions) == ids == list(null_odds)
  assert all(isinstance(v, float) for v in null_odds.values())
  threshold = _eval_results(workdir)["null_score_diff_threshold"]
  nbest = _read(workdir / "out" / "nbest_predictions.json")
  _check_nbest(nbest, ids)
  for qid in ids:
    if null_odds[qid] >= threshold:
      assert predictions[qid] == ""
    else:
      assert predictions[qid] == nbest[qid][0]["text"]
  assert "" in predictions.values()


def test_bad_inputs_are_clean_errors(trained_v1, tmp_path, capsys):
  workdir, _ = trained_v1
  bad = tmp_path / "bad.json"
  bad.write_text('{"data": [\n  {"paragraphs": ]}')
  dupes = tmp_path / "dupes.json"
  dupes.write_text(json.dumps({"data": [{"paragraphs": [{
      "context": "a cat", "qas": [
          {"id": "x", "question": "?", "answers": []},
          {"id": "x", "question": "??", "answers": []}]}]}]}))
  cases = [
      (dict(train_file=str(bad)), r"bad\.json:2:"),
      (dict(train_file=str(tmp_path / "missing.json")), "does not exist"),
      (dict(max_query_length=46), "max_query_length"),
      # Refused before training, not scored with one question lost.
      (dict(predict_file=str(dupes)),
       r"dupes\.json: question id 'x' appears twice"),
      (dict(train_file=None), "--do_train needs --train_file"),
      (dict(predict_file=str(tmp_path / "nope.json")),
       r"--predict_file .*nope\.json does not exist"),
      (dict(albert_config_file=ref.config_path("google_tiny"),
            init_checkpoint=ref.checkpoint_prefix("google_tiny"),
            max_seq_length=32),
       "vocab_size is 120"),
  ]
  for overrides, message in cases:
    values = _values(workdir, False, output_dir=str(tmp_path / "o"),
                     **overrides)
    assert flag_table.run_job(lambda: run_squad.run(values)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and re.search(message, err), err
  empty = tmp_path / "empty.json"
  empty.write_text("")
  values = _values(workdir, False, output_dir=str(tmp_path / "o"),
                   train_file=str(empty))
  assert flag_table.run_job(lambda: run_squad.run(values)) == 1
  assert "empty.json is empty" in capsys.readouterr().err


def test_epochs_set_steps_like_the_original(trained_v1, tmp_path):
  workdir, _ = trained_v1
  values = _values(workdir, False, output_dir=str(tmp_path / "o"),
                   do_predict=False, num_train_epochs=2.0,
                   warmup_proportion=0.1)
  job = runner.FinetuningJob(run_squad.TASK, values)
  # int(400 questions / 16 × 2 epochs), warmup int(10% of that).
  assert (job.settings.train_step, job.settings.warmup_step) == (50, 5)
  # The caller's settings are left as they were.
  assert (values.train_step, values.warmup_step) == (200, 20)


def test_cli_predicts_and_exports_raw_text_model(trained_v2, tmp_path):
  """One subprocess: v2 predict from the trained output_dir, and export."""
  workdir, _ = trained_v2
  output_dir = tmp_path / "out"
  shutil.copytree(workdir / "out", output_dir)
  for name in ("predictions.json", "eval_results.txt"):
    os.remove(output_dir / name)
  export_dir = tmp_path / "export"
  result = run_module(
      "albert_tf.run_squad",
      f"--albert_config_file={workdir / 'albert_config.json'}",
      f"--spm_model_file={ref.SPM_MODEL}", f"--output_dir={output_dir}",
      f"--predict_file={workdir / 'dev.json'}", "--do_predict",
      "--version_2_with_negative", f"--export_dir={export_dir}",
      "--max_seq_length=48", "--doc_stride=16", "--max_query_length=12",
      "--n_best_size=5")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "eval HasAns_exact = " in result.stdout
  assert _read(output_dir / "predictions.json") == _read(
      workdir / "out" / "predictions.json")

  # The export answers raw text (here, in a process that did not write it).
  served = tf.saved_model.load(str(export_dir / "1"))
  out = served.signatures["serving_default"](
      text_a=tf.constant([squad_synthetic.QUESTION] * 2),
      text_b=tf.constant(["Return the list for key Socket from the file.",
                          "Return the list from the file."]))
  assert set(out) == set(run_squad.SERVING_OUTPUTS[True])
  assert out["start_top_index"].shape == (2, 5)
  assert out["end_top_index"].shape == (2, 25)
  p_mask = out["p_mask"].numpy()
  for key in ("start_top_index", "end_top_index"):
    assert not np.take_along_axis(p_mask, out[key].numpy(), 1).any()
  # The answer decoded in graph: pieces' text, and "" for no answer.
  assert out["answer_text"].numpy().tolist() == [b"socket", b""]
  start, end = int(out["answer_start"][0]), int(out["answer_end"][0])
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=ref.SPM_MODEL)
  pieces = tokenizer.convert_ids_to_tokens(
      out["input_word_ids"].numpy()[0][start:end + 1].tolist())
  assert "".join(pieces).replace("\u2581", "") == "socket"
  assert out["answer_start"][1] == out["answer_end"][1] == 0
  # No marker in the second context: a higher null score.
  cls_logits = out["cls_logits"].numpy()
  assert cls_logits[1] > cls_logits[0]


def test_tfhub_export_of_the_run_serves_what_run_squad_exports(trained_v2,
                                                                 tmp_path):
  """tfhub_export.export --finetuned_task=squad: the run's recorded export
  settings (v2, its beam sizes), as TF Serving and as TFLite."""
  from tfhub_export import export_job  # pylint: disable=g-import-not-at-top
  from tfhub_export import export_settings  # pylint: disable=g-import-not-at-top
  from tfhub_export import tflite_export  # pylint: disable=g-import-not-at-top
  workdir, _ = trained_v2
  output_dir = tmp_path / "out"
  shutil.copytree(workdir / "out", output_dir)
  # As a run with --start_n_top=3 --end_n_top=2 records them (the served
  # tops' shapes show which beam the export decodes with).
  manifest_path = output_dir / "finetuning.manifest.json"
  manifest = _read(manifest_path)
  manifest["export_settings"].update(start_n_top=3, end_n_top=2)
  manifest_path.write_text(json.dumps(manifest))
  run_squad.run(_values(workdir, True, output_dir=str(output_dir),
                        do_train=False, do_predict=False, start_n_top=3,
                        end_n_top=2, export_dir=str(tmp_path / "tool")))
  expected = tf.saved_model.load(str(tmp_path / "tool" / "1")).signatures[
      "serving_default"]
  question = [squad_synthetic.QUESTION] * 2
  context = ["Return the list for key Socket from the file.",
             "Return the list from the file."]
  want = {k: v.numpy() for k, v in expected(
      text_a=tf.constant(question), text_b=tf.constant(context)).items()}
  assert want["start_top_index"].shape == (2, 3)
  assert want["end_top_index"].shape == (2, 6)
  common = dict(finetuned_dir=str(output_dir), finetuned_task="squad",
                albert_config_file=str(workdir / "albert_config.json"),
                spm_model_file=ref.SPM_MODEL)
  served_dir, = export_job.run(export_settings.defaults(
      export_type="serving", export_path=str(tmp_path / "served"), **common),
                               log=lambda *_: None)
  got = tf.saved_model.load(served_dir).signatures["serving_default"](
      text_a=tf.constant(question), text_b=tf.constant(context))
  assert sorted(got) == sorted(want)
  for key, value in want.items():
    if value.dtype == object:  # answer_text
      np.testing.assert_array_equal(got[key].numpy(), value, key)
    else:
      np.testing.assert_allclose(got[key].numpy(), value, atol=1e-6,
                                 err_msg=key)
  assert want["answer_text"].tolist() == [b"socket", b""]
  tflite_path, = export_job.run(export_settings.defaults(
      export_type="tflite", export_path=str(tmp_path / "tflite"), **common),
                                log=lambda *_: None)
  tflite = tflite_export.signature_runner(
      tflite_export.load_interpreter(tflite_path))
  got = tflite(text_a=np.array([q.encode() for q in question], object),
               text_b=np.array([c.encode() for c in context], object))
  assert set(want) - set(got) == {"answer_text"}
  for key in got:
    np.testing.assert_allclose(got[key], want[key], atol=1e-4, err_msg=key)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
