"""--export_dir: fine-tuned models answer raw text in a fresh process that
imports only tensorflow and tensorflow_text."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import export_fixtures
import finetuning_data
import reference_data as ref
from reference_data import SPM_MODEL
from albert_tf import run_classifier
from albert_tf import run_race
from albert_tf import run_token_classification
from albert_tf.tasks import race_data

SENTENCES = ["the movie was great and lovely", "a terrible plot , awful"]
REVIEWS = ["i loved the pad thai here .", "we ordered miso soup and wine"]
RACE_MAX_QA_LENGTH = 12
# (article, question, options): a "_" question (with casing and spacing
# that preprocess_text changes), an article longer than max_seq_length and
# an option longer than max_qa_length.
RACE_QUESTIONS = [
    ("The BOX is red .  the car is blue .", "the box is _ .",
     ["red", "blue", "dog", "cat"]),
    ("the hat is green . the door is pink . " * 20,
     "what color is the door ?", ["horse", "green", "pink", "bird"]),
    ("the car is black . the hat is white .", "what color is the car ?",
     ["cow", "a very " + "very " * 30 + "long white option", "black",
      "fish"]),
]


def _common(tmp):
  return dict(
      albert_config_file=finetuning_data.write_tiny_config(
          os.path.join(tmp, "albert_config.json")),
      spm_model_file=SPM_MODEL, max_seq_length=32, do_train=True,
      train_batch_size=16, learning_rate=1e-3, train_step=120,
      warmup_step=10, save_checkpoints_steps=120, iterations_per_loop=120,
      seed=1)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  tmp = str(tmp_path_factory.mktemp("export"))
  classifier = run_classifier.run(run_classifier.defaults(
      task_name="sst-2", data_dir=finetuning_data.write_sst2(
          os.path.join(tmp, "sst")), output_dir=os.path.join(tmp, "cls"),
      export_dir=os.path.join(tmp, "cls_export"), **_common(tmp)))
  tagger = run_token_classification.run(run_token_classification.defaults(
      data_dir=finetuning_data.write_dish_csv(os.path.join(tmp, "dish")),
      output_dir=os.path.join(tmp, "tag"), entity_type="DISH",
      export_dir=os.path.join(tmp, "tag_export"), **_common(tmp)))
  script = """
import json
result = {}
for name, path in (("cls", sys.argv[1]), ("tag", sys.argv[2])):
  serving = tf.saved_model.load(path).signatures["serving_default"]
  texts = json.loads(sys.argv[3 if name == "cls" else 4])
  out = serving(text_a=tf.constant(texts), text_b=tf.constant([""] * 2))
  result[name] = {k: v.numpy().tolist() for k, v in out.items()}
print(json.dumps(result))
"""
  stdout = export_fixtures.run_fresh(
      script, os.path.join(tmp, "cls_export", "1"),
      os.path.join(tmp, "tag_export", "1"), json.dumps(SENTENCES),
      json.dumps(REVIEWS))
  return classifier, tagger, json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def race_exported(tmp_path_factory):
  """run_race --do_train --do_eval --export_dir, served in a fresh process."""
  tmp = str(tmp_path_factory.mktemp("race_export"))
  common = dict(_common(tmp), max_seq_length=48, train_step=60,
                save_checkpoints_steps=30, iterations_per_loop=30)
  job = run_race.run(run_race.defaults(
      data_dir=finetuning_data.write_race(os.path.join(tmp, "race"),
                                          sizes=(120, 20, 0)),
      output_dir=os.path.join(tmp, "race_out"), do_eval=True,
      max_qa_length=RACE_MAX_QA_LENGTH,
      export_dir=os.path.join(tmp, "race_export"), **common))
  features = _race_features(job)
  script = """
import json
loaded = tf.saved_model.load(sys.argv[1])
articles, questions, options = zip(*json.loads(sys.argv[2]))
text = dict(article=tf.constant(articles), question=tf.constant(questions),
            options=tf.constant(options))
ids = {k: tf.constant(v, tf.int32)
       for k, v in json.loads(sys.argv[3]).items()}
result = {
    "served": loaded.signatures["serving_default"](**text),
    "packed": loaded.pack_inputs(**text),
    "from_ids": loaded.signatures["serve_token_ids"](**ids),
}
result = {name: {k: v.numpy().tolist() for k, v in out.items()}
          for name, out in result.items()}
try:  # Three options instead of four.
  loaded.signatures["serving_default"](
      article=text["article"], question=text["question"],
      options=text["options"][:, :3])
  result["bad_request"] = None
except tf.errors.InvalidArgumentError as e:
  result["bad_request"] = e.message
print(json.dumps(result))
"""
  stdout = export_fixtures.run_fresh(
      script, os.path.join(tmp, "race_export", "1"),
      json.dumps(RACE_QUESTIONS),
      json.dumps({k: v.tolist() for k, v in features.items()}))
  return job, features, json.loads(stdout.strip().splitlines()[-1])


def _race_features(job):
  """The Python training pipeline's features for RACE_QUESTIONS."""
  encoded = [race_data.encode(
      race_data.RaceExample(str(i), article, question, options), job.task.packer,
      RACE_MAX_QA_LENGTH)
             for i, (article, question, options) in enumerate(RACE_QUESTIONS)]
  return {k: np.stack([e[k] for e in encoded])
          for k in ("input_word_ids", "input_mask", "input_type_ids")}


def _in_process(job, texts, key):
  packed = [job.task.packer.pack_text(t) for t in texts]
  features = {k: np.stack([p[k] for p in packed]) for k in packed[0]}
  return job.trainer.model(features, training=False)[key].numpy()


def test_exported_classifier_answers_raw_text(exported):
  classifier, _, served = exported
  assert set(served["cls"]) == {"probabilities", "predictions"}
  np.testing.assert_allclose(served["cls"]["probabilities"],
                             _in_process(classifier, SENTENCES,
                                         "probabilities"),
                             atol=ref.TOLERANCE)
  assert served["cls"]["predictions"] == [1, 0]


def test_exported_tagger_answers_raw_text(exported):
  _, tagger, served = exported
  assert set(served["tag"]) == {"tag_ids", "probabilities"}
  tag_ids = np.array(served["tag"]["tag_ids"])
  np.testing.assert_array_equal(tag_ids,
                                _in_process(tagger, REVIEWS, "tag_ids"))
  # The dish's first piece is tagged B-DISH.
  labels = [tagger.task.label_list[i] for i in tag_ids[0]]
  assert "B-DISH" in labels


def test_exported_race_model_packs_raw_text_like_training(race_exported):
  _, features, served = race_exported
  # The crux: the graph's ids are the training pipeline's, including the
  # blank, the truncated article and the truncated long option.
  for key, expected in features.items():
    np.testing.assert_array_equal(np.array(served["packed"][key]), expected,
                                  err_msg=key)
  assert (np.array(served["packed"]["input_mask"]).sum(-1)[1] == 48).all()


def test_exported_race_model_answers_raw_text(race_exported):
  job, features, served = race_exported
  assert set(served["served"]) == {"logits", "probabilities",
                                   "predicted_choice"}
  outputs = job.trainer.model(features, training=False)
  logits = np.array(served["served"]["logits"])
  assert logits.shape == (len(RACE_QUESTIONS), 4)
  np.testing.assert_allclose(logits, outputs["logits"].numpy(), atol=5e-5)
  np.testing.assert_allclose(served["served"]["probabilities"],
                             outputs["probabilities"].numpy(), atol=5e-5)
  assert served["served"]["predicted_choice"] == np.argmax(
      logits, axis=-1).tolist()
  np.testing.assert_allclose(served["from_ids"]["logits"], logits,
                             atol=ref.TOLERANCE)
  # The export holds the model run() selected (best dev accuracy).
  assert job.trainer.best_metrics()["metric"] == "accuracy"


def test_exported_race_model_rejects_wrong_number_of_options(race_exported):
  _, _, served = race_exported
  assert "options must have 4 choices per question" in served["bad_request"]


def test_race_export_only_run_adds_the_next_version(race_exported):
  """--export_dir alone: the best checkpoint of output_dir, as version 2."""
  job, features, served = race_exported
  values = dict(vars(job.settings), do_train=False, do_eval=False)
  run_race.run(run_race.defaults(**values))
  export_dir = job.settings.export_dir
  assert sorted(os.listdir(export_dir)) == ["1", "2"]  # No staging left.
  loaded = tf.saved_model.load(os.path.join(export_dir, "2"))
  articles, questions, options = zip(*RACE_QUESTIONS)
  outputs = loaded.signatures["serving_default"](
      article=tf.constant(articles), question=tf.constant(questions),
      options=tf.constant(options))
  np.testing.assert_allclose(outputs["logits"].numpy(),
                             served["served"]["logits"], atol=1e-6)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
