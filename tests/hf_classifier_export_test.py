"""A fine-tuned HF sequence classifier served through run_classifier's TF
Serving export, without training: raw text in, transformers' probabilities
out (in a fresh process that imports only tensorflow + tensorflow_text)."""

import json
import os
import shutil

import numpy as np
import torch
import transformers

import export_fixtures
import hf_models
from hf_models import TORCH_TOLERANCE
from reference_data import SPM_MODEL
from albert_tf import run_classifier

SENTENCES = ["The movie was GREAT and lovely!", "a terrible plot, awful",
             "Tokenizers agree on accents: café naïve"]
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def _hf_classifier(directory):
  config = hf_models.tiny_config(
      vocab_size=4000, num_hidden_groups=2, hidden_act="gelu_new",
      num_labels=3, id2label=LABELS,
      label2id={v: k for k, v in LABELS.items()})
  model = hf_models.random_model(
      transformers.AlbertForSequenceClassification, config, seed=11)
  hf_models.save(model, directory)
  # The tokenizer, as the Hub's ALBERT directories carry it.
  shutil.copyfile(SPM_MODEL, os.path.join(directory, "spiece.model"))
  # transformers builds its tokenizer from spiece.model (lower case, accents
  # stripped: ALBERT's defaults).
  return model, transformers.AlbertTokenizer.from_pretrained(directory)


def test_hf_classifier_served_on_raw_text(tmp_path):
  hf_dir = str(tmp_path / "hf")
  model, tokenizer = _hf_classifier(hf_dir)
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  (data_dir / "test.csv").write_text(
      "text\n" + "".join(json.dumps(s, ensure_ascii=False) + "\n"
                          for s in SENTENCES), encoding="utf-8")

  export_dir = str(tmp_path / "export")
  output_dir = str(tmp_path / "out")
  run_classifier.run(run_classifier.defaults(
      task_name="csv", init_checkpoint=hf_dir, data_dir=str(data_dir),
      output_dir=output_dir, export_dir=export_dir, do_predict=True,
      max_seq_length=32))

  script = """
import json
serving = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
texts = json.loads(sys.argv[2])
out = serving(text_a=tf.constant(texts), text_b=tf.constant([""] * len(texts)))
def plain(value):  # Strings as str: JSON has no bytes.
  if value.dtype == tf.string:
    return tf.nest.map_structure(bytes.decode, value.numpy().tolist())
  return value.numpy().tolist()
print(json.dumps({k: plain(v) for k, v in out.items()}))
"""
  stdout = export_fixtures.run_fresh(
      script, os.path.join(export_dir, "1"), json.dumps(SENTENCES))
  served = json.loads(stdout.strip().splitlines()[-1])

  encoded = tokenizer(SENTENCES, padding=True, return_tensors="pt")
  with torch.no_grad():
    probabilities = torch.softmax(model(**encoded).logits, -1).numpy()
  np.testing.assert_allclose(served["probabilities"], probabilities,
                             atol=TORCH_TOLERANCE, rtol=0)
  assert served["predictions"] == probabilities.argmax(-1).tolist()
  # The export names the labels too (id2label's, TF Serving Classify style).
  assert served["classes"] == [[LABELS[i] for i in sorted(LABELS)]] * len(
      SENTENCES)
  assert served["predicted_class"] == [
      LABELS[i] for i in probabilities.argmax(-1)]

  # --do_predict names the predictions with id2label's labels.
  with open(os.path.join(output_dir, "submit_results.tsv")) as f:
    predicted = [line.split("\t")[1].strip() for line in f][1:]
  assert predicted == [LABELS[i] for i in probabilities.argmax(-1)]
  with open(os.path.join(output_dir, "test_results.tsv")) as f:
    rows = [[float(x) for x in line.split("\t")] for line in f]
  np.testing.assert_allclose(rows, probabilities, atol=1e-5 + 1e-6)
