"""Input masking: a fine-tuning regulariser for taggers on small data.

While training, each word piece of the input (not [CLS], [SEP] or padding)
is replaced by [MASK] with probability `rate`; the labels stay. A tagger
trained on a few hundred sentences otherwise learns the entities it saw
by their pieces and misses new ones that only their context gives away;
with some pieces hidden it has to read the context too, which ALBERT's
masked-LM pretraining taught it to do with [MASK] in the input.

Off by default (run_token_classification --input_masking_rate=0): measured
in docs/finetuning.md, at 0.15 it lifts the quick start's 4-layer tagger
(16 seeds, mean dev span F1 0.600 -> 0.694) but ruins the held-out test's
12-layer tagger (5 seeds, 0.455 -> 0.189). The quick start asks for 0.15.

The masks are drawn like the seeded dropout masks (seeded_dropout): within
our trainers' training steps from (run seed, global step, call), so a
resumed run masks what the uninterrupted one masked. Inference never masks.
"""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.layers import seeded_dropout


@tf_keras.utils.register_keras_serializable(package="albert_tf")
class InputMasking(tf_keras.layers.Layer):
  """{input_word_ids, input_mask, ...} → the same dict, some pieces
  replaced by mask_id when training.

  keep_ids: ids never masked ([CLS], [SEP]); padding (input_mask 0) never
  is either.
  """

  def __init__(self, rate, mask_id, keep_ids=(), **kwargs):
    super().__init__(**kwargs)
    if not 0 <= rate < 1:
      raise ValueError(f"rate must be in [0, 1), got {rate}")
    if rate and mask_id < 0:
      raise ValueError("input masking needs a [MASK] piece in the vocabulary")
    self.rate = float(rate)
    self.mask_id = int(mask_id)
    self.keep_ids = tuple(int(i) for i in keep_ids)

  def call(self, inputs, training=None):
    if training is not True or not self.rate:
      return inputs
    ids = inputs["input_word_ids"]
    maskable = tf.cast(inputs["input_mask"], tf.bool)
    for keep in self.keep_ids:
      maskable &= tf.not_equal(ids, keep)
    seed = seeded_dropout.next_seed()
    if seed is None:  # Outside our trainers (user code): Keras' randomness.
      draw = tf.random.uniform(tf.shape(ids))
    else:
      draw = tf.random.stateless_uniform(tf.shape(ids), seed)
    masked = tf.where(maskable & (draw < self.rate),
                      tf.constant(self.mask_id, ids.dtype), ids)
    return dict(inputs, input_word_ids=masked)

  def get_config(self):
    return {**super().get_config(), "rate": self.rate,
            "mask_id": self.mask_id, "keep_ids": list(self.keep_ids)}
