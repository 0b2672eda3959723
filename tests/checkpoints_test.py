"""Original TF1 checkpoints in and out, native TF2 checkpoints, bad inputs."""

import os

import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_tf import checkpoints
from albert_tf.checkpoints import CheckpointMismatchError
from albert_tf.config import AlbertConfig
import reference_data as ref


def fixture_model(name, model_cls=albert_tf.AlbertPretrainer):
  config = AlbertConfig.from_json_file(ref.config_path(name))
  return model_cls(config)


def write_tf1(path, arrays):
  """Writes a name-based checkpoint with exactly `arrays` {name: ndarray}."""
  names = sorted(arrays)
  tf.raw_ops.SaveV2(prefix=path, tensor_names=names,
                    shape_and_slices=[""] * len(names),
                    tensors=[tf.constant(arrays[n]) for n in names])
  return path


def fixture_arrays(name):
  reader = tf.train.load_checkpoint(ref.checkpoint_prefix(name))
  return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


@pytest.mark.parametrize("name", ref.MODEL_FIXTURES)
def test_save_writes_the_original_names_and_shapes(name, tmp_path):
  model = fixture_model(name)
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix(name))
  prefix = checkpoints.save_tf1_checkpoint(model, str(tmp_path / "model.ckpt"))
  saved = tf.train.load_checkpoint(prefix).get_variable_to_shape_map()
  assert {k: list(v) for k, v in saved.items()} == ref.variable_shapes(name)
  # The directory is a valid TF1 checkpoint dir, and nothing temporary is left.
  assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
  assert sorted(os.listdir(tmp_path)) == [
      "checkpoint", "model.ckpt.data-00000-of-00001", "model.ckpt.index"]


@pytest.mark.parametrize("name", ref.MODEL_FIXTURES)
def test_save_then_load_gives_identical_weights(name, tmp_path):
  model = fixture_model(name)
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix(name))
  prefix = checkpoints.save_tf1_checkpoint(model, str(tmp_path), global_step=7)
  reloaded = fixture_model(name)
  report = checkpoints.load_tf1_checkpoint(reloaded, str(tmp_path))
  assert report.skipped_training_state == ["global_step"]
  for a, b in zip(model.weights, reloaded.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  # And the bytes equal the original checkpoint's, variable by variable.
  original = fixture_arrays(name)
  reader = tf.train.load_checkpoint(prefix)
  for var_name, value in original.items():
    np.testing.assert_array_equal(reader.get_tensor(var_name), value)


def test_report_lists_loaded_and_unused(tmp_path):
  encoder = fixture_model("google_tiny", albert_tf.AlbertEncoder)
  report = checkpoints.load_tf1_checkpoint(encoder,
                                           ref.checkpoint_prefix("google_tiny"))
  assert report.flavor == "google"
  assert len(report.loaded) == 25
  assert report.unused == sorted(
      n for n in ref.variable_shapes("google_tiny") if n.startswith("cls/"))
  assert "unused checkpoint variables (7)" in str(report)


def test_optimizer_slots_and_global_step_are_ignored(tmp_path):
  arrays = fixture_arrays("zh_tiny")
  for name in list(arrays):
    arrays[name + "/lamb_m"] = np.zeros_like(arrays[name])
    arrays[name + "/adam_v"] = np.zeros_like(arrays[name])
  arrays["global_step"] = np.array(125000, np.int64)
  path = write_tf1(str(tmp_path / "with_slots"), arrays)
  model = fixture_model("zh_tiny")
  report = checkpoints.load_tf1_checkpoint(model, path)
  assert report.unused == []
  assert len(report.skipped_training_state) == 2 * 31 + 1
  reference = fixture_model("zh_tiny")
  checkpoints.load_tf1_checkpoint(reference, ref.checkpoint_prefix("zh_tiny"))
  for a, b in zip(model.weights, reference.weights):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_missing_and_misshaped_variables_are_all_listed(tmp_path):
  arrays = fixture_arrays("google_tiny")
  del arrays["bert/pooler/dense/bias"]
  del arrays["cls/predictions/output_bias"]
  arrays["bert/embeddings/word_embeddings"] = np.zeros([121, 16], np.float32)
  path = write_tf1(str(tmp_path / "broken"), arrays)
  model = fixture_model("google_tiny")
  before = [w.numpy() for w in model.weights]
  with pytest.raises(CheckpointMismatchError) as info:
    checkpoints.load_tf1_checkpoint(model, path)
  message = str(info.value)
  assert "missing from the checkpoint (2)" in message
  assert "bert/pooler/dense/bias" in message
  assert "cls/predictions/output_bias" in message
  assert ("bert/embeddings/word_embeddings: checkpoint [121, 16], "
          "model [120, 16]") in message
  # Nothing was assigned.
  for a, b in zip(before, model.weights):
    np.testing.assert_array_equal(a, b.numpy())


def test_extra_variables_are_reported_not_fatal(tmp_path):
  arrays = fixture_arrays("google_tiny")
  arrays["bert/encoder/transformer/group_1/inner_group_0/LayerNorm/beta"] = (
      np.zeros([32], np.float32))
  path = write_tf1(str(tmp_path / "extra"), arrays)
  report = checkpoints.load_tf1_checkpoint(fixture_model("google_tiny"), path)
  assert report.unused == [
      "bert/encoder/transformer/group_1/inner_group_0/LayerNorm/beta"]


def test_config_that_does_not_fit_the_checkpoint():
  config = AlbertConfig.from_json_file(ref.config_path("google_tiny"))
  model = albert_tf.AlbertPretrainer(config.replace(intermediate_size=64))
  with pytest.raises(CheckpointMismatchError, match="shape mismatches"):
    checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix("google_tiny"))
  grouped = albert_tf.AlbertPretrainer(config.replace(num_hidden_groups=2))
  with pytest.raises(CheckpointMismatchError, match="group_1"):
    checkpoints.load_tf1_checkpoint(grouped,
                                    ref.checkpoint_prefix("google_tiny"))


def test_flavor_mismatch_says_what_to_change():
  zh_config = AlbertConfig.from_json_file(ref.config_path("zh_tiny"))
  google_model = albert_tf.AlbertPretrainer(zh_config.replace(ln_type=None))
  with pytest.raises(CheckpointMismatchError, match='add "ln_type"'):
    checkpoints.load_tf1_checkpoint(google_model,
                                    ref.checkpoint_prefix("zh_tiny"))
  assert checkpoints.detect_flavor(ref.variable_shapes("zh_tiny")) == (
      "albert_zh")
  assert checkpoints.detect_flavor(ref.variable_shapes("google_groups")) == (
      "google")


def test_init_from_group0_fills_every_group():
  config = AlbertConfig.from_json_file(ref.config_path("google_tiny"))
  model = albert_tf.AlbertEncoder(config.replace(num_hidden_groups=4))
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix("google_tiny"),
                                  init_from_group0=True)
  first = model.groups[0].get_weights()
  for group in model.groups[1:]:
    for a, b in zip(first, group.get_weights()):
      np.testing.assert_array_equal(a, b)
  # Four copies of the shared group compute what the shared model computes.
  shared = albert_tf.AlbertEncoder(config)
  checkpoints.load_tf1_checkpoint(shared, ref.checkpoint_prefix("google_tiny"))
  inputs = ref.model_inputs("google_tiny", with_positions=False)
  np.testing.assert_allclose(model(inputs)["sequence_output"],
                             shared(inputs)["sequence_output"], atol=1e-6)


def test_bad_paths(tmp_path):
  model = fixture_model("google_tiny")
  with pytest.raises(FileNotFoundError, match="no checkpoint at"):
    checkpoints.load_tf1_checkpoint(model, str(tmp_path / "nothing"))
  with pytest.raises(FileNotFoundError, match="no checkpoint found in"):
    checkpoints.load_tf1_checkpoint(model, str(tmp_path))
  (tmp_path / "junk.index").write_bytes(b"not a checkpoint")
  with pytest.raises(checkpoints.DamagedCheckpointError,
                     match="junk is damaged"):
    checkpoints.load_tf1_checkpoint(model, str(tmp_path / "junk"))


def test_not_an_albert_checkpoint(tmp_path):
  path = write_tf1(str(tmp_path / "other"),
                   {"dense/kernel": np.zeros([2, 2], np.float32)})
  with pytest.raises(CheckpointMismatchError, match="not an ALBERT checkpoint"):
    checkpoints.load_tf1_checkpoint(fixture_model("google_tiny"), path)


@pytest.mark.parametrize("name", ["google_groups", "zh_tiny"])
def test_native_tf2_checkpoint_round_trip(name, tmp_path):
  model = fixture_model(name)
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix(name))
  prefix = checkpoints.save_tf2_checkpoint(model, str(tmp_path / "tf2"))
  assert checkpoints.is_tf2_checkpoint(prefix)
  assert not checkpoints.is_tf2_checkpoint(ref.checkpoint_prefix(name))
  restored = fixture_model(name)
  checkpoints.load_checkpoint(restored, prefix)
  inputs = ref.model_inputs(name)
  np.testing.assert_array_equal(restored(inputs)["mlm_logits"],
                                model(inputs)["mlm_logits"])
  # An encoder alone restores from the pretrainer's checkpoint.
  encoder = fixture_model(name, albert_tf.AlbertEncoder)
  checkpoints.load_checkpoint(encoder, prefix)
  np.testing.assert_array_equal(
      encoder(ref.model_inputs(name, with_positions=False))["pooled_output"],
      model(inputs)["pooled_output"])
  # And a TF1 loader refuses it with a pointer to the right function.
  with pytest.raises(CheckpointMismatchError, match="load_checkpoint"):
    checkpoints.load_tf1_checkpoint(fixture_model(name), prefix)


def test_tf2_checkpoint_of_a_different_shape_is_refused(tmp_path):
  model = fixture_model("google_tiny")
  prefix = checkpoints.save_tf2_checkpoint(model, str(tmp_path / "tf2"))
  config = AlbertConfig.from_json_file(ref.config_path("google_tiny"))
  other = albert_tf.AlbertPretrainer(config.replace(intermediate_size=64))
  before = [w.numpy() for w in other.weights]
  with pytest.raises(CheckpointMismatchError, match="does not match"):
    checkpoints.load_checkpoint(other, prefix)
  for a, b in zip(before, other.weights):
    np.testing.assert_array_equal(a, b.numpy())


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
