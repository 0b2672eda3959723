"""Unique parameter counts equal the original graphs' exact counts."""

import numpy as np
import pytest

import albert_tf
from albert_tf import presets
from albert_tf.config import AlbertConfig
from albert_tf.modeling.model_stats import compute_stats
import reference_data as ref

COUNTS = ref.param_counts()


def count(variables):
  return sum(int(np.prod(v.shape)) for v in variables)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_built_models_match_reference_counts(name):
  entry = COUNTS[name]
  config = AlbertConfig.from_dict(entry["config"])
  model = albert_tf.AlbertPretrainer(config)
  assert count(model.encoder.trainable_variables) == entry[
      "encoder_with_pooler"]
  assert count(model.trainable_variables) == entry["with_pretraining_heads"]


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_closed_form_counts_match_reference(name):
  entry = COUNTS[name]
  stats = compute_stats(AlbertConfig.from_dict(entry["config"]))
  assert stats.encoder_params == entry["encoder_with_pooler"]
  assert stats.total_params == entry["with_pretraining_heads"]


@pytest.mark.parametrize("name", ["albert_tiny_zh", "albert_small_zh"])
def test_closed_form_counts_match_built_albert_zh_models(name):
  config = presets.get_preset(name)
  model = albert_tf.AlbertPretrainer(config)
  stats = compute_stats(config)
  assert stats.encoder_params == count(model.encoder.trainable_variables)
  assert stats.total_params == count(model.trainable_variables)


def test_closed_form_counts_match_groups_and_inner_groups():
  config = AlbertConfig.from_json_file(ref.config_path("google_groups"))
  model = albert_tf.AlbertPretrainer(config)
  stats = compute_stats(config)
  assert stats.total_params == count(model.trainable_variables)
  shapes = ref.variable_shapes("google_groups")
  assert stats.total_params == sum(int(np.prod(s)) for s in shapes.values())


def test_forward_flops_by_hand():
  config = AlbertConfig.from_dict(dict(
      vocab_size=10, embedding_size=4, hidden_size=8, num_hidden_layers=3,
      num_attention_heads=2, intermediate_size=16, inner_group_num=2,
      max_position_embeddings=32))
  stats = compute_stats(config, seq_length=16)
  per_block = 2 * (4 * 8 * 8 + 2 * 8 * 16) + 2 * 2 * 16 * 8
  want = 2 * 4 * 8 + 3 * 2 * per_block + (2 * 8 * 8) // 16
  assert stats.forward_flops_per_token == want
  with pytest.raises(ValueError, match="max_position_embeddings"):
    compute_stats(config, seq_length=33)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
