"""The SQuAD v1/v2 heads, their losses, p_mask, and init from the reference."""

import numpy as np
import pytest
import tensorflow as tf

from albert_tf import AlbertConfig
from albert_tf.tokenization import python_tokenizer
from albert_tf.tasks import runner
from albert_tf.tasks.squad import examples as squad_examples
from albert_tf.tasks.squad import window_features as squad_features
from albert_tf.tasks.squad.heads import SquadV1Head
from albert_tf.tasks.squad.heads import SquadV2Head
from albert_tf.tasks.squad.heads import squad_v1_loss
from albert_tf.tasks.squad.heads import squad_v2_loss
from albert_tf.tasks.squad.model import SquadModel
from albert_tf.tasks.squad.model import p_mask_from_inputs
import reference_data as ref

B, S, H = 3, 12, 8


@pytest.fixture(scope="module")
def sequence_output():
  return tf.random.stateless_normal([B, S, H], seed=[1, 2])


@pytest.fixture(scope="module")
def p_mask():
  mask = np.ones([B, S], np.int32)
  mask[:, 0] = 0
  mask[:, 4:10] = 0
  return tf.constant(mask)


def test_v1_head_is_one_projection(sequence_output):
  tf.random.set_seed(0)
  head = SquadV1Head(H)
  out = head(sequence_output)
  weights = head.output_weights.numpy()
  expected = np.einsum("bsh,kh->kbs", sequence_output.numpy(), weights)
  expected += head.output_bias.numpy()[:, None, None]
  np.testing.assert_allclose(out["start_logits"], expected[0],
                             atol=ref.TOLERANCE)
  np.testing.assert_allclose(out["end_logits"], expected[1],
                             atol=ref.TOLERANCE)
  assert [w.name.split("/")[-1].split(":")[0] for w in head.weights] == [
      "output_weights", "output_bias"]


def test_v2_beam_equals_teacher_forced_end(sequence_output, p_mask):
  tf.random.set_seed(0)
  head = SquadV2Head(H, start_n_top=3, end_n_top=2)
  beam = head(sequence_output, p_mask)
  assert beam["start_top_index"].shape == (B, 3)
  assert beam["end_top_index"].shape == (B, 6)
  # Starts and ends are never masked positions.
  for key in ("start_top_index", "end_top_index"):
    chosen = np.take_along_axis(p_mask.numpy(), beam[key].numpy(), axis=1)
    assert not chosen.any()
  for k in range(3):
    forced = head(sequence_output, p_mask,
                  start_positions=beam["start_top_index"][:, k])
    np.testing.assert_allclose(forced["start_log_probs"].numpy().max(-1),
                               beam["start_top_log_probs"][:, 0],
                               atol=ref.TOLERANCE)
    best_end = forced["end_log_probs"].numpy()
    ends = beam["end_top_index"].numpy()[:, 2 * k:2 * k + 2]
    np.testing.assert_allclose(
        np.take_along_axis(best_end, ends, axis=1),
        beam["end_top_log_probs"][:, 2 * k:2 * k + 2], atol=ref.TOLERANCE)
    np.testing.assert_allclose(forced["cls_logits"], beam["cls_logits"],
                               atol=ref.TOLERANCE)


def test_losses_match_their_formulas(sequence_output, p_mask):
  tf.random.set_seed(0)
  starts, ends = tf.constant([4, 0, 6]), tf.constant([5, 0, 9])
  logits = {"start_logits": tf.random.stateless_normal([B, S], [3, 4]),
            "end_logits": tf.random.stateless_normal([B, S], [5, 6])}

  def ce(x, y):
    x = x.numpy()
    log_p = x - np.log(np.exp(x).sum(-1, keepdims=True))
    return -log_p[np.arange(B), y.numpy()]

  np.testing.assert_allclose(
      squad_v1_loss(logits, starts, ends),
      (ce(logits["start_logits"], starts) + ce(logits["end_logits"], ends)) / 2,
      rtol=1e-5)
  head = SquadV2Head(H)
  out = head(sequence_output, p_mask, start_positions=starts)
  impossible = tf.constant([0, 1, 0])
  z = out["cls_logits"].numpy()
  sigmoid_ce = np.maximum(z, 0) - z * impossible.numpy() + np.log1p(
      np.exp(-np.abs(z)))
  span = -0.5 * (
      out["start_log_probs"].numpy()[np.arange(B), starts.numpy()] +
      out["end_log_probs"].numpy()[np.arange(B), ends.numpy()])
  expected = span + 0.5 * sigmoid_ce
  np.testing.assert_allclose(squad_v2_loss(out, starts, ends, impossible),
                             expected, rtol=1e-5)


def test_p_mask_from_inputs_equals_feature_p_mask():
  tokenizer = python_tokenizer.FullTokenizer(None, spm_model_file=ref.SPM_MODEL)
  examples = [squad_examples.SquadExample(
      str(i), "what comes after the key?" * (i + 1), text)
              for i, text in enumerate(["a key b c", "x " * 30, "one"])]
  features = squad_features.convert_examples_to_features(
      examples, tokenizer, 32, 8, 12, is_training=False)
  arrays = squad_features.features_to_arrays(features, is_training=False)
  derived = p_mask_from_inputs(arrays["input_type_ids"], arrays["input_mask"])
  np.testing.assert_array_equal(derived, arrays["p_mask"])


@pytest.mark.parametrize("name,version_2", [("google_tiny", True),
                                             ("zh_tiny", False)])
def test_init_from_reference_checkpoint(name, version_2):
  """Both flavors' TF1 checkpoints load into a SQuAD model's encoder."""
  config = AlbertConfig.from_json_file(ref.config_path(name))
  model = SquadModel(config,
                     version_2_with_negative=version_2).build_for_inputs()
  message = runner.make_init_fn(ref.checkpoint_prefix(name))(model)
  assert "loaded" in message
  inputs = ref.model_inputs(name, with_positions=False)
  inputs = {k: tf.constant(v, tf.int32) for k, v in inputs.items()}
  sequence = model.encoder(inputs)["sequence_output"]
  np.testing.assert_allclose(sequence, ref.expected(name)[
      "sequence_output"], atol=ref.TOLERANCE)
  out = model(inputs)
  key = "cls_logits" if version_2 else "start_logits"
  assert out[key].shape[0] == inputs["input_word_ids"].shape[0]


def test_init_from_encoder_saved_model(tmp_path):
  """An exported TF Hub encoder (tfhub_export) initialises the encoder."""
  from tfhub_export import encoder_export  # pylint: disable=g-import-not-at-top
  from tfhub_export import export_utils  # pylint: disable=g-import-not-at-top
  config = AlbertConfig.from_json_file(ref.config_path("zh_tiny"))
  # The export checks the vocabulary fits the model: one of vocab_size lines.
  vocab = tmp_path / "vocab.txt"
  special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
  vocab.write_text("\n".join(
      special + [f"w{i}" for i in range(config.vocab_size - 5)]) + "\n")
  path = encoder_export.export_encoder(
      export_utils.load_model(ref.config_path("zh_tiny"),
                              ref.checkpoint_prefix("zh_tiny")),
      export_utils.TokenizerSpec(vocab_file=str(vocab)),
      str(tmp_path / "encoder"))
  model = SquadModel(config, version_2_with_negative=True).build_for_inputs()
  assert "SavedModel" in runner.make_init_fn(path)(model)
  inputs = ref.model_inputs("zh_tiny", with_positions=False)
  inputs = {k: tf.constant(v, tf.int32) for k, v in inputs.items()}
  np.testing.assert_allclose(
      model.encoder(inputs)["sequence_output"],
      ref.expected("zh_tiny")["sequence_output"], atol=ref.TOLERANCE)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
