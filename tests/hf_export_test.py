"""albert_tf models written as HF directories load exactly in transformers."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers

import hf_models
import reference_data as ref
from hf_models import TORCH_TOLERANCE
from albert_tf import checkpoints
from albert_tf.checkpoints import format_conversion
from albert_tf.config import AlbertConfig
from albert_tf.modeling import AlbertEncoder
from albert_tf.modeling.albert_pretrainer import AlbertPretrainer
from albert_tf.tasks.classifier_model import ClassifierModel


@pytest.mark.parametrize("name", ["google_tiny", "google_groups"])
def test_golden_checkpoint_as_hf_reproduces_original_outputs(name, tmp_path):
  hf_dir = str(tmp_path / "hf")
  format_conversion.convert(
      ref.checkpoint_prefix(name), hf_dir, "hf",
      config=AlbertConfig.from_json_file(ref.config_path(name)),
      tokenizer=format_conversion.TokenizerFiles(ref.SPM_MODEL))
  assert sorted(os.listdir(hf_dir)) == [
      ".albert_tf_output", "config.json", "model.safetensors",
      "special_tokens_map.json", "spiece.model", "tokenizer_config.json"]
  with open(os.path.join(hf_dir, "config.json")) as f:
    assert json.load(f)["hidden_act"] == "gelu_new"  # The original's gelu.

  model = transformers.AlbertForPreTraining.from_pretrained(hf_dir).eval()
  raw, expected = ref.inputs(name), ref.expected(name)
  with torch.no_grad():
    outputs = model(
        input_ids=torch.tensor(raw["input_ids"], dtype=torch.long),
        attention_mask=torch.tensor(raw["input_mask"], dtype=torch.long),
        token_type_ids=torch.tensor(raw["token_type_ids"], dtype=torch.long),
        output_hidden_states=True)
    base = model.albert(
        input_ids=torch.tensor(raw["input_ids"], dtype=torch.long),
        attention_mask=torch.tensor(raw["input_mask"], dtype=torch.long),
        token_type_ids=torch.tensor(raw["token_type_ids"], dtype=torch.long))
  check = lambda ours, key: np.testing.assert_allclose(
      ours, expected[key], atol=TORCH_TOLERANCE, rtol=0, err_msg=key)
  check(base.last_hidden_state.numpy(), "sequence_output")
  check(base.pooler_output.numpy(), "pooled_output")
  positions = torch.tensor(raw["masked_lm_positions"], dtype=torch.long)
  rows = torch.arange(positions.shape[0])[:, None]
  mlm = torch.log_softmax(outputs.prediction_logits[rows, positions], -1)
  check(mlm.reshape(-1, mlm.shape[-1]).numpy(), "mlm_log_probs")
  check(torch.log_softmax(outputs.sop_logits, -1).numpy(), "sop_log_probs")


def test_tf1_to_hf_to_tf1_is_bit_identical(tmp_path):
  name = "google_groups"
  config = AlbertConfig.from_json_file(ref.config_path(name))
  hf_dir = str(tmp_path / "hf")
  format_conversion.convert(ref.checkpoint_prefix(name), hf_dir, "hf",
                            config=config)
  tf1 = str(tmp_path / "tf1" / "model.ckpt")
  _, input_format, lines = format_conversion.convert(hf_dir, tf1, "tf1")
  assert input_format == "hf"
  assert not any("unused" in line for line in lines), lines
  # The model's config travels along: the TF1 format has none.
  written = AlbertConfig.from_json_file(tmp_path / "tf1" /
                                        "albert_config.json")
  assert written.to_dict() == {k: v for k, v in config.to_dict().items()
                               if k not in ("attention_probs_dropout_prob",
                                            "hidden_dropout_prob")} | {
      "attention_probs_dropout_prob": 0.0, "hidden_dropout_prob": 0.0}
  original = tf.train.load_checkpoint(ref.checkpoint_prefix(name))
  converted = tf.train.load_checkpoint(tf1)
  assert converted.get_variable_to_shape_map() == (
      original.get_variable_to_shape_map())
  for var_name in original.get_variable_to_shape_map():
    np.testing.assert_array_equal(converted.get_tensor(var_name),
                                  original.get_tensor(var_name))


def _random_weights(model, seed):
  rng = np.random.default_rng(seed)
  for weight in model.weights:
    weight.assign(rng.normal(0, 0.3, weight.shape).astype(np.float32))


@pytest.mark.parametrize("act", ["gelu_exact", "relu"])
def test_equal_widths_and_other_activations(act, tmp_path):
  """E == H: no projection in albert_tf, the identity in transformers."""
  config = AlbertConfig(vocab_size=50, embedding_size=16, hidden_size=16,
                        num_hidden_layers=3, num_hidden_groups=3,
                        num_attention_heads=2, intermediate_size=20,
                        hidden_act=act, max_position_embeddings=16)
  model = AlbertPretrainer(config)
  _random_weights(model, seed=3)
  hf_dir = checkpoints.save_hf_directory(model, tmp_path / "hf")
  hf_model = transformers.AlbertForPreTraining.from_pretrained(hf_dir).eval()
  features = hf_models.inputs(vocab_size=50, seq_length=9)
  positions = np.array([[1, 3]] * 3, np.int32)
  ours = model(dict(features, masked_lm_positions=positions), training=False)
  with torch.no_grad():
    base = hf_model.albert(**hf_models.torch_inputs(features))
    theirs = hf_model(**hf_models.torch_inputs(features))
  np.testing.assert_allclose(ours["sequence_output"],
                             base.last_hidden_state.numpy(),
                             atol=TORCH_TOLERANCE, rtol=0)
  mlm = theirs.prediction_logits[torch.arange(3)[:, None],
                                 torch.tensor(positions, dtype=torch.long)]
  np.testing.assert_allclose(ours["mlm_logits"], mlm.numpy(),
                             atol=TORCH_TOLERANCE, rtol=0)
  # And back: the identity projection is accepted, the values survive.
  again = AlbertPretrainer(config)
  checkpoints.load_checkpoint(again, hf_dir)
  for a, b in zip(model.weights, again.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_classifier_writes_sequence_classification_with_labels(tmp_path):
  config = AlbertConfig.from_json_file(ref.config_path("google_tiny"))
  classifier = ClassifierModel(AlbertEncoder(config), 3)
  _random_weights(classifier, seed=5)
  hf_dir = checkpoints.save_hf_directory(
      classifier, tmp_path / "hf", id2label=["a", "b", "c"])
  hf_model = transformers.AlbertForSequenceClassification.from_pretrained(
      hf_dir).eval()
  assert hf_model.config.id2label == {0: "a", 1: "b", 2: "c"}
  features = hf_models.inputs(vocab_size=120)
  with torch.no_grad():
    logits = hf_model(**hf_models.torch_inputs(features)).logits.numpy()
  np.testing.assert_allclose(classifier(features, training=False)["logits"],
                             logits, atol=TORCH_TOLERANCE, rtol=0)


def test_wordpiece_vocabulary_goes_along(tmp_path):
  config = AlbertConfig.from_json_file(ref.config_path("google_tiny"))
  hf_dir = checkpoints.save_hf_directory(
      AlbertEncoder(config), tmp_path / "hf", vocab_file=ref.ZH_VOCAB)
  assert sorted(os.listdir(hf_dir)) == [
      ".albert_tf_output", "config.json", "model.safetensors",
      "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"]
  tokenizer = transformers.AutoTokenizer.from_pretrained(hf_dir)
  assert tokenizer.tokenize("我爱你") == ["我", "爱", "你"]
  with open(os.path.join(hf_dir, "config.json")) as f:
    assert json.load(f)["architectures"] == ["AlbertModel"]


def test_sharded_safetensors_are_read(tmp_path):
  hf_model = hf_models.random_model(transformers.AlbertForPreTraining,
                                    hf_models.tiny_config())
  hf_model.save_pretrained(tmp_path / "hf", max_shard_size="6KB")
  assert os.path.exists(tmp_path / "hf" / "model.safetensors.index.json")
  model = AlbertPretrainer(AlbertConfig.from_json_file(
      tmp_path / "hf" / "config.json"))
  report = checkpoints.load_checkpoint(model, str(tmp_path / "hf"))
  assert report.weights_file.endswith("model.safetensors.index.json")
  np.testing.assert_array_equal(
      model.sentence_order.output_weights.numpy(),
      hf_model.sop_classifier.classifier.weight.detach().numpy())
