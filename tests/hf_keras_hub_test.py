"""keras-hub (Keras 3) loads the HF directories albert_tf writes."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# pylint: disable=g-import-not-at-top
import keras_hub
import numpy as np

import reference_data as ref
from albert_tf import checkpoints
from albert_tf.checkpoints import format_conversion
from albert_tf.config import AlbertConfig
from albert_tf.modeling import AlbertEncoder
# pylint: enable=g-import-not-at-top

# keras-hub computes in float32 like transformers.
KERAS_HUB_TOLERANCE = 1e-4


def test_backbone_from_our_hf_directory_matches_golden_outputs(tmp_path):
  name = "google_groups"
  hf_dir = str(tmp_path / "hf")
  format_conversion.convert(
      ref.checkpoint_prefix(name), hf_dir, "hf",
      config=AlbertConfig.from_json_file(ref.config_path(name)),
      tokenizer=format_conversion.TokenizerFiles(ref.SPM_MODEL))
  backbone = keras_hub.models.AlbertBackbone.from_preset(hf_dir)
  raw, expected = ref.inputs(name), ref.expected(name)
  outputs = backbone({"token_ids": raw["input_ids"],
                      "segment_ids": raw["token_type_ids"],
                      "padding_mask": raw["input_mask"]})
  np.testing.assert_allclose(np.asarray(outputs["sequence_output"]),
                             expected["sequence_output"],
                             atol=KERAS_HUB_TOLERANCE, rtol=0)
  np.testing.assert_allclose(np.asarray(outputs["pooled_output"]),
                             expected["pooled_output"],
                             atol=KERAS_HUB_TOLERANCE, rtol=0)
  # The tokenizer comes along: keras-hub reads spiece.model.
  tokenizer = keras_hub.tokenizers.AlbertTokenizer.from_preset(hf_dir)
  assert tokenizer.vocabulary_size() == 4000


def test_encoder_only_export_loads_too(tmp_path):
  config = AlbertConfig.from_json_file(ref.config_path("google_tiny"))
  encoder = AlbertEncoder(config)
  checkpoints.load_checkpoint(encoder, ref.checkpoint_prefix("google_tiny"))
  hf_dir = checkpoints.save_hf_directory(encoder, tmp_path / "hf")
  backbone = keras_hub.models.AlbertBackbone.from_preset(hf_dir)
  raw, expected = ref.inputs("google_tiny"), ref.expected("google_tiny")
  outputs = backbone({"token_ids": raw["input_ids"],
                      "segment_ids": raw["token_type_ids"],
                      "padding_mask": raw["input_mask"]})
  np.testing.assert_allclose(np.asarray(outputs["sequence_output"]),
                             expected["sequence_output"],
                             atol=KERAS_HUB_TOLERANCE, rtol=0)
