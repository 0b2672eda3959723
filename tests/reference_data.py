"""Access to testdata/, the outputs of the original TF1 code (see its README)."""

import ast
import json
import os

import numpy as np

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_DIR = os.environ.get(
    "ALBERT_TF_REFERENCE",
    os.path.join(PROJECT_ROOT, "testdata"))
MODEL_FIXTURES = ("google_tiny", "google_groups", "zh_tiny")
# Float32 agreement required with the original graph.
TOLERANCE = 5e-5


def model_dir(name):
  path = os.path.join(REFERENCE_DIR, "models", name)
  if not os.path.isdir(path):
    raise FileNotFoundError(
        f"reference fixture {path} is missing: the repository's testdata/ "
        "folder (or ALBERT_TF_REFERENCE pointing at a copy of it) is needed")
  return path


def config_path(name):
  return os.path.join(model_dir(name), "albert_config.json")


def checkpoint_prefix(name):
  return os.path.join(model_dir(name), "model.ckpt")


def inputs(name):
  return dict(np.load(os.path.join(model_dir(name), "inputs.npz")))


def expected(name):
  return dict(np.load(os.path.join(model_dir(name), "expected.npz")))


def variable_shapes(name):
  with open(os.path.join(model_dir(name), "variables.json")) as f:
    return json.load(f)


def param_counts():
  with open(os.path.join(REFERENCE_DIR, "param_counts.json")) as f:
    return json.load(f)


def model_inputs(name, with_positions=True):
  """The fixture's inputs under our encoder/pretrainer input names."""
  raw = inputs(name)
  features = {
      "input_word_ids": raw["input_ids"],
      "input_mask": raw["input_mask"],
      "input_type_ids": raw["token_type_ids"],
  }
  if with_positions:
    features["masked_lm_positions"] = raw["masked_lm_positions"]
  return features


TOKENIZATION_DIR = os.path.join(REFERENCE_DIR, "tokenization")
SPM_MODEL = os.path.join(TOKENIZATION_DIR, "tiny-clean.model")
ZH_VOCAB = os.path.join(TOKENIZATION_DIR, "zh_vocab.txt")


def tokenization_cases():
  """(text, expected) for every case, texts evaluated from cases.txt."""
  with open(os.path.join(TOKENIZATION_DIR,
                         "cases.txt.expected.jsonl")) as f:
    expected = [json.loads(line) for line in f if line.strip()]
  with open(os.path.join(TOKENIZATION_DIR, "cases.txt")) as f:
    literals = [line.strip() for line in f
                if line.strip() and not line.startswith("#")]
  texts = []
  for literal in literals:
    if " * " in literal:  # Simple repetition such as "x" * 300.
      part, times = literal.rsplit(" * ", 1)
      texts.append(ast.literal_eval(part) * int(times))
    else:
      texts.append(ast.literal_eval(literal))
  assert texts == [e["text"] for e in expected]
  return expected
