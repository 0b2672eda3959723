"""Input masking (tasks/input_masking.py) and run_token_classification's
--input_masking_rate. Exact resume with it on: dropout_resume_test."""

import numpy as np
import pytest
import tensorflow as tf

import finetuning_data
from albert_tf import run_token_classification
from albert_tf.config import AlbertConfig
from albert_tf.errors import FlagError
from albert_tf.modeling.layers import seeded_dropout
from albert_tf.tasks import input_masking
from albert_tf.tasks import token_classification
from albert_tf.tokenization import python_tokenizer
from reference_data import SPM_MODEL

MASK, CLS, SEP = 4, 2, 3


def _inputs(batch=64, seq=40, padding=8):
  rng = np.random.default_rng(0)
  ids = rng.integers(5, 300, size=[batch, seq]).astype(np.int32)
  mask = np.ones([batch, seq], np.int32)
  ids[:, 0] = CLS
  ids[:, seq - padding - 1] = SEP
  ids[:, seq - padding:] = 0
  mask[:, seq - padding:] = 0
  return {"input_word_ids": tf.constant(ids), "input_mask": tf.constant(mask),
          "input_type_ids": tf.zeros([batch, seq], tf.int32)}


def _layer(rate=0.15):
  return input_masking.InputMasking(rate, MASK, keep_ids=(CLS, SEP))


def _masked(layer, inputs, seed=(1, 2)):
  with seeded_dropout.seed_scope(tf.constant(seed, tf.int64)):
    return layer(inputs, training=True)["input_word_ids"].numpy()


def test_masks_word_pieces_at_the_rate_and_nothing_else():
  inputs = _inputs()
  ids = inputs["input_word_ids"].numpy()
  masked = _masked(_layer(0.15), inputs)
  changed = masked != ids
  assert (masked[changed] == MASK).all()
  # [CLS], [SEP] and padding stay.
  assert not changed[:, 0].any() and not changed[:, 31:].any()
  rate = changed[:, 1:31].mean()  # 64 x 30 word pieces.
  assert 0.12 < rate < 0.18, rate
  # The other inputs pass through.
  out = _layer()(inputs, training=True)
  assert out["input_mask"] is inputs["input_mask"]


def test_inference_and_rate_zero_change_nothing():
  inputs = _inputs()
  for layer, training in ((_layer(0.15), False), (_layer(0.15), None),
                          (_layer(0.0), True)):
    with seeded_dropout.seed_scope(tf.constant([1, 2], tf.int64)):
      out = layer(inputs, training=training)
    np.testing.assert_array_equal(out["input_word_ids"],
                                  inputs["input_word_ids"])


def test_masks_are_a_function_of_the_seed_scope():
  """What makes a resumed run mask what the uninterrupted one masked."""
  inputs = _inputs()
  first = _masked(_layer(), inputs, (7, 100))
  np.testing.assert_array_equal(first, _masked(_layer(), inputs, (7, 100)))
  assert (first != _masked(_layer(), inputs, (7, 101))).any()


def test_config_round_trip():
  layer = _layer(0.2)
  again = input_masking.InputMasking.from_config(layer.get_config())
  assert (again.rate, again.mask_id, again.keep_ids) == (0.2, MASK,
                                                         (CLS, SEP))


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_rate_outside_zero_one_is_refused(rate):
  with pytest.raises(ValueError, match="rate"):
    input_masking.InputMasking(rate, MASK)


def _settings(**values):
  return run_token_classification.defaults(**values)


def test_masking_is_off_unless_asked_for():
  """Off in both recipes (it ruins a 12-layer tagger: docs/finetuning.md);
  the quick start asks for it."""
  for recipe in ("stable", "original"):
    assert _settings(init_checkpoint="pretrained",
                     finetuning_recipe=recipe).input_masking_rate == 0.0
  from albert_tf import quickstart_job  # pylint: disable=g-import-not-at-top
  assert quickstart_job.tagger_settings(300)["input_masking_rate"] == 0.15


@pytest.mark.parametrize("rate", [-0.5, 1.0])
def test_bad_input_masking_rate_is_a_flag_error(tmp_path, rate):
  with pytest.raises(FlagError, match="--input_masking_rate must be in"):
    _settings(input_masking_rate=rate, output_dir=str(tmp_path),
              data_dir=str(tmp_path)).check_training()


def test_the_task_model_masks_with_the_vocabulary_s_mask_piece(tmp_path):
  settings = _settings(
      init_checkpoint="pretrained", spm_model_file=SPM_MODEL, do_train=True,
      input_masking_rate=0.15,
      max_seq_length=16, data_dir=finetuning_data.write_dish_csv(
          str(tmp_path / "data")), output_dir=str(tmp_path / "out"))
  tokenizer = python_tokenizer.FullTokenizer(None, True, SPM_MODEL)
  config = AlbertConfig.from_dict(finetuning_data.TINY_CONFIG)
  task = token_classification.TokenClassificationTask(settings, config,
                                                      tokenizer)
  task.label_list = ["O", "B-ENT", "I-ENT"]
  model = task.build_model()
  layer = model.input_masking
  assert layer.rate == 0.15
  assert tokenizer.convert_ids_to_tokens([layer.mask_id]) == ["[MASK]"]
  assert sorted(tokenizer.convert_ids_to_tokens(list(layer.keep_ids))) == [
      "[CLS]", "[SEP]"]
  # Without --input_masking_rate the model is built as before: no layer.
  task.settings = _settings(init_checkpoint="pretrained", do_train=True)
  assert task.build_model().input_masking is None
  # Nor does a model built to evaluate, predict or export have one.
  task.settings = _settings(init_checkpoint="pretrained", do_eval=True,
                            input_masking_rate=0.15)
  assert task.build_model().input_masking is None
