"""Factorized ALBERT embeddings (both original flavors)."""

import tensorflow as tf
import tf_keras

from albert_tf.modeling.layers.build_utils import build_in_scope
from albert_tf.modeling.layers.initializers import truncated_normal
from albert_tf.modeling.layers.layer_norm import Tf1LayerNorm
from albert_tf.modeling.layers import seeded_dropout


class AlbertEmbeddings(tf_keras.layers.Layer):
  """Word + token type + position embeddings, LayerNorm and dropout.

  Google flavor (`projection_size=None`): everything is E wide, as in
  google-research/albert; the encoder maps E→H afterwards.
  albert_zh flavor (`projection_size=H`): word embeddings are projected by
  `word_embeddings_2` [E,H] (no bias) first, so type/position embeddings and
  the LayerNorm are H wide, as in brightmart's embedding_lookup_factorized.
  """

  def __init__(self,
               vocab_size,
               embedding_size,
               type_vocab_size,
               max_position_embeddings,
               projection_size=None,
               initializer_range=0.02,
               dropout_rate=0.0,
               **kwargs):
    super().__init__(**kwargs)
    self.vocab_size = vocab_size
    self.embedding_size = embedding_size
    self.type_vocab_size = type_vocab_size
    self.max_position_embeddings = max_position_embeddings
    self.projection_size = projection_size
    self.initializer_range = initializer_range
    self.dropout_rate = dropout_rate
    self.layer_norm = Tf1LayerNorm(name="LayerNorm")
    self.dropout = seeded_dropout.Dropout(dropout_rate)

  @property
  def output_width(self):
    return self.projection_size or self.embedding_size

  def build(self, input_shape):
    self.word_embeddings = self.add_weight(
        "word_embeddings", shape=[self.vocab_size, self.embedding_size],
        initializer=truncated_normal(self.initializer_range))
    self.word_embeddings_2 = None
    if self.projection_size:
      self.word_embeddings_2 = self.add_weight(
          "word_embeddings_2",
          shape=[self.embedding_size, self.projection_size],
          initializer=truncated_normal(self.initializer_range))
    self.token_type_embeddings = self.add_weight(
        "token_type_embeddings",
        shape=[self.type_vocab_size, self.output_width],
        initializer=truncated_normal(self.initializer_range))
    self.position_embeddings = self.add_weight(
        "position_embeddings",
        shape=[self.max_position_embeddings, self.output_width],
        initializer=truncated_normal(self.initializer_range))
    build_in_scope(self.layer_norm, [None, None, self.output_width])
    super().build(input_shape)

  def lookup_words(self, input_word_ids):
    """The raw word-embedding lookup [B,S,E] (before any projection)."""
    return tf.gather(self.word_embeddings, input_word_ids)

  def call(self, input_word_ids, input_type_ids, training=None):
    """Returns the embedding output [B,S,output_width]."""
    embeddings = self.lookup_words(input_word_ids)
    if self.word_embeddings_2 is not None:
      embeddings = tf.matmul(embeddings, self.word_embeddings_2)
    # A gather equals the original's one-hot matmul bit for bit, and is cheaper.
    embeddings += tf.gather(self.token_type_embeddings, input_type_ids)
    seq_length = tf.shape(input_word_ids)[1]
    embeddings += self.position_embeddings[tf.newaxis, :seq_length, :]
    embeddings = self.layer_norm(embeddings)
    return self.dropout(embeddings, training=training)

  def get_config(self):
    return dict(
        super().get_config(),
        vocab_size=self.vocab_size,
        embedding_size=self.embedding_size,
        type_vocab_size=self.type_vocab_size,
        max_position_embeddings=self.max_position_embeddings,
        projection_size=self.projection_size,
        initializer_range=self.initializer_range,
        dropout_rate=self.dropout_rate)
