"""In-graph SentencePiece tokenization identical to the original Python path."""

import tensorflow as tf
import tensorflow_text as tf_text

from albert_tf.tokenization import python_tokenizer
from albert_tf.tokenization import unicode_classes
from albert_tf.tokenization.graph_validation import checked_utf8

_UNDERLINE = python_tokenizer.SPIECE_UNDERLINE


def preprocess_text(text, lower=False):
  """python_tokenizer.preprocess_text(text, remove_space=True, lower) in graph."""
  text = tf.strings.regex_replace(text, unicode_classes.whitespace() + "+", " ")
  text = tf.strings.regex_replace(text, "^ | $", "")
  text = tf_text.normalize_utf8(text, "NFKD")
  text = tf.strings.regex_replace(text, unicode_classes.combining(), "")
  if lower:
    # ICU's full-string lowercasing, like str.lower (İ → i̇, final sigma).
    text = tf.strings.lower(text, encoding="utf-8")
  return text


class SentencepieceGraphTokenizer(tf.Module):
  """Strings [B] → ids RaggedTensor [B, (T)], as FullTokenizer would give.

  Runs preprocess_text (with `lower_case`), SentencePiece, then the original
  encode_pieces digit-comma rule, quirk included. The model is held as bytes
  in the graph, so nothing refers to the file it was read from.

  tensorflow_text's FastSentencepieceTokenizer is used because it segments
  exactly like the sentencepiece Python library (the older
  SentencepieceTokenizer op breaks score ties differently, e.g. in
  "10,000,000").
  """

  def __init__(self, spm_model_file, lower_case=True, name=None):
    super().__init__(name=name)
    # Validates the file with the Python library first: clear errors.
    processor = python_tokenizer.load_sentencepiece_model(spm_model_file)
    with open(spm_model_file, "rb") as f:
      model_proto = f.read()
    self.lower_case = lower_case
    self.vocab_size = processor.GetPieceSize()
    self.special_ids = python_tokenizer.sentencepiece_special_ids(processor)
    self._comma_id = processor.PieceToId(",")
    self._pieces = tf.constant(
        [processor.IdToPiece(i) for i in range(self.vocab_size)])
    self._sentencepiece = tf_text.FastSentencepieceTokenizer(model_proto)
    self._digit_comma = f"(?s).*{unicode_classes.digit()},"

  def tokenize(self, texts, preprocess=True):
    """Ids (int32 RaggedTensor [B, (T)]) of a batch of texts."""
    texts = checked_utf8(texts)
    # Some ops read NUL as end-of-string; the Python path keeps it and the
    # model maps it to <unk>. A private-use character behaves the same way
    # through preprocessing and SentencePiece, without ending the string.
    texts = tf.strings.regex_replace(texts, "\\x00", "\uE000")
    if preprocess:
      texts = preprocess_text(texts, lower=self.lower_case)
    return self._apply_digit_comma_rule(self._encode(texts))

  def _encode(self, texts):
    ids = self._sentencepiece.tokenize(texts)
    return tf.cast(ids, tf.int32).with_row_splits_dtype(tf.int64)

  def id_to_piece(self, ids):
    """Piece strings of ids (any shape, ragged or dense)."""
    if isinstance(ids, tf.RaggedTensor):
      return ids.with_flat_values(self.id_to_piece(ids.flat_values))
    return tf.gather(self._pieces, ids)

  def tokenize_pieces(self, texts, preprocess=True):
    """Pieces (tf.string RaggedTensor [B, (T)]) of a batch of texts."""
    return self.id_to_piece(self.tokenize(texts, preprocess=preprocess))

  def _apply_digit_comma_rule(self, ids):
    """A piece "…3," becomes the pieces of "…3" (▁ removed) then ","."""
    flat = ids.flat_values
    num_pieces = tf.shape(flat, out_type=tf.int64)[0]
    matches = tf.strings.regex_full_match(tf.gather(self._pieces, flat),
                                          self._digit_comma)
    matched = tf.gather(self._pieces, tf.boolean_mask(flat, matches))
    without_comma = tf.strings.regex_replace(matched, ",$", "")
    reencoded = self._encode(
        tf.strings.regex_replace(without_comma, _UNDERLINE, ""))
    commas = tf.RaggedTensor.from_tensor(
        tf.fill([tf.shape(matched)[0], 1], self._comma_id))
    replacements = tf.concat([reencoded, commas], axis=1)
    singles = tf.RaggedTensor.from_tensor(flat[:, tf.newaxis])
    # Row i of `candidates` is piece i unchanged; row n+k is the k-th
    # replacement. Pick, per piece, which row it becomes.
    candidates = tf.concat([singles, replacements], axis=0)
    replacement_index = num_pieces + tf.cumsum(
        tf.cast(matches, tf.int64), exclusive=True)
    rows = tf.where(matches, replacement_index,
                    tf.range(num_pieces, dtype=tf.int64))
    per_piece = tf.gather(candidates, rows)
    return ids.with_flat_values(per_piece).merge_dims(-2, -1)
