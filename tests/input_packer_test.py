"""Packing of token ids into [CLS] A [SEP] B [SEP] model inputs."""

import numpy as np
import pytest
import tensorflow as tf

from albert_tf import tokenization
import reference_data as ref

CLS, SEP, PAD = 2, 3, 0


def original_truncate(tokens_a, tokens_b, max_length):
  """The original _truncate_seq_pair, verbatim in behaviour."""
  tokens_a, tokens_b = list(tokens_a), list(tokens_b)
  while len(tokens_a) + len(tokens_b) > max_length:
    if len(tokens_a) > len(tokens_b):
      tokens_a.pop()
    else:
      tokens_b.pop()
  return tokens_a, tokens_b


def original_pack(tokens_a, tokens_b, seq_length):
  """What the original classifier/pretraining code builds for one example."""
  if tokens_b is None:
    tokens_a = tokens_a[:seq_length - 2]
    ids = [CLS] + tokens_a + [SEP]
    types = [0] * len(ids)
  else:
    tokens_a, tokens_b = original_truncate(tokens_a, tokens_b, seq_length - 3)
    ids = [CLS] + tokens_a + [SEP] + tokens_b + [SEP]
    types = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
  mask = [1] * len(ids)
  pad = seq_length - len(ids)
  return ids + [PAD] * pad, mask + [0] * pad, types + [0] * pad


def test_longest_first_lengths_equal_the_original_loop():
  lengths = [(a, b, m) for a in range(13) for b in range(13)
             for m in range(16)]
  la, lb, budget = (tf.constant(x) for x in zip(*lengths))
  new_a, new_b = tokenization.longest_first_lengths(la, lb, budget)
  for (a, b, m), got_a, got_b in zip(lengths, new_a.numpy(), new_b.numpy()):
    want_a, want_b = original_truncate(range(a), range(b), m)
    assert (got_a, got_b) == (len(want_a), len(want_b)), (a, b, m)


def _random_segments(rng, batch, max_len):
  return [list(rng.randint(5, 50, rng.randint(0, max_len)))
          for _ in range(batch)]


@pytest.mark.parametrize("seq_length", [3, 4, 8, 16])
def test_pairs_match_the_original_packing(seq_length):
  rng = np.random.RandomState(seq_length)
  a = _random_segments(rng, 40, 14)
  b = _random_segments(rng, 40, 14)
  packer = tokenization.InputPacker(seq_length, CLS, SEP, PAD)
  got = packer([tf.ragged.constant(a, tf.int32),
                tf.ragged.constant(b, tf.int32)])
  for i in range(40):
    ids, mask, types = original_pack(a[i], b[i], seq_length)
    assert got["input_word_ids"][i].numpy().tolist() == ids
    assert got["input_mask"][i].numpy().tolist() == mask
    assert got["input_type_ids"][i].numpy().tolist() == types


def test_single_segment():
  packer = tokenization.InputPacker(6, CLS, SEP, PAD)
  got = packer([tf.ragged.constant([[7, 8], [7, 8, 9, 10, 11, 12], []])])
  assert got["input_word_ids"].numpy().tolist() == [
      [CLS, 7, 8, SEP, PAD, PAD], [CLS, 7, 8, 9, 10, SEP], [CLS, SEP, 0, 0, 0,
                                                            0]]
  assert got["input_mask"].numpy().tolist() == [
      [1, 1, 1, 1, 0, 0], [1] * 6, [1, 1, 0, 0, 0, 0]]
  assert got["input_type_ids"].numpy().sum() == 0
  assert all(v.dtype == tf.int32 for v in got.values())


def test_round_robin_truncation():
  packer = tokenization.InputPacker(8, CLS, SEP, PAD, truncation="round_robin")
  got = packer([tf.ragged.constant([[10, 11, 12, 13, 14, 15]]),
                tf.ragged.constant([[20, 21]])])
  # Budget 5, taken one token per segment in turn: A gets 3, B gets 2.
  assert got["input_word_ids"].numpy().tolist() == [
      [CLS, 10, 11, 12, SEP, 20, 21, SEP]]
  assert got["input_type_ids"].numpy().tolist() == [[0, 0, 0, 0, 0, 1, 1, 1]]


def test_packing_tokenized_text_in_graph():
  tokenizer = tokenization.make_graph_tokenizer(vocab_file=ref.ZH_VOCAB)
  ids = tokenizer.special_ids
  packer = tokenization.InputPacker(12, ids["cls_id"], ids["sep_id"], ids["pad_id"])

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)] * 2)
  def pack(first, second):
    return packer([tokenizer.tokenize(first), tokenizer.tokenize(second)])

  got = pack(tf.constant(["hello world"]), tf.constant(["\u4eca\u5929"]))
  row = got["input_word_ids"].numpy()[0].tolist()
  assert row[0] == 101 and row.count(102) == 2
  assert got["input_type_ids"].numpy()[0].tolist()[row.index(102) + 1] == 1


def test_bad_arguments():
  with pytest.raises(ValueError, match="truncation"):
    tokenization.InputPacker(8, CLS, SEP, truncation="shortest")
  with pytest.raises(ValueError, match="at least 3"):
    tokenization.InputPacker(2, CLS, SEP)
  packer = tokenization.InputPacker(8, CLS, SEP)
  with pytest.raises(ValueError, match="1 or 2 segments"):
    packer([tf.ragged.constant([[1]])] * 3)


if __name__ == "__main__":
  raise SystemExit(pytest.main([__file__]))
