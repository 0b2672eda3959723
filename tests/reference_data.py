"""Access to ../shared/reference, the outputs of the original TF1 code."""

import json
import os

import numpy as np

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_DIR = os.environ.get(
    "ALBERT_TF_REFERENCE",
    os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "reference"))
MODEL_FIXTURES = ("google_tiny", "google_groups", "zh_tiny")
# Float32 agreement required with the original graph.
TOLERANCE = 5e-5


def model_dir(name):
  path = os.path.join(REFERENCE_DIR, "models", name)
  if not os.path.isdir(path):
    raise FileNotFoundError(
        f"reference fixture {path} is missing: tests need ../shared/reference "
        "beside the project (or ALBERT_TF_REFERENCE pointing at it)")
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
