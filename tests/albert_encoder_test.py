"""AlbertEncoder behaviour beyond reference parity."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import albert_tf
from albert_tf.config import AlbertConfig
import reference_data as ref


def tiny_config(**changes):
  values = dict(vocab_size=50, embedding_size=8, hidden_size=16,
                num_hidden_layers=4, num_attention_heads=2,
                intermediate_size=24, max_position_embeddings=20,
                initializer_range=0.2)
  values.update(changes)
  return AlbertConfig.from_dict(values)


def random_ids(batch=2, seq=7, vocab=50, seed=0):
  return np.random.RandomState(seed).randint(0, vocab, size=(batch, seq)
                                             ).astype(np.int32)


def unique_param_count(model):
  return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_output_structure_and_shapes():
  config = tiny_config(num_hidden_groups=2, inner_group_num=3)
  encoder = albert_tf.AlbertEncoder(config)
  outputs = encoder({"input_word_ids": random_ids()})
  assert set(outputs) == {"sequence_output", "pooled_output",
                          "encoder_outputs", "embedding_output"}
  assert outputs["sequence_output"].shape == (2, 7, 16)
  assert outputs["pooled_output"].shape == (2, 16)
  assert outputs["embedding_output"].shape == (2, 7, 8)  # E wide (Google).
  assert len(outputs["encoder_outputs"]) == 4 * 3
  np.testing.assert_array_equal(outputs["encoder_outputs"][-1],
                                outputs["sequence_output"])


def test_mask_and_type_ids_default_to_ones_and_zeros():
  encoder = albert_tf.AlbertEncoder(tiny_config())
  ids = random_ids()
  implicit = encoder({"input_word_ids": ids})
  explicit = encoder({"input_word_ids": ids,
                      "input_mask": np.ones_like(ids),
                      "input_type_ids": np.zeros_like(ids)})
  bare = encoder(ids)
  for key in ("sequence_output", "pooled_output"):
    np.testing.assert_array_equal(implicit[key], explicit[key])
    np.testing.assert_array_equal(implicit[key], bare[key])


def test_int64_inputs_are_accepted():
  encoder = albert_tf.AlbertEncoder(tiny_config())
  ids = random_ids()
  np.testing.assert_array_equal(
      encoder({"input_word_ids": ids.astype(np.int64)})["pooled_output"],
      encoder({"input_word_ids": ids})["pooled_output"])


def test_padding_does_not_change_unpadded_positions():
  encoder = albert_tf.AlbertEncoder(tiny_config())
  ids = random_ids(batch=1, seq=5)
  short = encoder({"input_word_ids": ids})["sequence_output"]
  padded_ids = np.concatenate([ids, np.zeros((1, 3), np.int32)], axis=1)
  mask = np.array([[1] * 5 + [0] * 3], np.int32)
  padded = encoder({"input_word_ids": padded_ids, "input_mask": mask})
  np.testing.assert_allclose(padded["sequence_output"][:, :5], short,
                             atol=ref.TOLERANCE)


def test_too_long_sequence_is_a_clear_error():
  encoder = albert_tf.AlbertEncoder(tiny_config())
  with pytest.raises(ValueError, match=r"max_position_embeddings \(20\)"):
    encoder({"input_word_ids": random_ids(seq=21)})
  # Unknown length at trace time: the check happens when the graph runs.
  run = tf.function(
      lambda ids: encoder({"input_word_ids": ids})["pooled_output"],
      input_signature=[tf.TensorSpec([None, None], tf.int32)])
  assert run(random_ids(seq=20)).shape == (2, 16)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match="max_position_embeddings"):
    run(random_ids(seq=21))


def test_bad_input_structure_is_a_clear_error():
  encoder = albert_tf.AlbertEncoder(tiny_config())
  with pytest.raises(ValueError, match="input_word_ids"):
    encoder({"input_ids": random_ids()})
  with pytest.raises(ValueError, match=r"\[batch, seq\]"):
    encoder({"input_word_ids": np.zeros([3], np.int32)})


def test_dropout_only_when_training():
  encoder = albert_tf.AlbertEncoder(
      tiny_config(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3))
  inputs = {"input_word_ids": random_ids()}
  inference = [encoder(inputs, training=False)["sequence_output"]
               for _ in range(2)]
  np.testing.assert_array_equal(inference[0], inference[1])
  np.testing.assert_array_equal(encoder(inputs)["sequence_output"],
                                inference[0])
  tf.random.set_seed(1)
  training = [encoder(inputs, training=True)["sequence_output"]
              for _ in range(2)]
  assert not np.allclose(training[0], training[1])
  assert not np.allclose(training[0], inference[0])


@pytest.mark.parametrize("layers", [1, 4, 12])
def test_sharing_is_real(layers):
  # One group: weights exist once however many layers use them.
  shared = albert_tf.AlbertEncoder(tiny_config(num_hidden_layers=layers))
  one_layer = albert_tf.AlbertEncoder(tiny_config(num_hidden_layers=1))
  assert unique_param_count(shared) == unique_param_count(one_layer)
  assert len(shared.groups) == 1
  outputs = shared({"input_word_ids": random_ids()})
  assert len(outputs["encoder_outputs"]) == layers


def test_groups_each_own_their_weights():
  one = albert_tf.AlbertEncoder(tiny_config(num_hidden_groups=1))
  two = albert_tf.AlbertEncoder(tiny_config(num_hidden_groups=2))
  block = 4 * (16 * 16 + 16) + 4 * 16 + (16 * 24 + 24) + (24 * 16 + 16)
  assert unique_param_count(two) - unique_param_count(one) == block
  names = {v.name for v in two.trainable_variables}
  assert len(names) == len(two.trainable_variables)


def test_embedding_projection_only_when_widths_differ():
  assert albert_tf.AlbertEncoder(
      tiny_config()).embedding_hidden_mapping_in is not None
  assert albert_tf.AlbertEncoder(
      tiny_config(embedding_size=16)).embedding_hidden_mapping_in is None


@pytest.mark.parametrize("ln_type", ["postln", "preln"])
def test_albert_zh_flavor(ln_type):
  encoder = albert_tf.AlbertEncoder(tiny_config(ln_type=ln_type))
  emb = encoder.embeddings
  assert emb.word_embeddings.shape == (50, 8)
  assert emb.word_embeddings_2.shape == (8, 16)
  assert emb.position_embeddings.shape == (20, 16)
  assert encoder.embedding_hidden_mapping_in is None
  outputs = encoder({"input_word_ids": random_ids()})
  assert outputs["embedding_output"].shape == (2, 7, 16)
  assert len(outputs["encoder_outputs"]) == 4


def test_pre_ln_applies_layer_norms_before_each_sublayer():
  """Pre-LN with the LayerNorms set to identity = no LayerNorm at all."""
  post = albert_tf.AlbertEncoder(tiny_config(ln_type="postln"))
  pre = albert_tf.AlbertEncoder(tiny_config(ln_type="preln"))
  pre.set_weights(post.get_weights())
  ids = {"input_word_ids": random_ids()}
  assert not np.allclose(post(ids)["sequence_output"],
                         pre(ids)["sequence_output"])
  # Manual pre-LN for one block: x + attn(LN(x)), then + FFN(LN1(.)).
  block = pre.groups[0].inner_groups[0]
  x = tf.random.stateless_normal([2, 7, 16], seed=[1, 2])
  adder = tf.zeros([2, 1, 1, 7])
  attention = block.attention_output_dense(
      block.attention(block.attention_layer_norm(x), adder)) + x
  ffn = block.output_dense(block.intermediate_dense(
      block.output_layer_norm(attention)))
  np.testing.assert_allclose(block(x, adder), ffn + attention,
                             atol=ref.TOLERANCE)


def test_get_config_round_trip_and_keras_model_api():
  encoder = albert_tf.AlbertEncoder(tiny_config(num_hidden_groups=2))
  clone = albert_tf.AlbertEncoder.from_config(encoder.get_config())
  assert clone.config == encoder.config
  clone.set_weights(encoder.get_weights())
  ids = {"input_word_ids": random_ids()}
  np.testing.assert_array_equal(clone(ids)["pooled_output"],
                                encoder(ids)["pooled_output"])
  assert isinstance(encoder, tf_keras.Model)
  for layer in (encoder.embeddings, encoder.groups[0],
                encoder.groups[0].inner_groups[0],
                encoder.groups[0].inner_groups[0].attention):
    rebuilt = type(layer).from_config(layer.get_config())
    assert rebuilt.get_config() == layer.get_config()


def test_variable_names_are_readable():
  encoder = albert_tf.AlbertEncoder(tiny_config())
  names = [v.name for v in encoder.trainable_variables]
  assert "albert_encoder/embeddings/LayerNorm/gamma:0" in names
  assert ("albert_encoder/group_0/inner_group_0/self/query/kernel:0"
          in names)


def test_gradients_reach_every_weight():
  encoder = albert_tf.AlbertEncoder(tiny_config(num_hidden_groups=2))
  with tf.GradientTape() as tape:
    outputs = encoder({"input_word_ids": random_ids()}, training=True)
    loss = tf.reduce_sum(outputs["pooled_output"] ** 2)
  grads = tape.gradient(loss, encoder.trainable_variables)
  # Every weight gets a gradient (token type row 1 is unused, so skip zeros).
  assert all(g is not None for g in grads)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))


@pytest.mark.parametrize("hidden_size, heads", [(128, 2), (64, 4), (64, 8)])
def test_attention_scores_are_the_originals_scale_after_the_product(
    hidden_size, heads):
  """Head size 64 or 16 scales the query (a power-of-two scale: exact, and
  the product is not kept for the backward pass); 8 keeps the original's
  order. Either way the outputs are bit-identical to the original order."""
  from albert_tf.modeling.layers.self_attention import SelfAttention  # pylint: disable=g-import-not-at-top
  tf.random.set_seed(0)
  layer = SelfAttention(hidden_size, heads)
  states = tf.random.normal([2, 7, hidden_size])
  mask_adder = tf.zeros([2, 1, 1, 7])
  got = layer(states, mask_adder)
  assert layer.scale_query == (hidden_size // heads in (16, 64))

  def original_order(states):
    split = lambda x: tf.transpose(tf.reshape(x, [2, 7, heads, -1]),
                                   [0, 2, 1, 3])
    query, key, value = (split(dense(states)) for dense in
                         (layer.query, layer.key, layer.value))
    scores = tf.matmul(query, key, transpose_b=True) * layer.scale
    context = tf.matmul(tf.nn.softmax(scores + mask_adder), value)
    return tf.reshape(tf.transpose(context, [0, 2, 1, 3]),
                      [2, 7, hidden_size])

  np.testing.assert_array_equal(got.numpy(), original_order(states).numpy())
