"""Damaged checkpoints: one clear error naming the files, and resuming from
the newest checkpoint that still reads."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import albert_tf
from albert_tf import checkpoints
from albert_tf.checkpoints import DamagedCheckpointError
from albert_tf.checkpoints import encoder_init
from albert_tf.config import AlbertConfig
from albert_tf.errors import UserError
import reference_data as ref

DATA = ".data-00000-of-00001"


def truncate_data(prefix):
  path = prefix + DATA
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


def flip_data_byte(prefix):
  path = prefix + DATA
  data = bytearray(open(path, "rb").read())
  data[len(data) // 2] ^= 0xFF
  with open(path, "wb") as f:
    f.write(data)


def truncate_index(prefix):
  path = prefix + ".index"
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)


DAMAGE = {"truncated_data": truncate_data, "flipped_byte": flip_data_byte,
          "truncated_index": truncate_index}


def copy_fixture(name, directory):
  target = os.path.join(directory, name)
  shutil.copytree(ref.model_dir(name), target)
  return os.path.join(target, "model.ckpt")


def fixture_config(name):
  return AlbertConfig.from_json_file(ref.config_path(name))


def snapshot(model):
  return [w.numpy().copy() for w in model.weights]


def assert_unchanged(model, before):
  for weight, value in zip(model.weights, before):
    np.testing.assert_array_equal(weight.numpy(), value)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_tf1_checkpoint_is_one_user_error(damage, tmp_path):
  prefix = copy_fixture("google_tiny", str(tmp_path))
  DAMAGE[damage](prefix)
  model = albert_tf.AlbertPretrainer(fixture_config("google_tiny"))
  before = snapshot(model)
  for load in (checkpoints.load_tf1_checkpoint, checkpoints.load_checkpoint):
    with pytest.raises(DamagedCheckpointError) as raised:
      load(model, prefix)
    assert f"checkpoint {prefix} is damaged" in str(raised.value)
    assert isinstance(raised.value, UserError)
    assert isinstance(raised.value, ValueError)
  assert_unchanged(model, before)
  with pytest.raises(DamagedCheckpointError, match="is damaged"):
    encoder_init.init_encoder(model.encoder, os.path.dirname(prefix))


def test_damaged_tf2_checkpoint_leaves_the_model_untouched(tmp_path):
  model = albert_tf.AlbertPretrainer(fixture_config("google_tiny"))
  checkpoints.load_tf1_checkpoint(model, ref.checkpoint_prefix("google_tiny"))
  prefix = checkpoints.save_tf2_checkpoint(model, str(tmp_path / "tf2"))
  truncate_data(prefix)
  fresh = albert_tf.AlbertPretrainer(fixture_config("google_tiny"))
  fresh(ref.model_inputs("google_tiny"))  # Builds the weights.
  before = snapshot(fresh)
  with pytest.raises(DamagedCheckpointError, match=f"{prefix} is damaged"):
    checkpoints.load_checkpoint(fresh, prefix)
  assert_unchanged(fresh, before)


@pytest.mark.parametrize("state", [b"\xff\xfe\x00garbage\x80",
                                   b"hello world\n"])
def test_garbage_state_file_names_the_file(state, tmp_path):
  prefix = copy_fixture("google_tiny", str(tmp_path))
  directory = os.path.dirname(prefix)
  with open(os.path.join(directory, "checkpoint"), "wb") as f:
    f.write(state)
  state_path = os.path.join(directory, "checkpoint")
  with pytest.raises(DamagedCheckpointError,
                     match=f"state file {state_path} is damaged"):
    checkpoints.resolve_checkpoint(directory)
  model = albert_tf.AlbertEncoder(fixture_config("google_tiny"))
  with pytest.raises(DamagedCheckpointError, match=state_path):
    encoder_init.init_encoder(model, directory)
  # The prefix itself still loads.
  checkpoints.load_checkpoint(model, prefix)


@pytest.mark.parametrize("damaged_file", [
    "saved_model.pb", os.path.join("variables", "variables" + DATA)])
def test_damaged_encoder_saved_model_is_one_user_error(damaged_file,
                                                       tmp_path):
  module = tf.Module()
  module.v = tf.Variable(tf.ones([64, 64]))
  path = str(tmp_path / "encoder")
  tf.saved_model.save(module, path)
  target = os.path.join(path, damaged_file)
  with open(target, "r+b") as f:
    f.truncate(os.path.getsize(target) // 2)
  encoder = albert_tf.AlbertEncoder(fixture_config("google_tiny"))
  with pytest.raises(DamagedCheckpointError,
                     match=f"encoder SavedModel {path} is damaged"):
    encoder_init.init_encoder(encoder, path)


def test_directory_without_state_file_uses_its_only_checkpoint(tmp_path):
  prefix = copy_fixture("google_tiny", str(tmp_path))
  os.remove(os.path.join(os.path.dirname(prefix), "checkpoint"))
  assert checkpoints.resolve_checkpoint(os.path.dirname(prefix)) == prefix


def test_export_refuses_a_damaged_checkpoint(tmp_path):
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  prefix = copy_fixture("zh_tiny", str(tmp_path))
  flip_data_byte(prefix)
  with pytest.raises(DamagedCheckpointError, match=f"{prefix} is damaged"):
    export_utils.load_model(ref.config_path("zh_tiny"), prefix)


# ------------------------------------------------------------- resuming

def write_steps(directory, steps):
  """model.ckpt-<step> TF2 checkpoints of a small object, via the manager."""
  value = tf.Variable(0.0)
  step = tf.Variable(0, dtype=tf.int64)
  root = tf.train.Checkpoint(value=value, step=step)
  manager = tf.train.CheckpointManager(root, directory, max_to_keep=None,
                                       checkpoint_name="model.ckpt",
                                       step_counter=step)
  for s in steps:
    value.assign(float(s))
    step.assign(s)
    manager.save(checkpoint_number=s)
  return [os.path.join(directory, f"model.ckpt-{s}") for s in steps]


def test_latest_readable_checkpoint_falls_back_with_a_warning(tmp_path):
  directory = str(tmp_path)
  first, second, third = write_steps(directory, [1, 2, 3])
  warnings = []
  assert checkpoints.latest_readable_checkpoint(
      directory, warn=warnings.append) == third
  assert not warnings
  truncate_data(third)
  assert checkpoints.latest_readable_checkpoint(
      directory, warn=warnings.append) == second
  assert len(warnings) == 1 and f"{third} is damaged" in warnings[0]
  flip_data_byte(second)
  assert checkpoints.latest_readable_checkpoint(
      directory, warn=lambda _: None) == first
  truncate_index(first)
  with pytest.raises(DamagedCheckpointError, match="every checkpoint"):
    checkpoints.latest_readable_checkpoint(directory, warn=lambda _: None)


@pytest.mark.permissions
@pytest.mark.skipif(os.geteuid() == 0,
                    reason="file permissions do not apply to root")
@pytest.mark.parametrize("unreadable", [DATA, ".index", "state"])
def test_an_unreadable_newest_checkpoint_is_refused_not_skipped(
    tmp_path, unreadable):
  # Another user's checkpoint (mode 0600) is fine: calling it damaged would
  # have users delete it, and resuming from an older one undoes its steps.
  directory = str(tmp_path)
  _, second = write_steps(directory, [1, 2])
  path = (os.path.join(directory, "checkpoint") if unreadable == "state"
          else second + unreadable)
  os.chmod(path, 0)
  warnings = []
  with pytest.raises(checkpoints.UnreadableCheckpointError) as raised:
    checkpoints.latest_readable_checkpoint(directory, repair_state=True,
                                           warn=warnings.append)
  message = str(raised.value)
  assert path in message and "permission denied" in message, message
  assert "damaged" not in message.replace("not damaged", "")
  assert not warnings
  assert not isinstance(raised.value, DamagedCheckpointError)
  if unreadable != "state":
    with pytest.raises(checkpoints.UnreadableCheckpointError,
                       match="permission denied"):
      checkpoints.verify_checkpoint(second)
  os.chmod(path, 0o644)
  assert checkpoints.latest_readable_checkpoint(directory) == second


def test_repaired_state_lets_a_checkpoint_manager_resume(tmp_path):
  directory = str(tmp_path)
  first, second, third = write_steps(directory, [10, 20, 30])
  # A side checkpoint (best model) is never a candidate for resuming.
  checkpoints.save_tf1_checkpoint(
      albert_tf.AlbertEncoder(fixture_config("google_tiny")),
      os.path.join(directory, "model.ckpt-best"), update_state=False)
  flip_data_byte(third)
  with open(os.path.join(directory, "checkpoint"), "wb") as f:
    f.write(b"\x00\xff\xfe")
  warnings = []
  latest = checkpoints.latest_readable_checkpoint(
      directory, repair_state=True, warn=warnings.append)
  assert latest == second
  assert any("state file" in w for w in warnings)
  assert any(f"{third} is damaged" in w for w in warnings)
  value = tf.Variable(-1.0)
  step = tf.Variable(0, dtype=tf.int64)
  root = tf.train.Checkpoint(value=value, step=step)
  manager = tf.train.CheckpointManager(root, directory, max_to_keep=5,
                                       checkpoint_name="model.ckpt")
  assert manager.latest_checkpoint == second
  assert manager.checkpoints == [first, second]
  root.restore(manager.latest_checkpoint).assert_consumed()
  assert float(value.numpy()) == 20.0


def test_no_checkpoint_yet_is_none(tmp_path):
  assert checkpoints.latest_readable_checkpoint(str(tmp_path)) is None
  assert checkpoints.latest_readable_checkpoint(
      str(tmp_path / "not_created")) is None


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
