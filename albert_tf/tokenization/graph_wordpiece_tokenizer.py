"""In-graph BERT Basic + WordPiece tokenization identical to the Python path."""

import tensorflow as tf
import tensorflow_text as tf_text

from albert_tf.tokenization import python_tokenizer
from albert_tf.tokenization import unicode_classes
from albert_tf.tokenization.graph_validation import checked_utf8


def basic_tokenize(texts, lower_case=True):
  """BasicTokenizer.tokenize for a batch: tf.string RaggedTensor [B, (W)]."""
  texts = tf.strings.regex_replace(texts, unicode_classes.bert_removed(), "")
  if lower_case:
    texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf_text.normalize_utf8(texts, "NFD")
    texts = tf.strings.regex_replace(
        texts, unicode_classes.nonspacing_mark(), "")
  kept = unicode_classes.bert_split_kept()
  # Whitespace separates words; punctuation and CJK characters are words of
  # their own (the original pads CJK with spaces and splits punctuation).
  return tf_text.regex_split(
      texts, delim_regex_pattern=f"{unicode_classes.whitespace()}+|{kept}",
      keep_delim_regex_pattern=kept)


class WordpieceGraphTokenizer(tf.Module):
  """Strings [B] → ids RaggedTensor [B, (T)], as FullTokenizer(vocab.txt).

  The vocabulary is embedded in the graph (no reference to its file).
  """

  def __init__(self, vocab_file, lower_case=True, name=None):
    super().__init__(name=name)
    vocab = python_tokenizer.load_vocab(vocab_file)
    python_tokenizer.check_wordpiece_vocab(vocab, vocab_file)
    self.lower_case = lower_case
    self.vocab_size = len(vocab)
    for token in ("[UNK]", "[CLS]", "[SEP]"):
      if token not in vocab:
        raise python_tokenizer.TokenizerError(
            f"vocab file {vocab_file} has no {token} token")
    self.special_ids = python_tokenizer.wordpiece_special_ids(vocab)
    self._table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(vocab.keys())),
            tf.constant(list(vocab.values()), tf.int64)),
        default_value=-1)
    self._wordpiece = tf_text.WordpieceTokenizer(
        self._table, suffix_indicator="##",
        # The original limits words by characters (below), not bytes.
        max_bytes_per_word=4 * python_tokenizer.MAX_INPUT_CHARS_PER_WORD,
        token_out_type=tf.int64, unknown_token="[UNK]",
        split_unknown_characters=False)

  def tokenize(self, texts):
    """Ids (int32 RaggedTensor [B, (T)]) of a batch of texts."""
    texts = checked_utf8(texts)
    words = basic_tokenize(texts, lower_case=self.lower_case)
    flat = words.flat_values
    too_long = tf.strings.length(
        flat, unit="UTF8_CHAR") > python_tokenizer.MAX_INPUT_CHARS_PER_WORD
    words = words.with_flat_values(tf.where(too_long, "[UNK]", flat))
    ids = self._wordpiece.tokenize(words)  # [B, (W), (P)]
    return tf.cast(ids.merge_dims(-2, -1), tf.int32)
