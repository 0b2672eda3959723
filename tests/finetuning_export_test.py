"""--export_dir: fine-tuned models answer raw text in a fresh process that
imports only tensorflow and tensorflow_text."""

import csv
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
from albert_tf.tasks import metrics
from albert_tf.tasks import race_data
from albert_tf.tasks import token_data
from albert_tf.tasks import token_serving
from albert_tf import settings as settings_lib
from albert_tf.errors import FlagError
from tfhub_export import export as tfhub_export
from tfhub_export import export_utils
from tfhub_export.export_utils import INPUT_KEYS

SENTENCES = ["the movie was great and lovely", "a terrible plot , awful"]
REVIEWS = ["i loved the pad thai here .", "we ordered miso soup and wine"]
# Test reviews beside write_dish_csv's: non-ASCII and CJK text (offsets are
# code points), punctuation glued to words, an empty-looking one.
EXTRA_TEST_REVIEWS = [
    "the crème brûlée was great, and the pad thai too!",
    "我们 loved the 北京烤鸭 and the miso soup .",
    "ok .",
]
MAX_ENTITIES = 3
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
  dish_dir = finetuning_data.write_dish_csv(os.path.join(tmp, "dish"))
  with open(os.path.join(dish_dir, "test.csv"), "a", newline="",
            encoding="utf-8") as f:
    csv.writer(f).writerows([[review] for review in EXTRA_TEST_REVIEWS])
  tagger = run_token_classification.run(run_token_classification.defaults(
      data_dir=dish_dir, output_dir=os.path.join(tmp, "tag"),
      entity_type="DISH", do_predict=True, max_entities=MAX_ENTITIES,
      export_dir=os.path.join(tmp, "tag_export"), **_common(tmp)))
  test_texts = [row[0] for row in _read_csv(os.path.join(dish_dir,
                                                         "test.csv"))]
  script = """
import json
import numpy as np
result = {}
for name, path in (("cls", sys.argv[1]), ("tag", sys.argv[2]),
                   ("tag_test", sys.argv[2])):
  serving = tf.saved_model.load(path).signatures["serving_default"]
  texts = json.loads(sys.argv[{"cls": 3, "tag": 4, "tag_test": 5}[name]])
  if name == "cls":
    out = serving(text_a=tf.constant(texts), text_b=tf.constant([""] * 2))
  else:  # The tagger takes one text.
    out = serving(text=tf.constant(texts))
  result[name] = {k: (np.vectorize(bytes.decode, otypes=[object])(v.numpy())
                      if v.dtype == tf.string else v.numpy()).tolist() for k, v in out.items()}
print(json.dumps(result))
"""
  stdout = export_fixtures.run_fresh(
      script, os.path.join(tmp, "cls_export", "1"),
      os.path.join(tmp, "tag_export", "1"), json.dumps(SENTENCES),
      json.dumps(REVIEWS), json.dumps(test_texts))
  return classifier, tagger, json.loads(stdout.strip().splitlines()[-1])


def _read_csv(path):
  with open(path, newline="", encoding="utf-8") as f:
    return list(csv.reader(f))[1:]


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
import numpy as np
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
result = {name: {k: (np.vectorize(bytes.decode, otypes=[object])(v.numpy())
                     if v.dtype == tf.string else v.numpy()).tolist() for k, v in out.items()}
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
  assert set(served["cls"]) == {"probabilities", "predictions", "classes",
                                "scores", "predicted_class"}
  np.testing.assert_allclose(served["cls"]["probabilities"],
                             _in_process(classifier, SENTENCES,
                                         "probabilities"),
                             atol=ref.TOLERANCE)
  assert served["cls"]["predictions"] == [1, 0]


def test_exported_classifier_names_its_labels(exported):
  """TF Serving's Classify conventions: classes (names) and scores."""
  classifier, _, served = exported
  labels = list(classifier.task.label_list)
  assert served["cls"]["classes"] == [labels] * len(SENTENCES)
  assert served["cls"]["scores"] == served["cls"]["probabilities"]
  assert served["cls"]["predicted_class"] == [
      labels[i] for i in served["cls"]["predictions"]]


def _training_features(tagger, texts):
  """The Python training pipeline's features of texts (one part each)."""
  features = []
  for text in texts:
    words, offsets = token_data.split_words(text)
    sentence = token_data.Sentence(words, None, "", text, offsets)
    (feature, _), = token_data.encode(
        sentence, token_data.word_pieces(tagger.task.tokenizer, words),
        tagger.task.packer, tagger.task.label_index)
    features.append(feature)
  return {k: np.stack([f[k] for f in features]) for k in INPUT_KEYS}


def test_exported_tagger_answers_raw_text(exported):
  _, tagger, served = exported
  assert set(served["tag"]) == {"tag_ids", "probabilities",
                                *token_serving.ENTITY_OUTPUTS}
  tag_ids = np.array(served["tag"]["tag_ids"])
  outputs = tagger.trainer.model(_training_features(tagger, REVIEWS),
                                 training=False)
  np.testing.assert_array_equal(tag_ids, outputs["tag_ids"].numpy())
  # The dish's first piece is tagged B-DISH, and served as a dish.
  labels = [tagger.task.label_list[i] for i in tag_ids[0]]
  assert "B-DISH" in labels
  assert "DISH" in served["tag"]["entity_types"][0]


def _test_spans(tagger):
  """[(text, [(type, span)])] of the run's own test_spans.tsv."""
  path = os.path.join(tagger.settings.output_dir, "test_spans.tsv")
  with open(path, encoding="utf-8") as f:
    rows = [line.rstrip("\n").split("\t") for line in f][1:]
  return [(text, [tuple(span.split(": ", 1)) for span in spans.split(" | ")
                  if span]) for _, text, spans in rows]


def test_served_entities_equal_test_spans(exported):
  """The export's entities for the test reviews are test_spans.tsv's, in
  the reviews' own characters (non-ASCII and CJK included)."""
  _, tagger, served = exported
  served = served["tag_test"]
  expected = _test_spans(tagger)
  assert len(expected) == len(served["entities"])
  assert sum(len(spans) for _, spans in expected) >= 5
  for row, (text, spans) in enumerate(expected):
    count = served["num_entities"][row]
    assert count == len(spans), text
    kept = min(count, MAX_ENTITIES)
    got = list(zip(served["entity_types"][row][:kept],
                   served["entities"][row][:kept]))
    assert got == spans[:kept], text
    assert served["entities"][row][kept:] == [""] * (MAX_ENTITIES - kept)
    for k in range(kept):
      start, end = served["entity_starts"][row][k], served["entity_ends"][
          row][k]
      assert text[start:end] == served["entities"][row][k]
      assert 0 < served["entity_scores"][row][k] <= 1


def test_served_entities_score_what_the_evaluation_scores(exported):
  """Span F1 of the served entities (offsets against the gold character
  spans) on dev equals the run's own dev evaluation."""
  _, tagger, _ = exported
  sentences = tagger.task.sentences("dev")
  serving = tf.saved_model.load(os.path.join(
      tagger.settings.export_dir, "1")).signatures["serving_default"]
  served = serving(text=tf.constant([s.text for s in sentences]))
  assert (served["num_entities"].numpy() <= MAX_ENTITIES).all()
  gold, predicted = set(), set()
  for row, sentence in enumerate(sentences):
    gold |= {(row, kind, sentence.offsets[first][0],
              sentence.offsets[last][1])
             for kind, first, last in metrics.get_entities(sentence.tags)}
    for k in range(served["num_entities"][row]):
      predicted.add((row, served["entity_types"][row, k].numpy().decode(),
                     int(served["entity_starts"][row, k]),
                     int(served["entity_ends"][row, k])))
  correct = len(gold & predicted)
  f1 = 2 * correct / (len(gold) + len(predicted))
  assert f1 == pytest.approx(tagger.evaluate("dev")["f1"], abs=1e-6)
  assert f1 > 0.3  # The model tags dishes (the comparison means something).


def _tfhub_export(job, tmp_path, task, **values):
  """tfhub_export.export --finetuned_dir of a fine-tuning run, loaded."""
  settings = job.settings
  paths = tfhub_export.run(settings_lib.defaults(
      tfhub_export.ExportSettings, finetuned_dir=settings.output_dir,
      finetuned_task=task, albert_config_file=settings.albert_config_file,
      spm_model_file=settings.spm_model_file, export_type="serving",
      export_path=str(tmp_path / task), **values), log=lambda *_: None)
  assert paths == [str(tmp_path / task / "1")]
  return tf.saved_model.load(paths[0]).signatures["serving_default"]


def test_tfhub_export_of_the_fine_tuned_tagger(exported, tmp_path):
  """tfhub_export.export --finetuned_dir serves what --export_dir serves,
  with its own --max_entities."""
  _, tagger, served = exported
  serving = _tfhub_export(tagger, tmp_path, "token_classification",
                          max_entities=2)
  outputs = serving(text=tf.constant(REVIEWS))
  assert outputs["entities"].shape == (len(REVIEWS), 2)
  assert outputs["entities"].numpy().astype(str).tolist() == [
      row[:2] for row in served["tag"]["entities"]]
  np.testing.assert_allclose(outputs["probabilities"].numpy(),
                             served["tag"]["probabilities"], atol=1e-6)


def test_tfhub_export_of_the_fine_tuned_classifier(exported, tmp_path):
  classifier, _, served = exported
  serving = _tfhub_export(classifier, tmp_path, "classifier")
  outputs = serving(text_a=tf.constant(SENTENCES),
                    text_b=tf.constant([""] * len(SENTENCES)))
  assert outputs["classes"].numpy().astype(str).tolist() == served["cls"][
      "classes"]
  np.testing.assert_allclose(outputs["scores"].numpy(),
                             served["cls"]["scores"], atol=1e-6)


def _client_view(signature):
  """Input and output names, dtypes and shapes of a loaded signature."""
  _, inputs = signature.structured_input_signature
  return ({k: (v.dtype, v.shape.as_list()) for k, v in inputs.items()},
          {k: (v.dtype, v.shape.as_list())
           for k, v in signature.structured_outputs.items()})


def test_fine_tuned_models_in_bfloat16_serve_the_same(exported, tmp_path):
  """--export_precision=bfloat16 of the fine-tuned classifier and tagger:
  the float32 export's signatures (names, dtypes, shapes) and predictions.
  """
  classifier, tagger, served = exported
  float32 = {task: tf.saved_model.load(os.path.join(
      job.settings.export_dir, "1")).signatures["serving_default"]
             for task, job in (("classifier", classifier),
                               ("token_classification", tagger))}
  cls = _tfhub_export(classifier, tmp_path, "classifier",
                      export_precision="bfloat16")
  tag = _tfhub_export(tagger, tmp_path, "token_classification",
                      export_precision="bfloat16", max_entities=MAX_ENTITIES)
  assert _client_view(cls) == _client_view(float32["classifier"])
  assert _client_view(tag) == _client_view(float32["token_classification"])
  outputs = cls(text_a=tf.constant(SENTENCES),
                text_b=tf.constant([""] * len(SENTENCES)))
  assert outputs["classes"].numpy().astype(str).tolist() == served["cls"][
      "classes"]
  # A softmax over 2 classes computed in bfloat16 (8 significant bits).
  np.testing.assert_allclose(outputs["scores"].numpy(),
                             served["cls"]["scores"], atol=0.02)
  outputs = tag(text=tf.constant(REVIEWS))
  assert outputs["entities"].numpy().astype(str).tolist() == served["tag"][
      "entities"]
  np.testing.assert_allclose(outputs["probabilities"].numpy(),
                             served["tag"]["probabilities"], atol=0.02)


@pytest.mark.parametrize("values, message", [
    (dict(export_type="all"), "--export_type=serving"),
    (dict(finetuned_task=None), "needs --finetuned_task"),
    (dict(checkpoint="x"), "not both"),
    (dict(finetuned_task="classifier"),
     "holds a TokenClassificationTask model, not one of "
     "--finetuned_task=classifier's"),
])
def test_tfhub_export_finetuned_flag_errors(exported, tmp_path, values,
                                            message):
  _, tagger, _ = exported
  settings = dict(finetuned_dir=tagger.settings.output_dir,
                  finetuned_task="token_classification",
                  albert_config_file=tagger.settings.albert_config_file,
                  spm_model_file=tagger.settings.spm_model_file,
                  export_type="serving", export_path=str(tmp_path / "x"))
  settings.update(values)
  with pytest.raises(FlagError, match=message):
    tfhub_export.run(settings_lib.defaults(tfhub_export.ExportSettings,
                                           **settings), log=lambda *_: None)
  assert not os.path.exists(tmp_path / "x")


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
                                   "predicted_choice", "predicted_option"}
  outputs = job.trainer.model(features, training=False)
  logits = np.array(served["served"]["logits"])
  assert logits.shape == (len(RACE_QUESTIONS), 4)
  np.testing.assert_allclose(logits, outputs["logits"].numpy(), atol=5e-5)
  np.testing.assert_allclose(served["served"]["probabilities"],
                             outputs["probabilities"].numpy(), atol=5e-5)
  assert served["served"]["predicted_choice"] == np.argmax(
      logits, axis=-1).tolist()
  # The chosen option in the user's words.
  assert served["served"]["predicted_option"] == [
      options[choice] for (_, _, options), choice in zip(
          RACE_QUESTIONS, served["served"]["predicted_choice"])]
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


def test_tfhub_export_of_the_fine_tuned_race_model(race_exported, tmp_path):
  """tfhub_export.export --finetuned_task=race packs with the run's
  max_qa_length (12, recorded; the default 128 would keep the long
  option whole) and answers as --export_dir's model; TFLite is refused."""
  job, _, served = race_exported
  signature = _tfhub_export(job, tmp_path, "race")
  articles, questions, options = zip(*RACE_QUESTIONS)
  outputs = signature(article=tf.constant(articles),
                      question=tf.constant(questions),
                      options=tf.constant(options))
  for key in ("logits", "probabilities"):
    np.testing.assert_allclose(outputs[key].numpy(), served["served"][key],
                               atol=1e-6, err_msg=key)
  assert outputs["predicted_option"].numpy().astype(str).tolist() == served[
      "served"]["predicted_option"]
  with pytest.raises(export_utils.ExportError, match="multiple-choice"):
    tfhub_export.run(settings_lib.defaults(
        tfhub_export.ExportSettings, finetuned_dir=job.settings.output_dir,
        finetuned_task="race",
        albert_config_file=job.settings.albert_config_file,
        spm_model_file=job.settings.spm_model_file, export_type="tflite",
        export_path=str(tmp_path / "tflite")), log=lambda *_: None)
  assert not os.path.exists(tmp_path / "tflite")


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
