"""RoBERTa-style dynamic masking: fresh masks every epoch, inside tf.data.

Write the data unmasked (create_pretraining_data --masked_lm_prob=0: the
records keep `token_boundary`, which marks word starts), then map
`DynamicMasker` over the parsed dataset. Each example is masked with the same
n-gram / whole-word / 80-10-10 rules as the static data, from a seed made of
(seed, epoch, position in the epoch), so runs are reproducible while every
epoch sees new masks.
"""

import random

import numpy as np
import tensorflow as tf

from albert_tf.pretraining_data.masking import apply_masking


class DynamicMasker:
  """Maps parsed pretraining features to freshly masked ones."""

  def __init__(self, masking_config, vocab_size, cls_id, sep_id, mask_id,
               seed=0):
    self.masking_config = masking_config
    self.vocab_size = vocab_size
    self.cls_id = cls_id
    self.sep_id = sep_id
    self.mask_id = mask_id
    self.seed = seed

  def _mask_numpy(self, input_ids, input_mask, token_boundary, epoch, index):
    length = int(input_mask.sum())
    ids = input_ids[:length].tolist()
    rng = random.Random(f"{self.seed}/{int(epoch)}/{int(index)}")
    cand_indexes = []
    for i, token_id in enumerate(ids):
      if token_id in (self.cls_id, self.sep_id):
        continue
      if (self.masking_config.do_whole_word_mask and cand_indexes and
          not token_boundary[i]):
        cand_indexes[-1].append(i)
      else:
        cand_indexes.append([i])
    output, positions, labels = apply_masking(
        ids, cand_indexes, self.masking_config, self.mask_id,
        lambda: rng.randint(0, self.vocab_size - 1), rng)
    predictions = self.masking_config.max_predictions_per_seq
    masked_ids = np.array(input_ids, np.int32)
    masked_ids[:length] = output
    pad = predictions - len(positions)
    return (masked_ids,
            np.array(positions + [0] * pad, np.int32),
            np.array(labels + [0] * pad, np.int32),
            np.array([1.0] * len(positions) + [0.0] * pad, np.float32))

  def __call__(self, features, epoch, index):
    """Masks one parsed example (int32 features, as decode_record gives)."""
    masked_ids, positions, label_ids, weights = tf.numpy_function(
        self._mask_numpy,
        [features["input_ids"], features["input_mask"],
         features["token_boundary"], epoch, index],
        [tf.int32, tf.int32, tf.int32, tf.float32], stateful=False)
    predictions = self.masking_config.max_predictions_per_seq
    features = dict(features)
    features["input_ids"] = tf.ensure_shape(masked_ids,
                                            features["input_ids"].shape)
    features["masked_lm_positions"] = tf.ensure_shape(positions,
                                                      [predictions])
    features["masked_lm_ids"] = tf.ensure_shape(label_ids, [predictions])
    features["masked_lm_weights"] = tf.ensure_shape(weights, [predictions])
    return features

  def apply(self, dataset, epochs=None):
    """Repeats `dataset` (of parsed examples) with fresh masks per epoch."""
    epoch_ids = tf.data.Dataset.range(epochs) if epochs else (
        tf.data.Dataset.range(2**62))

    def one_epoch(epoch):
      return dataset.enumerate().map(
          lambda index, features: self(features, epoch, index),
          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    return epoch_ids.flat_map(one_epoch)
