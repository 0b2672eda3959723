"""--export_dir: fine-tuned models answer raw text in a fresh process that
imports only tensorflow and tensorflow_text."""

import json
import os

import numpy as np
import pytest

import export_fixtures
import finetuning_data
from reference_data import SPM_MODEL
from albert_tf import run_classifier
from albert_tf import run_token_classification

SENTENCES = ["the movie was great and lovely", "a terrible plot , awful"]
REVIEWS = ["i loved the pad thai here .", "we ordered miso soup and wine"]


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


def _in_process(job, texts, key):
  packed = [job.packer.pack_text(t) for t in texts]
  features = {k: np.stack([p[k] for p in packed]) for k in packed[0]}
  return job.trainer.model(features, training=False)[key].numpy()


def test_exported_classifier_answers_raw_text(exported):
  classifier, _, served = exported
  assert set(served["cls"]) == {"probabilities", "predictions"}
  np.testing.assert_allclose(served["cls"]["probabilities"],
                             _in_process(classifier, SENTENCES,
                                         "probabilities"), atol=1e-5)
  assert served["cls"]["predictions"] == [1, 0]


def test_exported_tagger_answers_raw_text(exported):
  _, tagger, served = exported
  assert set(served["tag"]) == {"tag_ids", "probabilities"}
  tag_ids = np.array(served["tag"]["tag_ids"])
  np.testing.assert_array_equal(tag_ids,
                                _in_process(tagger, REVIEWS, "tag_ids"))
  # The dish's first piece is tagged B-DISH.
  labels = [tagger.label_list[i] for i in tag_ids[0]]
  assert "B-DISH" in labels


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
