"""--finetuning_recipe: the stable default and the original, bit for bit."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from albert_tf import checkpoints
from albert_tf.config import AlbertConfig
from albert_tf.errors import FlagError
from albert_tf.modeling import AlbertEncoder
from albert_tf.tasks.classifier_model import ClassifierModel
from albert_tf.tasks.classifier_model import classification_loss
from albert_tf.tasks.finetuning_settings import FinetuningSettings
from albert_tf.training import optimization
from albert_tf.training.finetuning_trainer import FinetuningTrainer
from finetuning_data import TINY_CONFIG


def _trainer(tmp_path, seed=3, **values):
  settings = FinetuningSettings(output_dir=str(tmp_path), train_step=10,
                                warmup_step=0, learning_rate=0.01,
                                train_batch_size=4, **values)
  tf_keras.utils.set_random_seed(seed)
  config = AlbertConfig.from_dict(TINY_CONFIG)
  return FinetuningTrainer(
      tf.distribute.get_strategy(),
      lambda: ClassifierModel(AlbertEncoder(config), 2),
      classification_loss, settings)


def _build(model):
  model({"input_word_ids": tf.ones([1, 4], tf.int32),
         "input_mask": tf.ones([1, 4], tf.int32),
         "input_type_ids": tf.zeros([1, 4], tf.int32)})
  return model


def _two_steps(trainer, weights, seed=0):
  """From `weights`, applies two fixed random gradient steps; returns the
  weights."""
  rng = np.random.RandomState(seed)
  model = _build(trainer.model)
  model.set_weights(weights)
  for _ in range(2):
    trainer.optimizer.apply_gradients(
        [(tf.constant(rng.randn(*v.shape).astype(np.float32) * 0.01), v)
         for v in model.trainable_variables])
  return [v.numpy() for v in model.trainable_variables]


def test_recipe_options():
  stable = FinetuningSettings(init_checkpoint="pretrained").optimizer_options()
  assert stable == {"bias_correction": True,
                    "head_learning_rate_multiplier": 10.0}
  # Nothing pretrained to fine-tune: the original update.
  assert FinetuningSettings().optimizer_options() == {
      "bias_correction": False, "head_learning_rate_multiplier": 1.0}
  original = FinetuningSettings(finetuning_recipe="original")
  assert original.optimizer_options() == {
      "bias_correction": False, "head_learning_rate_multiplier": 1.0}
  # Single parts are overridable in either recipe.
  mixed = FinetuningSettings(finetuning_recipe="original",
                             head_learning_rate_multiplier=4.0)
  assert mixed.optimizer_options()["head_learning_rate_multiplier"] == 4.0
  assert not FinetuningSettings(
      init_checkpoint="pretrained",
      adam_bias_correction=False).optimizer_options()["bias_correction"]
  assert FinetuningSettings(
      adam_bias_correction=True).optimizer_options()["bias_correction"]


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_non_positive_head_multiplier_is_refused(value):
  with pytest.raises(FlagError, match="--head_learning_rate_multiplier"):
    FinetuningSettings(head_learning_rate_multiplier=value).check_training()


def test_original_recipe_is_the_original_update_bit_for_bit(tmp_path):
  """The trainer's optimizer under --finetuning_recipe=original updates
  every variable exactly as the original AdamW does (the same code path
  as create_optimizer with no options, which tf1_reference_graph_test
  compares against the original TF1 optimizer to 1e-6)."""
  trainer = _trainer(tmp_path / "a", finetuning_recipe="original")
  assert not trainer.optimizer.bias_correction
  assert not trainer.optimizer.learning_rate_multipliers
  weights = _build(trainer.model).get_weights()
  ours = _two_steps(trainer, weights)

  reference = _trainer(tmp_path / "b", finetuning_recipe="original")
  model = reference.model
  names = {v.ref(): name
           for name, v in checkpoints.tf1_variable_map(model.encoder).items()}
  reference.optimizer = optimization.create_optimizer(
      "adamw", 0.01, num_train_steps=10, num_warmup_steps=0,
      variable_names=names)
  theirs = _two_steps(reference, weights)
  for a, b in zip(ours, theirs):
    np.testing.assert_array_equal(a, b)

  stable = _two_steps(_trainer(tmp_path / "c", init_checkpoint="pretrained"),
                      weights)
  assert any(not np.array_equal(a, b) for a, b in zip(ours, stable))


def test_stable_recipe_speeds_up_only_the_head(tmp_path):
  # The trainer only reads the setting (the runner loads the weights).
  trainer = _trainer(tmp_path, init_checkpoint="pretrained")
  multipliers = trainer.optimizer.learning_rate_multipliers
  encoder = {v.ref() for v in trainer.model.encoder.trainable_variables}
  head = [v for v in trainer.model.trainable_variables
          if v.ref() not in encoder]
  assert head and {multipliers[v.ref()] for v in head} == {10.0}
  assert not encoder & set(multipliers)
